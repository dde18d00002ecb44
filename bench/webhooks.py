"""Webhook acknowledgement throughput: POST /webhooks/{source_id} against a verify-only endpoint.

    python bench/webhooks.py [--db sqlite,postgres] [--requests 1000] [--concurrency 16]
                             [--repeat 3] [--drain]

Seam runs under uvicorn in a child process on loopback (one worker, the in-process outbox worker
off, so only the acknowledgement path is timed); this process sends signed Typeform deliveries
over HTTP, each with its own event_id, so every one is verified, stored in the inbox and queued.
The baseline is a route added to the same app that reads the body, verifies the same signature
with the same secret and answers 200: no database. It is served twice: as a FastAPI route (`ratio`)
and, like the receiver itself, as a direct route past FastAPI's routing (`direct_ratio`, the
like-for-like figure). Runs alternate baseline / direct / receiver, --repeat times; each figure is
the median, and the ratios compare them in the same run. Latency is the
client-side time from sending a request to its 2xx (the vendor's view of the acknowledgement).
After the timed runs it checks that every acknowledged delivery was stored exactly once; with
--drain it then runs the outbox worker over them and checks that each became exactly one feedback
item (and reports that rate; slow on a loaded host, so off by default). The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import re
import statistics
import time
from typing import Any

import httpx
from _common import ROOT, fresh_database, median
from fastapi import Request, Response
from sqlalchemy import func, select
from sqlmodel import Session

SECRET = "bench_typeform_secret_5b1c"
EXAMPLE = (ROOT.parent / "shared" / "specs" / "examples" / "typeform_form_response.json").read_bytes()


def _serve(url: str, port: int, ready: Any) -> None:
    """Child process: Seam plus the verify-only baseline route, under uvicorn."""
    import uvicorn

    from app.core.db import make_engine
    from app.core.direct_routes import DirectRoute, DirectRoutes
    from app.core.settings import Settings
    from app.main import create_app
    from integrations.signatures import WebhookSignatureError, verify_typeform

    # The per-address limit is for hostile senders; this one client is the whole survey wave.
    settings = Settings(
        database_url=url, inprocess_worker=False, log_level="WARNING", rate_webhooks_per_minute=10_000_000
    )
    app = create_app(settings, make_engine(url))

    @app.post("/bench/verify-only")
    async def verify_only(request: Request) -> Response:
        body = await request.body()
        try:
            verify_typeform(body, request.headers, SECRET)
        except WebhookSignatureError:
            return Response(status_code=401)
        return Response(status_code=200)

    async def verify_direct(request: Request, params: Any) -> Response:
        return await verify_only(request)

    # The same endpoint answered the way the receiver is (app.core.direct_routes), past FastAPI's
    # routing: the like-for-like baseline, since the receiver no longer pays for the router either.
    direct = DirectRoute("POST", re.compile("/bench/verify-direct"), verify_direct, "/bench/verify-direct")
    for middleware in app.user_middleware:
        if middleware.cls is DirectRoutes:
            middleware.kwargs["routes"] = (*middleware.kwargs["routes"], direct)

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    ready.set()
    server.run()


def _bodies(n: int, run: str) -> list[tuple[bytes, dict[str, str]]]:
    from integrations.signatures import sign_typeform

    out = []
    base = json.loads(EXAMPLE)
    for i in range(n):
        base["event_id"] = f"{run}-{i}"
        base["form_response"]["token"] = f"{run}-tok-{i}"
        body = json.dumps(base).encode()
        out.append((body, {**sign_typeform(body, SECRET), "Content-Type": "application/json"}))
    return out


Signed = list[tuple[bytes, dict[str, str]]]
_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


def _requests(base: str, path: str, bodies: Signed) -> list[bytes]:
    """Whole HTTP/1.1 requests, built before the clock starts."""
    host = base.removeprefix("http://")
    out = []
    for body, headers in bodies:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return out


async def _blast(base: str, path: str, bodies: Signed, concurrency: int) -> dict[str, Any]:
    """``concurrency`` keep-alive connections sending back to back. A hand-rolled HTTP/1.1 client:
    a general client (httpx) costs more CPU per request than the verify-only endpoint, and would
    measure itself instead of the server."""
    queue = list(reversed(_requests(base, path, bodies)))
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while queue:
                request = queue.pop()
                t0 = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                found = _LENGTH.search(head)
                if found and int(found.group(1)):
                    await reader.readexactly(int(found.group(1)))
                latencies.append(time.perf_counter() - t0)
                status = int(head[9:12])
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rps": len(bodies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "statuses": statuses,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def bench(db: str, n: int, concurrency: int, repeat: int, drain: bool) -> dict[str, Any]:
    from app import wiring
    from app.core.settings import Settings
    from app.outbox.worker import run_once
    from app.sources import processing as _processing  # noqa: F401  (registers the outbox handler)
    from app.sources import service
    from app.sources.schemas import SourceIn

    with fresh_database(db) as engine:
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, inprocess_worker=False)
        with Session(engine) as s:
            source = service.create(
                s,
                SourceIn(kind="typeform", name="bench", secret=SECRET),  # type: ignore[arg-type]
                secret_key=settings.secret_key.get_secret_value(),
                allow_private=True,
            )
            s.commit()
            source_id = source.id
        port = _free_port()
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        proc = ctx.Process(target=_serve, args=(url, port, ready), daemon=True)
        proc.start()
        base = f"http://127.0.0.1:{port}"
        try:
            ready.wait(30)
            _wait_up(base)
            asyncio.run(_blast(base, f"/webhooks/{source_id}", _bodies(200, "warm"), concurrency))
            asyncio.run(_blast(base, "/bench/verify-only", _bodies(200, "warmb"), concurrency))
            asyncio.run(_blast(base, "/bench/verify-direct", _bodies(200, "warmd"), concurrency))
            runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "direct": [], "receiver": []}
            for r in range(repeat):
                runs["baseline"].append(
                    asyncio.run(_blast(base, "/bench/verify-only", _bodies(n, f"b{r}"), concurrency))
                )
                runs["direct"].append(
                    asyncio.run(_blast(base, "/bench/verify-direct", _bodies(n, f"d{r}"), concurrency))
                )
                runs["receiver"].append(
                    asyncio.run(_blast(base, f"/webhooks/{source_id}", _bodies(n, f"r{r}"), concurrency))
                )
        finally:
            proc.terminate()
            proc.join(10)
        for name, results in runs.items():
            for res in results:
                expected = 202 if name == "receiver" else 200
                assert res["statuses"] == {expected: n}, (name, res["statuses"])
        # Every acknowledged delivery was stored once; with --drain, it also became exactly one item.
        from app.feedback.models import FeedbackItem
        from app.inbox.models import InboundDelivery

        acked = 200 + n * repeat
        with Session(engine) as s:
            stored = s.execute(select(func.count()).select_from(InboundDelivery)).scalar_one()
        assert stored == acked, (stored, acked)
        items, drain_rate = None, None
        if drain:
            t0 = time.perf_counter()
            while asyncio.run(run_once(engine, settings, "bench", wiring.HANDLERS, limit=100)):
                pass
            drain_s = time.perf_counter() - t0
            with Session(engine) as s:
                items = s.execute(select(func.count()).select_from(FeedbackItem)).scalar_one()
            assert items == acked, (items, acked)
            drain_rate = round(items / drain_s, 1)
    base_rps = median([r["rps"] for r in runs["baseline"]])
    recv_rps = median([r["rps"] for r in runs["receiver"]])
    direct_rps = median([r["rps"] for r in runs["direct"]])
    return {
        "db": db,
        "requests_per_run": n,
        "concurrency": concurrency,
        "repeat": repeat,
        "baseline_rps": round(base_rps, 1),
        "receiver_rps": round(recv_rps, 1),
        "ratio": round(recv_rps / base_rps, 3),
        "direct_baseline_rps": round(direct_rps, 1),
        "direct_ratio": round(recv_rps / direct_rps, 3),
        "baseline_p99_ms": round(median([r["p99_ms"] for r in runs["baseline"]]), 2),
        "receiver_p50_ms": round(median([r["p50_ms"] for r in runs["receiver"]]), 2),
        "receiver_p99_ms": round(median([r["p99_ms"] for r in runs["receiver"]]), 2),
        "stored": stored,
        "items_made": items,
        "worker_items_per_s": drain_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres, or both comma-separated")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--drain", action="store_true", help="then run the outbox worker and check one item per delivery"
    )
    args = parser.parse_args()
    results = []
    for db in args.db.split(","):
        res = bench(db.strip(), args.requests, args.concurrency, args.repeat, args.drain)
        results.append(res)
        print(
            f"{res['db']:>8}: receiver {res['receiver_rps']:.0f}/s "
            f"vs verify-only {res['baseline_rps']:.0f}/s "
            f"(ratio {res['ratio']:.2f}), vs verify-only direct {res['direct_baseline_rps']:.0f}/s "
            f"(ratio {res['direct_ratio']:.2f}); ack p50 {res['receiver_p50_ms']:.1f} ms, "
            f"p99 {res['receiver_p99_ms']:.1f} ms (verify-only p99 {res['baseline_p99_ms']:.1f} ms); "
            f"{res['stored']} deliveries stored"
            + (f"; worker made {res['items_made']} items at {res['worker_items_per_s']}/s" * args.drain)
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
