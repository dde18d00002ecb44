"""Weekly digests at scale: 500 stage owners, 20,000 issues, 1,000,000 feedback items on PostgreSQL.

    .venv/bin/python bench/digest.py [--owners 500 --issues 20000 --items 1000000]

Creates a fresh database on SEAM_TEST_POSTGRES_URL's server (dropped afterwards), loads the data with
generate_series inside PostgreSQL, then times one weekly digest run (every owner, team and leadership
digest: read, build, render) and, in the same run, the SQL statements that run issued, replayed alone
(executed and fetched by the driver, nothing else). Prints the figures and where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session

from app.core import heap
from app.core.db import make_engine
from app.core.migrate import upgrade
from app.digests import build
from app.digests.render import Renderer, is_empty
from app.journey import service as journeys

ADMIN = os.environ.get("SEAM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday morning: the digest run covers 16-22 Nov
PUBLIC_URL = "https://seam.example"


@contextmanager
def bench_database(reuse: str | None, keep: bool) -> Iterator[tuple[str, bool]]:
    """(url, fresh): a new database (dropped afterwards unless `keep`), or `reuse`, loaded before."""
    base = ADMIN.rsplit("/", 1)[0] + "/"
    if reuse:
        yield base + reuse, False
        return
    name = f"seam_bench_digest_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base + name, True
    finally:
        if keep:
            print(f"kept database {name}: re-time with --database {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def journey(owners: int, teams: int) -> dict[str, Any]:
    sponsors = max(1, owners // 50)
    people = [
        {"id": f"o{i}", "name": f"Owner {i}", "email": f"owner{i}@bench.example"} for i in range(owners)
    ]
    people += [
        {"id": f"s{i}", "name": f"Sponsor {i}", "email": f"sponsor{i}@bench.example"} for i in range(sponsors)
    ]
    people += [
        {"id": f"m{i}", "name": f"Member {i}", "email": f"member{i}@bench.example"} for i in range(2 * teams)
    ]
    people.append({"id": "lead", "name": "CX Lead", "email": "lead@bench.example"})
    return {
        "name": "Bench journey",
        "cx_lead": "lead",
        "people": people,
        "teams": [
            {"key": f"t{i}", "name": f"Team {i}", "members": [f"m{2 * i}", f"m{2 * i + 1}"]}
            for i in range(teams)
        ],
        "stages": [
            {
                "key": f"st{i}",
                "name": f"Stage {i}",
                "owner": f"o{i}",
                "sponsor": f"s{i % sponsors}",
                "teams": [f"t{i % teams}", f"t{(i + 1) % teams}"],
                "moments": [
                    {"key": "m-a", "name": "Moment A", "weight": 1.5},
                    {"key": "m-b", "name": "Moment B"},
                ],
            }
            for i in range(owners)
        ],
    }


LOAD = """
INSERT INTO experience_issues (id, title, stage, moment, fingerprint, open_fingerprint, status, owner,
    item_count, customer_count, detractor_count, impact, first_seen, last_seen, created_at, updated_at)
SELECT g, 'Bench issue ' || g, 'st' || (g % :owners), CASE WHEN g % 2 = 0 THEN 'm-a' ELSE 'm-b' END,
    'fp-' || g, CASE WHEN g % 10 < 8 THEN 'fp-' || g END,
    (ARRAY['open','open','acknowledged','fixing','reopened','open','fixing','acknowledged','fix_shipped','confirmed'])
        [g % 10 + 1],
    'o' || (g % :owners), :per_issue, :per_issue / 2, :per_issue / 4, (g % 97) * 3.0,
    :now - interval '120 days', :now, :now - ((g % 120) || ' days')::interval, :now
FROM generate_series(1, :issues) AS g;
SELECT setval(pg_get_serial_sequence('experience_issues', 'id'), :issues);
INSERT INTO issue_accountability (issue_id, priority, impact_score, due_at, updated_at)
SELECT g, 'p' || (g % 4 + 1), (g % 97) * 3.0, :now + (((g % 40) - 20) || ' days')::interval, :now
FROM generate_series(1, :issues) AS g;
INSERT INTO feedback_items (source, external_id, text, score, scale, customer_ref, persona, occurred_at,
    received_at, extra, state, stage, moment, issue_id, placement, staff)
SELECT 'bench', g::text,
    CASE WHEN g % 3 = 0 THEN NULL ELSE 'Feedback number ' || g || ': the <b>box</b> came late & cold' END,
    CASE WHEN g % 2 = 0 THEN g % 11 END, CASE WHEN g % 2 = 0 THEN 'nps' END,
    'cust-' || (g % 200000), NULL,
    :now - ((g % (120 * 24)) || ' hours')::interval, :now - ((g % (120 * 24)) || ' hours')::interval,
    '{}', 'placed', 'st' || ((g % :issues + 1) % :owners),
    CASE WHEN (g % :issues + 1) % 2 = 0 THEN 'm-a' ELSE 'm-b' END, g % :issues + 1, '{}', false
