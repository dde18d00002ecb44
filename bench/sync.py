"""Outbox delivery throughput and idle latency, real `seam worker` processes on PostgreSQL.

    python bench/sync.py [--workers 1,4] [--concurrency 1,8] [--vendor-concurrency 4] [--batch 16]
                         [--seconds 8] [--latency-ms 50] [--idle-samples 30]

A Jira stand-in (loopback, every request validated against Jira's OpenAPI document) answers each
request after --latency-ms. The measured message kind is `sync.comment`, the real handler: read the
contribution and integration, build the adapter, make ONE vendor call (POST .../comment), mark done.
Every message goes to the one integration, so a worker delivers min(concurrency, vendor concurrency)
at once (SEAM_WORKER_CONCURRENCY, SEAM_VENDOR_CONCURRENCY) and the ideal rate is
workers x min(concurrency, vendor concurrency) x 1000/latency-ms messages per second (20/s per slot at
50 ms); the ratio says how close the outbox machinery (claim, handler DB reads, client setup,
completion) gets.

Throughput: for each worker count and each concurrency, start N worker processes, wait until they idle,
enqueue ideal rate x --seconds messages in one commit, and time from that commit to the last message's
`done_at`.

Idle latency: one worker, nothing else queued; enqueue one message, commit, and measure commit ->
`done_at`, minus the vendor's own latency. A worker that finds nothing sleeps `--poll` seconds, so
the added latency is about half the poll interval on average; both poll settings are reported.

The last line printed is JSON with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from _common import ROOT, fresh_database
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from app.connections import service as connections
from app.connections.schemas import IntegrationIn
from app.core.settings import get_settings
from app.issues.models import ExperienceIssue
from app.outbox import service as outbox
from app.outbox.models import OutboxMessage
from app.sync.models import Contribution
from integrations.base import TicketDescription, TicketDraft, TicketTarget
from integrations.registry import build_tracker
from tests.fakes.jira import JiraStandIn
from tests.fakes.server import serving

COMMENT_KIND = "sync.comment"


def setup(engine: Engine, fake: JiraStandIn) -> int:
    """One integration, one issue, one contribution with a real ticket on the stand-in."""
    config = {
        "base_url": fake.base_url,
        "email": fake.email,
        "api_token": SecretStr(fake.api_token),
        "allow_private_network": True,
    }
    draft = TicketDraft(
        seam_issue_id="EI-1",
        summary="bench",
        description=TicketDescription(stage="Pay", impact="bench"),
        target=TicketTarget(project_key="CX"),
    )

    async def create() -> tuple[str, str, str]:
        tracker = build_tracker("jira", config)
        try:
            ref = await tracker.create(draft, "bench")
        finally:
            await tracker.aclose()
        return ref.id, ref.key, ref.url

    ticket_id, key, url = asyncio.run(create())
    with Session(engine) as session:
        integration = connections.create_integration(
            session,
            IntegrationIn(
                name="bench",
                vendor="jira",
                base_url=fake.base_url,
                email=fake.email,
                api_token=SecretStr(fake.api_token),
                options={"timeout_seconds": 10.0},
            ),
            None,
            allow_private=True,
            secret=get_settings().secret_key.get_secret_value(),  # what the worker processes read
        )
        issue = ExperienceIssue(
            title="bench", stage="pay", fingerprint="bench", status="fixing", owner="ravi"
        )
        session.add(issue)
        session.flush()
        contribution = Contribution(
            issue_id=issue.id or 0,
            team="billing",
            integration_id=integration.id or 0,
            state="open",
            target={"project_key": "CX"},
            ticket_id=ticket_id,
            ticket_key=key,
            ticket_url=url,
            requested_by="bench",
        )
        session.add(contribution)
        session.commit()
        return contribution.id or 0


def start_workers(
    engine: Engine, n: int, poll: float, contribution_id: int, limits: dict[str, str] | None = None
) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "SEAM_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SEAM_ALLOW_PRIVATE_NETWORK": "true",
        "SEAM_LOG_LEVEL": "WARNING",
        "SEAM_EMBEDDING": "off",  # the worker never encodes; loading the model only slows its start
        **(limits or {}),
    }
    cmd = [sys.executable, "-m", "app", "worker", "--poll", str(poll)]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(n)
    ]
    # Warm up: every worker must have imported everything and polled once before we time anything.
    warm = enqueue(engine, contribution_id, n * 3, f"warm{_seq}")
    wait_done(engine, warm, timeout=120)
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


_seq = 0


def enqueue(engine: Engine, contribution_id: int, n: int, tag: str) -> list[str]:
    """n comment messages in one transaction; returns their dedupe keys (committed on return)."""
    global _seq
    keys = []
    with Session(engine) as session:
        for _ in range(n):
            _seq += 1
            key = f"bench:{tag}:{_seq}"
            outbox.enqueue(
                session, COMMENT_KIND, key, {"contribution_id": contribution_id, "body": f"c{_seq}"}
            )
            keys.append(key)
        session.commit()
    return keys


def wait_done(engine: Engine, keys: list[str], timeout: float) -> datetime:
    """The last done_at among `keys`, once all are done."""
    deadline = time.monotonic() + timeout
    c = col(OutboxMessage.dedupe_key)
    while True:
        with Session(engine) as session:
            done, last, dead = session.execute(
                select(
                    func.count().filter(col(OutboxMessage.state) == "done"),
                    func.max(col(OutboxMessage.done_at)),
                    func.count().filter(col(OutboxMessage.state) == "dead"),
                ).where(c.in_(keys))
            ).one()
        if dead:
            raise SystemExit(f"{dead} messages went dead; is the stand-in up?")
        if done == len(keys):
            return last
        if time.monotonic() > deadline:
            raise SystemExit(f"only {done}/{len(keys)} delivered in {timeout}s")
        time.sleep(0.02)


def throughput(
    engine: Engine,
    contribution_id: int,
    workers: int,
    seconds: float,
    rate: float,
    concurrency: int,
    per_vendor: int,
    batch: int,
) -> dict[str, float]:
    limits = {
        "SEAM_WORKER_CONCURRENCY": str(concurrency),
        "SEAM_VENDOR_CONCURRENCY": str(per_vendor),
        "SEAM_WORKER_BATCH": str(batch),
    }
    procs = start_workers(engine, workers, 0.1, contribution_id, limits)
    slots = workers * min(concurrency, per_vendor)
    try:
        n = int(slots * rate * seconds)
        keys = enqueue(engine, contribution_id, n, f"tp{workers}x{concurrency}")
        committed = datetime.now(UTC)
        # Generous: on a loaded shared box a run can take ten times its target.
        last = wait_done(engine, keys, timeout=max(600.0, seconds * 20))
    finally:
        stop_workers(procs)
    elapsed = (last - committed).total_seconds()
    per_s = n / elapsed
    return {
        "workers": workers,
        "concurrency": concurrency,
        "vendor_concurrency": per_vendor,
        "messages": n,
        "seconds": round(elapsed, 2),
        "per_s": round(per_s, 1),
        "per_s_per_worker": round(per_s / workers, 1),
        "ideal_per_s": slots * rate,
        "ratio": round(per_s / (slots * rate), 3),
    }


def idle_latency(
    engine: Engine, contribution_id: int, poll: float, samples: int, vendor_s: float
) -> dict[str, float]:
    procs = start_workers(engine, 1, poll, contribution_id)
    added = []
    try:
        rng = random.Random(7)
        for i in range(samples):
            # The worker polls at completion + k x poll: land uniformly inside one of its sleeps.
            time.sleep(poll + rng.uniform(0, poll))
            keys = enqueue(engine, contribution_id, 1, f"idle{poll}:{i}")
            committed = datetime.now(UTC)
            done = wait_done(engine, keys, timeout=30)
            added.append((done - committed).total_seconds() - vendor_s)
    finally:
        stop_workers(procs)
    added.sort()
    return {
        "poll_s": poll,
        "samples": samples,
        "added_ms_median": round(statistics.median(added) * 1000, 1),
        "added_ms_p90": round(added[int(0.9 * (len(added) - 1))] * 1000, 1),
        "added_ms_max": round(added[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--concurrency", default="1,8", help="SEAM_WORKER_CONCURRENCY values to run")
    parser.add_argument("--vendor-concurrency", type=int, default=4, help="SEAM_VENDOR_CONCURRENCY")
    parser.add_argument("--batch", type=int, default=16, help="SEAM_WORKER_BATCH")
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="skip the stand-in's OpenAPI checks (about 5 ms of CPU a request in the benchmark's process)",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="target length of each throughput run")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--idle-samples", type=int, default=30)
    parser.add_argument("--polls", default="0.5,0.1", help="worker --poll values for the idle latency runs")
    args = parser.parse_args()
    vendor_s = args.latency_ms / 1000
    rate = 1 / vendor_s
    fake = JiraStandIn()
    fake.validate = not args.no_validate
    # Other work on the machine skews every figure here: say how busy it was.
    results: dict[str, object] = {
        "latency_ms": args.latency_ms,
        "stand_in_validates": not args.no_validate,
        "cpus": os.cpu_count(),
        "load_avg_1m_start": round(os.getloadavg()[0], 2),
    }
    with serving(fake), fresh_database("postgres") as engine:
        contribution_id = setup(engine, fake)
        fake.latency_seconds = vendor_s
        rows = []
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            for workers in [int(w) for w in args.workers.split(",")]:
                row = throughput(
                    engine,
                    contribution_id,
                    workers,
                    args.seconds,
                    rate,
                    concurrency,
                    args.vendor_concurrency,
                    args.batch,
                )
                rows.append(row)
                print(
                    f"{workers} worker(s) x concurrency {concurrency} (vendor {args.vendor_concurrency}): "
                    f"{row['messages']} msgs in {row['seconds']} s = {row['per_s']}/s "
                    f"(ideal {row['ideal_per_s']:.0f}/s, ratio {row['ratio']}), "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        results["throughput"] = rows
        idle = []
        for poll in [float(p) for p in args.polls.split(",")] if args.idle_samples else []:
            row = idle_latency(engine, contribution_id, poll, args.idle_samples, vendor_s)
            idle.append(row)
            print(
                f"idle, poll {poll} s: commit->delivered minus the {args.latency_ms:.0f} ms call: "
                f"median {row['added_ms_median']} ms, p90 {row['added_ms_p90']} ms, "
                f"max {row['added_ms_max']} ms",
                flush=True,
            )
        results["idle_latency"] = idle
        results["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
        results["vendor_requests"] = len(fake.requests)
        results["stand_in_violations"] = len(fake.violations)
    print(json.dumps({"benchmark": "sync", **results}))


if __name__ == "__main__":
    main()
