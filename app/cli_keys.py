"""`seam keys` (create, list, revoke, rotate API keys) and `seam secrets rotate` (re-encrypt what
SEAM_SECRET_KEY protects). `app.cli` hands over how to start the process, so settings are read only
there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlmodel import Session

err = Console(stderr=True)


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"  # type: ignore[attr-defined]


def commands(process: Callable[[], tuple[Any, Any]]) -> tuple[typer.Typer, typer.Typer]:
    """The `keys` and `secrets` command groups; `process()` starts the process and gives (engine,
    settings)."""
    keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
    secrets_app = typer.Typer(help="SEAM_SECRET_KEY and what it encrypts.", no_args_is_help=True)

    @keys_app.command("create")
    def keys_create(
        name: Annotated[str, typer.Option(help="Who or what holds the key.")],
        scopes: Annotated[str, typer.Option(help="Comma-separated: ingest, read, manage, admin.")] = "read",
        expires_in_days: Annotated[
            int | None, typer.Option(min=1, max=3650, help="Refused after this many days; default never.")
        ] = None,
    ) -> None:
        """Create an API key. The key is printed once, alone on the last line."""
        from datetime import timedelta

        from app.auth.service import create_key
        from app.core.clock import utcnow
        from app.core.errors import InvalidInput

        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        with Session(process()[0], expire_on_commit=False) as session:
            try:
                row, token = create_key(
                    session, name, [s.strip() for s in scopes.split(",") if s.strip()], expires_at=expires
                )
            except InvalidInput as exc:
                err.print(f"[red]{exc.detail}[/red] {exc.errors[0]['message'] if exc.errors else ''}")
                raise typer.Exit(2) from exc
            session.commit()
        err.print(
            f"key '{row.name}' ({row.prefix}…) scopes {', '.join(row.scopes)}; "
            "store it now, it is shown once:"
        )
        typer.echo(token)

    @keys_app.command("list")
    def keys_list() -> None:
        """Every key: id, prefix, name, scopes, created, expires, last used, revoked. Never the key itself."""
        from app.auth.service import list_keys

        with Session(process()[0]) as session:
            rows = list_keys(session)
        typer.echo("id\tprefix\tname\tscopes\tcreated\texpires\tlast used\trevoked")
        for r in rows:
            cells = [str(r.id), r.prefix, r.name, ",".join(r.scopes), _when(r.created_at)]
            cells += [_when(r.expires_at), _when(r.last_used_at), _when(r.revoked_at)]
            typer.echo("\t".join(cells))

    @keys_app.command("revoke")
    def keys_revoke(
        ref: Annotated[str, typer.Argument(help="The key's id or prefix (from `seam keys list`).")],
    ) -> None:
        """Revoke a key: it is refused from now on."""
        from app.auth.service import find, revoke
        from app.core.errors import NotFound

        with Session(process()[0], expire_on_commit=False) as session:
            try:
                row = revoke(session, find(session, ref), "cli")
            except NotFound as exc:
                err.print(f"[red]{exc.detail}[/red]")
                raise typer.Exit(2) from exc
            session.commit()
        err.print(f"key '{row.name}' ({row.prefix}…) revoked")

    @keys_app.command("rotate")
    def keys_rotate(
        ref: Annotated[str, typer.Argument(help="The key's id or prefix (from `seam keys list`).")],
    ) -> None:
        """Replace a key with a new one (same name, scopes and expiry) and revoke the old one. The new key is
        printed once, alone on the last line."""
        from app.auth.service import find, rotate
        from app.core.errors import DomainError

        with Session(process()[0], expire_on_commit=False) as session:
            try:
                row, token = rotate(session, find(session, ref), "cli")
            except DomainError as exc:
                err.print(f"[red]{exc.detail}[/red]")
                raise typer.Exit(2) from exc
            session.commit()
        err.print(
            f"key '{row.name}' rotated: the old key is revoked; store the new one now, it is shown once:"
        )
        typer.echo(token)

    @secrets_app.command("rotate")
    def secrets_rotate() -> None:
        """Re-encrypt every stored credential and webhook secret with the newest key in SEAM_SECRET_KEY
        (comma-separated, newest first). Run it after putting a new key first; then drop the old one."""
        from app.connections import service as connections
        from app.core.crypto import DecryptionError
        from app.sources import service as sources

        engine, settings = process()
        secret = settings.secret_key.get_secret_value()
        with Session(engine) as session:
            try:
                integrations = connections.reencrypt_all(session, secret)
                sources_done = sources.reencrypt_all(session, secret)
            except DecryptionError as exc:
                session.rollback()
                err.print(
                    f"[red]nothing changed:[/red] {exc}; list the old key after the new one", highlight=False
                )
                raise typer.Exit(2) from None
            session.commit()
        err.print(f"re-encrypted with the newest key: {integrations} integrations, {sources_done} sources")

    return keys_app, secrets_app
