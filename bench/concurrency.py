"""Concurrent authenticated requests: 500 at once, reads and ingest mixed, against a same-run baseline.

    python bench/concurrency.py [--db sqlite,postgres] [--concurrency 500] [--repeat 3]

Seam runs under uvicorn in a child process on loopback (one worker, the in-process outbox worker off).
Each round opens ``--concurrency`` connections at once and sends one request on each: four in five are
`GET /api/v1/issues?limit=5` with a read key, one in five `POST /api/v1/feedback` with an ingest key.
The baseline is the same number of concurrent `GET /healthz` (no key, no database) in the same run.
Latency is client-side, from sending a request to the end of its response; each round's p50 and p99 are
reported, with the medians over rounds and the ratio to the baseline. Any 5xx fails the run. The last
line is JSON.
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
from _common import fresh_database, median
from sqlmodel import Session


def _serve(url: str, port: int, ready: Any) -> None:
    import uvicorn

    from app.core.db import make_engine
    from app.core.settings import Settings
    from app.main import create_app

    settings = Settings(database_url=url, inprocess_worker=False, log_level="WARNING")
    app = create_app(settings, make_engine(url))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, backlog=4096
    )
    ready.set()
    uvicorn.Server(config).run()


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


def _request(host: str, i: int, keys: dict[str, str] | None, run: str) -> bytes:
    """One whole HTTP/1.1 request, built before the clock starts."""
    if keys is None:
        return f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    if i % 5 == 0:
        body = json.dumps(
            {
                "source": "bench",
                "external_id": f"{run}-{i}",
                "text": "The box arrived late and the ice packs had melted",
                "score": i % 11,
                "scale": "nps",
                "customer_ref": f"c-{i % 50}",
            }
        ).encode()
        head = (
            f"POST /api/v1/feedback HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {keys['ingest']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body
    return (
        f"GET /api/v1/issues?limit=5 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {keys['read']}\r\n\r\n"
    ).encode()


async def _round(base: str, n: int, keys: dict[str, str] | None, run: str) -> dict[str, Any]:
    """``n`` connections, opened before the clock starts, each sending one request at the same moment.
    A hand-rolled client: a general one (httpx) costs more CPU per request than `/healthz` and would
    measure itself instead of the server."""
    host_port = base.removeprefix("http://")
    host, port = host_port.split(":")
    requests = [_request(host_port, i, keys, run) for i in range(n)]
    conns = [await asyncio.open_connection(host, int(port)) for _ in range(n)]
    go = asyncio.Event()

    async def one(i: int) -> tuple[int, float]:
        reader, writer = conns[i]
        await go.wait()
        t0 = time.perf_counter()
        writer.write(requests[i])
        head = await reader.readuntil(b"\r\n\r\n")
        found = _LENGTH.search(head)
        if found and int(found.group(1)):
            await reader.readexactly(int(found.group(1)))
        elapsed = time.perf_counter() - t0
        writer.close()
        return int(head[9:12]), elapsed

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.sleep(0.1)
    start = time.perf_counter()
    go.set()
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    latencies = sorted(t for _, t in results)
    statuses: dict[int, int] = {}
    for code, _ in results:
        statuses[code] = statuses.get(code, 0) + 1
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "wall_s": wall,
        "statuses": statuses,
    }


def run(kind: str, n: int, repeat: int) -> dict[str, Any]:
    from app.auth.service import create_key
    from tests.support.api import example_journey
    from tests.support.net import free_port

    with fresh_database(kind) as engine:
        with Session(engine) as session:
            _, admin = create_key(session, "bench-admin", ["admin"])
            _, read = create_key(session, "bench-read", ["read"])
            _, ingest = create_key(session, "bench-ingest", ["ingest"])
            session.commit()
        url = engine.url.render_as_string(hide_password=False)
        port = free_port()
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        proc = ctx.Process(target=_serve, args=(url, port, ready), daemon=True)
        proc.start()
        try:
            ready.wait(60)
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {admin}"}
            assert httpx.put(f"{base}/api/v1/journey", json=example_journey(), headers=headers).is_success
            rounds: dict[str, list[dict[str, Any]]] = {"baseline": [], "mixed": []}
            for r in range(repeat):
                rounds["baseline"].append(asyncio.run(_round(base, n, None, f"{kind}-{r}")))
                mixed = asyncio.run(_round(base, n, {"read": read, "ingest": ingest}, f"{kind}-{r}"))
                rounds["mixed"].append(mixed)
        finally:
            proc.terminate()
            proc.join(10)
    errors = sum(c for rs in rounds.values() for x in rs for s, c in x["statuses"].items() if s >= 500)
    out: dict[str, Any] = {"db": kind, "concurrency": n, "server_errors": errors}
    for name, rs in rounds.items():
        out[name] = {
            "p50_ms": median([x["p50_ms"] for x in rs]),
            "p99_ms": median([x["p99_ms"] for x in rs]),
            "wall_s": median([x["wall_s"] for x in rs]),
            "statuses": rs[-1]["statuses"],
        }
    out["p50_ratio"] = out["mixed"]["p50_ms"] / out["baseline"]["p50_ms"]
    out["p99_ratio"] = out["mixed"]["p99_ms"] / out["baseline"]["p99_ms"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = [run(kind, args.concurrency, args.repeat) for kind in args.db.split(",")]
    for r in results:
        print(
            f"{r['db']:>8}: {r['concurrency']} concurrent, 5xx={r['server_errors']}; "
            f"mixed p50 {r['mixed']['p50_ms']:.0f} ms p99 {r['mixed']['p99_ms']:.0f} ms "
            f"(wall {r['mixed']['wall_s']:.1f} s); /healthz p50 {r['baseline']['p50_ms']:.0f} ms "
            f"p99 {r['baseline']['p99_ms']:.0f} ms; ratio p50 {r['p50_ratio']:.1f}x p99 {r['p99_ratio']:.1f}x"
        )
    print(json.dumps(results))
    if any(r["server_errors"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
