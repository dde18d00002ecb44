"""`seam metrics import FILE.csv`: shared stage metric points from a CSV file (columns metric, at,
source, value), through the same service as `POST /api/v1/metrics/csv`. A point is keyed by (metric, at,
source), so importing the file again changes nothing; bad rows are reported by line and field, the good
ones stored. Exit status: 0 all stored, 3 some rows refused, 2 the file refused, 1 no journey yet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

MAX_BYTES = 50 * 1024 * 1024


def say(line: str) -> None:
    """One line to stderr as it is: never wrapped to the terminal's width, never read as markup, so a
    script can split it on ':'."""
    typer.echo(line, err=True)


def _text(file: Path) -> str:
    """The file as text, or a one-line reason it cannot be read (never a traceback)."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise _Refused(f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise _Refused(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _Refused(f"not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8") from None
    if "\x00" in text:
        raise _Refused(f"holds a NUL character on line {text[: text.index(chr(0))].count(chr(10)) + 1}")
    return text


class _Refused(Exception):
    pass


def commands(engine: Callable[[], Any]) -> typer.Typer:
    """The `metrics` command group; `engine` opens the database the entry point's settings name."""
    group = typer.Typer(help="Shared stage metrics.", no_args_is_help=True)

    @group.command("import")
    def import_metrics(
        file: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, help="CSV with columns metric,at,source,value.")
        ],
    ) -> None:
        """Import metric points from CSV. Re-running is safe: (metric, at, source) is one point."""
        from app.core.clock import utcnow
        from app.core.errors import InvalidInput
        from app.insights import metrics
        from app.journey import service as journeys

        try:
            text = _text(file)
        except _Refused as exc:
            say(f"{file}: refused: {exc}")
            raise typer.Exit(2) from None
        with Session(engine()) as session:
            journey = journeys.current_or_none(session)
            if journey is None:
                say("no journey applied yet: seam journey apply FILE.yaml")
                raise typer.Exit(1)
            try:
                report = metrics.import_csv(session, journey, text, utcnow())
            except InvalidInput as exc:
                for e in exc.errors or [{"field": "file", "message": str(exc)}]:
                    say(f"{file}: refused: {e['field']}: {e['message']}")
                raise typer.Exit(2) from None
            session.commit()
        for r in report.rejected:
            say(f"line {r['line']}: rejected: {r['field']}: {r['message']}")
        typer.echo(
            f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
            f"rejected {len(report.rejected)}"
        )
        if report.rejected:
            raise typer.Exit(3)

    return group