FROM generate_series(1, :items) AS g;
INSERT INTO issue_events (issue_id, kind, actor, at, reason, before, after)
SELECT g, 'transition', 'bench', :now - ((g % 7) || ' days')::interval - interval '1 hour',
    CASE WHEN g % 10 = 4 THEN 'came back: 5 new items' END, '{}',
    json_build_object('status', CASE g % 10 WHEN 8 THEN 'fix_shipped' WHEN 9 THEN 'confirmed'
        WHEN 4 THEN 'reopened' ELSE 'acknowledged' END)
FROM generate_series(1, :issues) AS g;
INSERT INTO integrations (name, vendor, base_url, email, api_token_enc, options, targets, enabled, created_at,
    updated_at)
VALUES ('bench', 'jira', 'https://bench.example', 'bot@bench.example', 'x', '{}', '{}', true, :now, :now);
INSERT INTO contributions (issue_id, team, integration_id, required, state, target, ticket_key, requested_by,
    created_at, updated_at)
SELECT g, 't' || (g % :teams), (SELECT id FROM integrations LIMIT 1), true,
    (ARRAY['open','in_progress','done','requested'])[g % 4 + 1], '{}', 'BEN-' || g, 'bench',
    :now - interval '9 days', :now
FROM generate_series(1, :issues, 4) AS g;
ANALYZE;
"""


def load(engine: Engine, owners: int, issues: int, items: int, teams: int) -> float:
    started = time.perf_counter()
    with Session(engine) as session:
        journeys.apply(session, journey(owners, teams), actor="bench")
        session.commit()
    params = {
        "owners": owners,
        "issues": issues,
        "items": items,
        "teams": teams,
        "now": NOW,
        "per_issue": items // issues,
    }
    with engine.begin() as conn:
        for statement in LOAD.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), params)
    return time.perf_counter() - started


class Recorder:
    """Every statement the digest run sends, with its parameters, to replay them alone."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._record)
        self.engine = engine

    def _record(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        self.statements.append((statement, parameters))

    def stop(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def digest_run(engine: Engine) -> dict[str, float | int]:
    zone = build.ZoneInfo("UTC")
    t: dict[str, float | int] = {}
    # As `build.queue_all` runs them: the collector paused for the run.
    with Session(engine) as session, heap.collection_paused():
        j = journeys.current(session)
        start = time.perf_counter()
        snap = build.snapshot(session, j, NOW, zone, PUBLIC_URL)
        t["read"] = time.perf_counter() - start
        start = time.perf_counter()
        all_digests = list(build.digests(snap))
        t["assemble"] = time.perf_counter() - start
        start = time.perf_counter()
        renderer = Renderer()  # as the digest job renders them
        sent = [renderer.render(a.digest) for a in all_digests if not is_empty(a.digest)]
        t["render"] = time.perf_counter() - start
    t["digests"] = len(all_digests)
    t["sent"] = len(sent)
    t["html_kb"] = round(sum(len(r.html) for r in sent) / 1024)
    t["total"] = float(t["read"]) + float(t["assemble"]) + float(t["render"])
    return t


def replay(engine: Engine, statements: list[tuple[str, Any]]) -> float:
    """The same statements through the same driver, executed and fetched, nothing else."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        start = time.perf_counter()
        for statement, params in statements:
            cur.execute(statement, params)
            if cur.description is not None:
                cur.fetchall()
        elapsed = time.perf_counter() - start
        raw.rollback()
        return elapsed
    finally:
        raw.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--owners", type=int, default=500)
    ap.add_argument("--issues", type=int, default=20_000)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--teams", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the database to re-time later")
    ap.add_argument("--database", help="re-time on a database kept by --keep (no load)")
    ap.add_argument("--profile", help="write a cProfile of one more run to this file")
    args = ap.parse_args()
    with bench_database(args.database, args.keep) as (url, fresh):
        engine = make_engine(url)
        if fresh:
            upgrade(engine)
            loaded = load(engine, args.owners, args.issues, args.items, args.teams)
            print(f"loaded {args.owners} owners, {args.issues} issues, {args.items} items in {loaded:.1f} s")
        digest_run(engine)  # warm: plans, caches, template compilation
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(digest_run, engine)
            profiler.dump_stats(args.profile)
        runs, sql = [], []
        for _ in range(args.repeat):
            recorder = Recorder(engine)
            runs.append(digest_run(engine))
            recorder.stop()
            sql.append(replay(engine, recorder.statements))
        statements = len(recorder.statements)
        engine.dispose()
    med = {k: statistics.median(float(r[k]) for r in runs) for k in ("read", "assemble", "render", "total")}
    sql_s = statistics.median(sql)
    last = runs[-1]
    print(
        f"digests built: {last['digests']} ({last['sent']} not empty, {last['html_kb']} KB of HTML), "
        f"{statements} SQL statements"
    )
    print(f"digest run (median of {args.repeat}): {med['total']:.2f} s")
    print(f"  read (SQL + rows to models):  {med['read']:.2f} s")
    print(f"  assemble digests:             {med['assemble']:.2f} s")
    print(f"  render (Jinja, HTML + text):  {med['render']:.2f} s")
    print(f"SQL alone (same statements, executed and fetched): {sql_s:.2f} s")
    print(f"ratio digest run / SQL alone: {med['total'] / sql_s:.1f}x")


if __name__ == "__main__":
    main()
