"""The `seam` command."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlmodel import Session

from app import cli_customers, cli_keys, cli_metrics
from app.core.settings import Settings, UnsafeSettings, get_settings

app = typer.Typer(help="Seam: turn customer feedback into confirmed fixes.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
journey_app = typer.Typer(help="The customer journey, as code.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(journey_app, name="journey")
app.add_typer(import_app, name="import")
err = Console(stderr=True)
# Shipped in the package, so `seam demo` works from a plain install; examples/journey.yaml links to it.
EXAMPLE_JOURNEY = Path(__file__).resolve().parent / "demo" / "journey.yaml"


def _refuse_unsafe(settings: Settings) -> None:
    try:
        settings.refuse_unsafe()
    except UnsafeSettings as exc:
        err.print(f"[red]refused:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _engine():  # type: ignore[no-untyped-def]
    return _process()[0]


def _process():  # type: ignore[no-untyped-def]
    from app.wiring import start_process

    settings = get_settings()
    _refuse_unsafe(settings)
    return start_process(settings), settings


app.add_typer(cli_customers.make_app(_process), name="customers")


app.add_typer(cli_metrics.commands(_engine), name="metrics")
keys_app, secrets_app = cli_keys.commands(_process)
app.add_typer(keys_app, name="keys")
app.add_typer(secrets_app, name="secrets")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database (SEAM_DATABASE_URL) to the latest schema."""
    from app.core.migrate import upgrade

    upgrade(_engine(), revision)
    err.print(f"database at {revision}")


@journey_app.command("apply")
def journey_apply(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Journey YAML.")],
) -> None:
    """Validate a journey file and store it as the new version. Nothing is stored if any part is wrong."""
    from app.core.errors import InvalidInput
    from app.journey import service as journeys
    from app.routing import model_store as routing

    text = file.read_text(encoding="utf-8")
    with Session(_engine(), expire_on_commit=False) as session:
        try:
            row = journeys.apply(session, journeys.parse_text(text), actor="cli", source_text=text)
        except InvalidInput as exc:
            err.print(f"[red]{file}: refused.[/red] {exc.detail}")
            for e in exc.errors:
                err.print(f"  {e['field']}: {e['message']}", markup=False, highlight=False)
            raise typer.Exit(1) from exc
        # A fresh database routes its first items by the journey's examples at once, not after the
        # worker's retrain (which a changed journey also queues).
        model = routing.train_if_missing(session, journeys.current(session), actor="cli")
        session.commit()
        err.print(f"journey '{row.name}' applied as version {row.version}")
        if model is not None:
            err.print(f"routing model {model.version} in force ({model.examples} examples)")


@import_app.command("feedback")
def import_feedback(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row.")],
    source: Annotated[str | None, typer.Option(help="Source for rows that have none.")] = None,
) -> None:
    """Import feedback from CSV. Re-running is safe: (source, external_id) never duplicates."""
    from app.core.actor import Actor
    from app.intake.csv_import import CsvFileError, count_rows, import_csv

    try:
        total = count_rows(file)
    except CsvFileError as exc:
        err.print(f"[red]{file}: refused.[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("import", total=total)
        report = import_csv(
            _engine(),
            file,
            actor=Actor("cli:import"),
            default_source=source,
            progress=lambda n: bar.advance(task, n),
        )
    for line, reason in report.rejected:
        err.print(f"line {line}: rejected: {reason}", markup=False, highlight=False)
    for line, note in report.warnings:
        err.print(f"line {line}: imported, {note}", markup=False, highlight=False)
    typer.echo(f"created {report.created}, duplicates {report.duplicates}, rejected {len(report.rejected)}")
    if report.rejected:
        raise typer.Exit(3)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    _refuse_unsafe(get_settings())
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=get_settings().log_level.lower(),
        log_config=None,  # app.core.logs formats uvicorn's lines like every other
    )


@app.command("worker")
def worker(
    poll: Annotated[float, typer.Option(help="Seconds to wait when there is nothing to deliver.")] = 0.5,
) -> None:
    """Deliver outbox messages (Jira, Zendesk, email). Run as many as you like: they never share a message."""
    import asyncio
    import signal
    import threading

    from app.outbox.worker import run_forever
    from app.wiring import HANDLERS, VENDOR_KEYS

    settings = get_settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    asyncio.run(run_forever(_engine(), settings, stop, HANDLERS, poll_s=poll, vendor_keys=VENDOR_KEYS))


