"""`seam customers export|erase REF`: a customer's data, out or gone. Registered by app.cli, which hands
over how to open the database with the process's settings (nothing below the entry points reads them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.settings import Settings

Opener = Callable[[], tuple[Engine, Settings]]
REF = typer.Argument(help="The customer reference their feedback carries.")


def make_app(open_process: Opener) -> typer.Typer:
    app = typer.Typer(help="Customers' data: export and erasure.", no_args_is_help=True)
    err = Console(stderr=True)

    def _ref(customer_ref: str) -> str:
        if not customer_ref.strip():
            err.print("[red]refused:[/red] the customer reference must not be blank")
            raise typer.Exit(2)
        return customer_ref

    @app.command("export")
    def export_customer(customer_ref: Annotated[str, REF]) -> None:
        """Print everything Seam holds about this customer reference, as JSON."""
        from app.privacy import export

        ref = _ref(customer_ref)
        engine, _ = open_process()
        with Session(engine) as session:
            typer.echo(json.dumps(export.export(session, ref), indent=2, ensure_ascii=False))

    @app.command("erase")
    def erase_customer(
        customer_ref: Annotated[str, REF],
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    ) -> None:
        """Anonymise the customer's items and remove their data everywhere else (one transaction)."""
        from app.privacy import erase

        ref = _ref(customer_ref)
        if not yes and not typer.confirm("Erase this customer's data? Their feedback is kept anonymised."):
            raise typer.Exit(1)
        engine, settings = open_process()
        with Session(engine) as session:
            report = erase.erase(session, ref, settings.secret_key.get_secret_value(), "cli")
            session.commit()
        typer.echo(json.dumps(report.as_dict(), indent=2))
        err.print(f"found {report.found} rows naming the customer; {report.items} items anonymised")

    return app
