"""Placement lag under `SEAM_PLACEMENT=deferred`: items posted at a sustained rate, placed by real
`seam worker` processes; how long each item waits between being stored and being placed.

    python bench/placement_lag.py [--db sqlite,postgres] [--rates 50,150] [--seconds 20] [--batch 50]
                                  [--workers 1] [--poll 0.1]

Every text is new (the encoder runs for each item, as for real feedback). A poller reads the items
every 25 ms and notes when each one stops being `pending`; an item's lag is that moment less its
`received_at`, so the lag's floor is the worker's poll interval plus the poller's. After the timed
window the sender stops and the run waits for the backlog to drain, which a rate beyond the workers'
capacity shows as a growing lag and a long drain. The request's own rate is also reported
(`bench/ingest.py --placement deferred` gives its ratio to a raw insert). Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import yaml
from _common import ROOT, fresh_database
from ingest import Server, make_items
from sqlalchemy import Engine, select, text
from sqlmodel import Session

from app.auth.service import create_key
from app.feedback.models import FeedbackItem
from app.journey import service as journeys

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Poller(threading.Thread):
    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.engine, self.lags, self.stop, self.floor = engine, {}, threading.Event(), 0
        self.lags: dict[int, float]

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.is_set():
                seen = time.time()
                c = ITEMS.c  # typed columns: SQLite's text dates come back as datetimes
                rows = conn.execute(
                    select(c.id, c.received_at, c.state).where(c.id > self.floor).order_by(c.id)
                ).all()
                conn.rollback()
                waiting = [r.id for r in rows if r.state == "pending"]
                for r in rows:
                    if r.state != "pending" and r.id not in self.lags:
                        received = (
                            r.received_at if r.received_at.tzinfo else r.received_at.replace(tzinfo=UTC)
                        )
                        self.lags[r.id] = seen - received.timestamp()
                if rows:
                    self.floor = (min(waiting) - 1) if waiting else rows[-1].id
                time.sleep(0.025)


def _workers(engine: Engine, n: int, poll: float) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "SEAM_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "SEAM_LOG_LEVEL": "WARNING"}  # fmt: skip
    cmd = [sys.executable, "-m", "app", "worker", "--poll", str(poll)]
    return [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(n)]


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM feedback_items WHERE state = 'pending'")).scalar_one()
        )


def run_rate(kind: str, rate: float, seconds: float, batch: int, workers: int, poll: float) -> dict[str, Any]:
    with fresh_database(kind) as engine:
        with Session(engine) as session:
            journeys.apply(
                session, yaml.safe_load((ROOT / "examples/journey.yaml").read_text()), actor="bench"
            )
            _, key = create_key(session, "bench", ["admin"])
            session.commit()
        procs = _workers(engine, workers, poll)
        try:
            with (
                Server(engine, "deferred") as base,
                httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
            ):
                # Warm-up: the workers load the encoder with their first placement.
                http.post("/api/v1/feedback/batch", json={"items": make_items(batch, 10_000, True)})
                deadline = time.time() + 120
                while _pending(engine) and time.time() < deadline:
                    time.sleep(0.1)
                poller = Poller(engine)
                with engine.connect() as conn:
                    poller.floor = int(
                        conn.execute(text("SELECT coalesce(max(id), 0) FROM feedback_items")).scalar_one()
                    )
                poller.start()
                total = int(rate * seconds)
                items = make_items(total, 0, True)
                start, sent, request_s = time.perf_counter(), 0, 0.0
                while sent < total:
                    due = start + sent / rate
                    if (wait := due - time.perf_counter()) > 0:
                        time.sleep(wait)
                    t0 = time.perf_counter()
                    resp = http.post("/api/v1/feedback/batch", json={"items": items[sent : sent + batch]})
                    request_s += time.perf_counter() - t0
                    resp.raise_for_status()
                    sent += batch
                window = time.perf_counter() - start
                drain_start = time.perf_counter()
                while len(poller.lags) < sent and time.perf_counter() - drain_start < 300:
                    time.sleep(0.05)
                drain = time.perf_counter() - drain_start
                poller.stop.set()
                poller.join()
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    lags = list(poller.lags.values())
    return {
        "db": kind,
        "target_items_per_s": rate,
        "sent_items_per_s": round(sent / window, 1),
        "items": sent,
        "placed": len(lags),
        "lag_p50_s": round(_pct(lags, 0.50), 3),
        "lag_p95_s": round(_pct(lags, 0.95), 3),
        "lag_p99_s": round(_pct(lags, 0.99), 3),
        "lag_max_s": round(max(lags, default=float("nan")), 3),
        "drain_after_window_s": round(drain, 2),
        "request_ms_per_batch": round(1000 * request_s / max(1, sent // batch), 1),
        "batch": batch,
        "workers": workers,
        "worker_poll_s": poll,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--rates", default="50,150")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--poll", type=float, default=0.1)
    args = parser.parse_args()
    results = [
        run_rate(kind, float(rate), args.seconds, args.batch, args.workers, args.poll)
        for kind in args.db.split(",")
        for rate in args.rates.split(",")
    ]
    print(f"{'db':<10}{'rate/s':>8}{'sent/s':>8}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}{'drain s':>9}")
    for r in results:
        print(
            f"{r['db']:<10}{r['target_items_per_s']:>8}{r['sent_items_per_s']:>8}{r['lag_p50_s']:>8}"
            f"{r['lag_p95_s']:>8}{r['lag_p99_s']:>8}{r['drain_after_window_s']:>9}"
        )
    print(json.dumps({"benchmark": "placement_lag", "results": results}))


if __name__ == "__main__":
    main()