@app.command("demo")
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the API after loading.")
    ] = True,
) -> None:
    """Load the example journey and demo feedback (idempotently), make a demo key, and serve."""
    from app.core.actor import Actor
    from app.core.clock import utcnow
    from app.core.migrate import upgrade
    from app.demo import insights as demo_insights
    from app.demo.assess import assess_all
    from app.demo.data import demo_items
    from app.insights import board_flags
    from app.intake import ingest as feedback
    from app.journey import service as journeys
    from app.routing import consolidation
    from app.routing import model_store as routing

    engine = _engine()
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        text = EXAMPLE_JOURNEY.read_text(encoding="utf-8")
        current = journeys.current_row(session)
        if current is None or current.source_text != text:
            journeys.apply(session, journeys.parse_text(text), actor="demo", source_text=text)
        routing.train_if_missing(session, journeys.current(session), actor="demo")
        good, _ = feedback.validate_raw(demo_items())
        results = feedback.ingest(session, journeys.current(session), good, Actor("demo"))
        # What the scheduler does every half hour: thresholds from this feedback, groups regrouped.
        consolidation.run_pass(session, journeys.current(session))
        assess_all(session, journeys.current(session), utcnow())
        demo_insights.load(session, journeys.current(session), utcnow(), get_settings())
        # What the scheduler does every quarter hour: the board's persona drops.
        board_flags.store(session, journeys.current(session), utcnow())
        token = _demo_key(session)
        sign_in = _demo_sign_in(session, host, port)
        session.commit()
    created = sum(r.status == "created" for r in results)
    err.print(f"demo data: {created} new items ({len(results) - created} already there)")
    typer.echo(f"Seam is at http://{host}:{port}/  (API docs at /docs, API under /api/v1)")
    typer.echo(sign_in)
    typer.echo(f"Demo API key (admin):\n{token}")
    if serve_api:
        os.environ.setdefault("SEAM_DATABASE_URL", get_settings().database_url)
        typer.echo(_demo_metrics(host, port))
        serve(host=host, port=port, workers=1)


def _demo_metrics(host: str, port: int) -> str:
    """How to read /metrics from the demo: its token, or one made for this run (and so set for the
    server it starts)."""
    import secrets

    if get_settings().metrics_token is None:
        os.environ["SEAM_METRICS_TOKEN"] = secrets.token_urlsafe(24)
        get_settings.cache_clear()
    settings = get_settings()
    assert settings.metrics_token is not None
    bearer = settings.metrics_token.get_secret_value()
    return f"Prometheus metrics:\ncurl -H 'Authorization: Bearer {bearer}' http://{host}:{port}/metrics"


DEMO_KEY_FILE = Path(".seam") / "demo-key"


def _demo_key(session: Session) -> str:
    """The demo's admin key, kept in `.seam/demo-key` (readable by its owner only) and reused while it
    works: restarting the demo does not add another admin key. A lost or refused one is replaced,
    and the demo keys it replaces are revoked."""
    from app.auth.service import authenticate, create_key, list_keys, revoke

    path = Path.cwd() / DEMO_KEY_FILE
    if path.exists():
        kept = path.read_text(encoding="utf-8").strip()
        principal = authenticate(session, kept)
        if principal is not None and principal.name == "demo" and principal.allows("admin"):
            return kept
    for row in list_keys(session):
        if row.name == "demo" and row.revoked_at is None:
            revoke(session, row, "demo")
    _, token = create_key(session, "demo", ["admin"], actor="demo")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(token + "\n", encoding="utf-8")
    return token


def _demo_sign_in(session: Session, host: str, port: int) -> str:
    """A one-time sign-in link for the demo's CX lead: a laptop without SMTP can still sign in."""
    from app.core.clock import utcnow
    from app.journey import service as journeys
    from app.people.service import sign_in_link

    journey = journeys.current(session)
    lead = journey.cx_lead or journey.people[0].id
    link = sign_in_link(get_settings().secret_key.get_secret_value(), f"http://{host}:{port}", lead, utcnow())
    return f"Sign in as the CX lead ({lead}), once, within 15 minutes:\n{link}"


