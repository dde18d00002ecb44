"""What /metrics costs: the request middleware's overhead per request, and a scrape's outbox query
against the outbox's size.

1. Requests: `GET /healthz` called straight through the ASGI app, N times, on an app with the request
   metrics middleware and on the same app without it (interleaved rounds, medians); ratio with/without.
   Then the middleware alone, around an ASGI app that answers at once: its own cost per request.
2. Scrape: `OutboxCollector.collect()` over an outbox of `--rows` messages (mostly delivered emails, as a
   long-running install accumulates them), against `SELECT count(*) FROM outbox_messages` on the same
   table in the same run; ratio scrape/count, on SQLite and PostgreSQL.

    cd bench && ../.venv/bin/python metrics.py [--requests 5000] [--rows 200000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from _common import fresh_database
from sqlalchemy import Engine, text

from app.core.db_metrics import scrape_engine
from app.core.http_metrics import RequestMetricsMiddleware
from app.core.settings import Settings
from app.main import create_app
from app.outbox.metrics import OutboxCollector
from app.wiring import EMAIL_PURPOSES, HANDLERS


def _app(engine: Engine, with_metrics: bool) -> Any:
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, inprocess_worker=False, metrics_token="b" * 32), engine)
    if not with_metrics:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestMetricsMiddleware]
    return app


async def _calls(app: Any, n: int) -> float:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
    }
    scope |= {"headers": [], "http_version": "1.1", "scheme": "http"}
    scope |= {"server": ("t", 80), "client": ("c", 1)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return time.perf_counter() - started


def requests(n: int, repeat: int) -> None:
    with fresh_database("sqlite") as engine:
        apps = {True: _app(engine, True), False: _app(engine, False)}
        for app in apps.values():
            asyncio.run(_calls(app, 200))  # builds the middleware stack, warms the thread pool
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeat):
            for flag, app in apps.items():
                times[flag].append(asyncio.run(_calls(app, n)))
    with_m, without = statistics.median(times[True]), statistics.median(times[False])
    print(f"requests: {n} x GET /healthz, median of {repeat}")
    print(f"  without middleware {without / n * 1e6:8.1f} us/request")
    print(f"  with middleware    {with_m / n * 1e6:8.1f} us/request   ratio {with_m / without:.3f}")


class _Route:
    path = "/api/v1/issues/{issue_id}"


async def _answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["route"] = _Route
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def middleware_alone(n: int, repeat: int) -> None:
    apps = {"bare": _answer, "wrapped": RequestMetricsMiddleware(_answer, skip=("/metrics",))}
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(repeat):
        for name, app in apps.items():
            times[name].append(asyncio.run(_calls(app, n)))
    bare, wrapped = (statistics.median(times[k]) / n * 1e6 for k in ("bare", "wrapped"))
    print(f"middleware alone: {n} calls, median of {repeat}")
    print(f"  bare ASGI app {bare:6.2f} us, wrapped {wrapped:6.2f} us: {wrapped - bare:.2f} us a request")


def _fill(engine: Engine, rows: int) -> None:
    """90 % delivered emails (a third reminder bundles, a third digests), 5 % pending, 3 % of other
    kinds delivered, 2 % dead."""
    values = []
    for i in range(rows):
        r = i % 100
        state = "done" if r < 93 else "pending" if r < 98 else "dead"
        kind = "sync.create_ticket" if 90 <= r < 93 else "email"
        prefix = ("reminders", "digest", "sign-in")[i % 3]
        values.append({"k": kind, "d": f"{prefix}:{i}", "s": state})
    insert = text(
        "INSERT INTO outbox_messages (kind, dedupe_key, payload, state, attempts, max_attempts, "
        "available_at, created_at, updated_at) VALUES (:k, :d, '{}', :s, 0, 8, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    with engine.begin() as conn:
        for start in range(0, rows, 10_000):
            conn.execute(insert, values[start : start + 10_000])
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE outbox_messages"))


def _median(fn: Any, repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _scrape_one(kind: str, rows: int, repeat: int) -> None:
    with fresh_database(kind) as engine:
        _fill(engine, rows)
        reads = scrape_engine(engine)
        collector = OutboxCollector(reads, HANDLERS, EMAIL_PURPOSES)
        parts: dict[str, list[float]] = {"waiting": [], "delivered": []}

        def count() -> None:
            with reads.connect() as conn:
                conn.execute(text("SELECT count(*) FROM outbox_messages")).scalar_one()

        def collect() -> None:
            families = {f.name: f for f in collector.collect()}
            for sample in families["seam_outbox_scrape_success"].samples:
                assert sample.value == 1, f"the scrape's {sample.labels['part']} read failed"
            for sample in families["seam_outbox_scrape_duration_seconds"].samples:
                parts[sample.labels["part"]].append(sample.value)

        base, took = _median(count, repeat), _median(collect, repeat)
        reads.dispose()
    print(f"scrape, {kind}, {rows} outbox rows, median of {repeat}")
    print(f"  SELECT count(*)   {base * 1000:8.1f} ms")
    print(f"  collector         {took * 1000:8.1f} ms   ratio {took / base:.2f}")
    for part, samples in parts.items():
        print(f"    {part:<15} {statistics.median(samples) * 1000:8.1f} ms")


def scrape(rows: int, repeat: int) -> None:
    for kind in ("sqlite", "postgres"):
        _scrape_one(kind, rows, repeat)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    requests(args.requests, args.repeat)
    middleware_alone(args.requests * 10, args.repeat)
    scrape(args.rows, args.repeat)


if __name__ == "__main__":
    main()