# --- close the loop: the scheduler and the digest preview ---------------------------------------
digest_app = typer.Typer(help="Weekly digests.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")
jobs_app = typer.Typer(help="Scheduled jobs, one at a time.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list() -> None:
    """The scheduled jobs this release runs, with their triggers."""
    from app.core.durations import format_duration
    from app.scheduler.registry import Daily, Every, Weekly, scheduler_config
    from app.wiring import JOBS

    config = scheduler_config(get_settings())
    for job in JOBS:
        t = job.resolve(config)
        if isinstance(t, Every):
            when = f"every {format_duration(t.interval)}"
        elif isinstance(t, Daily):
            when = f"daily at {t.hour:02d}:{t.minute:02d} {config.timezone}"
        elif isinstance(t, Weekly):
            when = f"weekly on {t.weekday} at {t.hour:02d}:{t.minute:02d} {config.timezone}"
        else:
            when = str(t)
        typer.echo(f"{job.name}\t{when}")


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="A job from `seam jobs list`.")],
    now: Annotated[
        str | None,
        typer.Option(help="Run as of this ISO 8601 instant (default: now), e.g. to test reminders."),
    ] = None,
) -> None:
    """Run one job now, under the same once-per-cluster lease as the scheduler: if this tick of the job
    already ran (here or on another replica), nothing happens and the exit code is 3."""
    from datetime import UTC, datetime

    from app.core.clock import utcnow
    from app.scheduler.registry import scheduler_config
    from app.scheduler.runner import holder_id, run_tick
    from app.wiring import job

    try:
        chosen = job(name)
        at = datetime.fromisoformat(now).astimezone(UTC) if now else utcnow()
    except (KeyError, ValueError) as exc:
        err.print(f"[red]refused:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    settings = get_settings()
    ran = run_tick(_engine(), settings, chosen, scheduler_config(settings), holder=holder_id(), now=at)
    err.print(f"{name} at {at.isoformat()}: {'ran' if ran else 'this tick already ran; nothing done'}")
    if not ran:
        raise typer.Exit(3)


@app.command("scheduler")
def scheduler() -> None:
    """Run the scheduled jobs (reminders, verification, weekly digests...). Run one per replica: each
    job runs once per cluster per tick."""
    import signal
    import threading

    from app.scheduler.registry import scheduler_config
    from app.scheduler.runner import build_scheduler
    from app.wiring import JOBS

    settings = get_settings()
    runner = build_scheduler(_engine(), settings, scheduler_config(settings), JOBS)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    logging.getLogger("seam.scheduler").info(
        "scheduler running: %s", ", ".join(sorted(j.id for j in runner.get_jobs()))
    )
    stop.wait()
    runner.shutdown(wait=True)


@digest_app.command("preview")
def digest_preview(
    to: Annotated[str, typer.Option(help="Email address of a person in the journey.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Where to write the HTML.")],
    kind: Annotated[str | None, typer.Option(help="owner, team or leadership; default: the first.")] = None,
) -> None:
    """Render the weekly digest this person would get for the last full week to an HTML file."""
    from app.core.clock import utcnow
    from app.digests import build as digests
    from app.digests.charts import for_browser
    from app.digests.render import render
    from app.journey import service as journeys
    from app.scheduler.registry import scheduler_config

    with Session(_engine()) as session:
        journey = journeys.current_or_none(session)
        if journey is None:
            err.print("[red]no journey applied yet[/red]")
            raise typer.Exit(1)
        settings = get_settings()
        zone = scheduler_config(settings).zone
        found = digests.preview(session, journey, to, utcnow(), zone, settings.public_url)
    found = [a for a in found if kind is None or a.digest.kind == kind]
    if not found:
        err.print(f"[red]nobody in the journey gets a{' ' + kind if kind else ''} digest at {to}[/red]")
        raise typer.Exit(1)
    rendered = render(found[0].digest)
    out.write_text(for_browser(rendered), encoding="utf-8")
    err.print(f"{rendered.subject} -> {out}", markup=False, highlight=False)


def main() -> None:
    from app.core import logs

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    app()
