"""Reads at company scale on PostgreSQL: the issue and feedback listings and the journey board with
10 million feedback items and 100,000 open issues. The data is made by the server itself
(generate_series), with the feedback indexes built after the load; then every query shape is timed
over loopback HTTP against the app under uvicorn in a child process (routing, auth, queries, JSON or
Jinja), signed in as the CX lead for the board, and p50/p95/p99 printed per shape. Two baselines are
timed in the same run: a `SELECT 1` round trip and `GET /healthz` over the same HTTP connection.

    .venv/bin/python bench/scale.py [--items 10000000] [--issues 100000] [--repeat 50] [--keep]
    .venv/bin/python bench/scale.py --database seam_bench_1234abcd   # time a kept database again

`--items 200000` is a quick run. `--keep` leaves the database (its name is printed) for EXPLAIN and for
`--database`, which migrates it to the head and times it without generating anything.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _common import PG_URL, ROOT, fresh_database
from pages import sign_in
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.auth.service import create_key
from app.core.db import make_engine
from app.core.migrate import upgrade
from app.core.settings import Settings
from app.insights import board_flags
from app.issues import board_counts
from app.journey import service as journeys
from app.journey.schemas import Journey
from tests.support.net import free_port

JOURNEY = ROOT / "examples" / "journey.yaml"
SOURCES = ["survey", "zendesk", "typeform", "import", "staff"]
ACTIVE = ["open", "open", "acknowledged", "fixing", "reopened", "fix_shipped"]
CLOSED = ["confirmed", "declined", "merged"]
FACETS = (
    "INSERT INTO issue_facets (issue_id, persona, staff, item_count) SELECT issue_id, COALESCE(persona, ''),"
    " staff, COUNT(*) FROM feedback_items WHERE issue_id IS NOT NULL GROUP BY 1, 2, 3"
)
# The filters each issue's facets match (app.issues.facets keeps them with the facets); their triggers
# write the kept filter counts.
FILTERS = (
    "INSERT INTO issue_filters (issue_id, kind, value) SELECT DISTINCT issue_id, 'persona', persona"
    " FROM issue_facets UNION SELECT DISTINCT issue_id, 'source', CASE WHEN staff THEN 'staff'"
    " ELSE 'customers' END FROM issue_facets"
)
WEEK = ("2026-06-01T00:00:00Z", "2026-06-08T00:00:00Z")


def _arr(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


def load_journey(engine: Engine) -> dict[str, list[str]]:
    with Session(engine) as session:
        source = Path(JOURNEY).read_text(encoding="utf-8")
        journeys.apply(session, journeys.parse_text(source), actor="bench", source_text=source)
        session.commit()
        return _shape(journeys.current(session))


def _shape(j: Journey) -> dict[str, list[str]]:
    return {
        "stages": [s.key for s in j.stages],
        "owners": [s.owner for s in j.stages],
        "teams": [t.key for t in j.teams],
        "personas": [p.key for p in j.personas],
    }


def generate(engine: Engine, shape: dict[str, list[str]], n_issues: int, n_items: int) -> None:
    """Active issues (a third as many closed, a twentieth emerging), their priorities, teams, and items:
    85 % placed into an issue on its stage, the rest in triage, spread over the last year."""
    total = n_issues + n_issues // 3 + n_issues // 20
    st, ow, tm, pe = (_arr(shape[k]) for k in ("stages", "owners", "teams", "personas"))
    k = len(shape["stages"])
    status = (
        f"CASE WHEN g <= {n_issues} THEN ({_arr(ACTIVE)})[1 + g % {len(ACTIVE)}] "
        f"WHEN g <= {n_issues + n_issues // 3} THEN ({_arr(CLOSED)})[1 + g % 3] ELSE 'emerging' END"
    )
    issues = f"""
        INSERT INTO experience_issues (id, title, stage, fingerprint, open_fingerprint, status, owner,
            item_count, customer_count, detractor_count, impact, answers_yes, answers_no, first_seen,
            last_seen, created_at, updated_at)
        SELECT g, 'Bench issue ' || g, ({st})[1 + g % {k}], 'bench:' || g,
            CASE WHEN g <= {n_issues} THEN 'bench:' || g END, {status}, ({ow})[1 + g % {k}],
            g % 500, g % 300, g % 90, round((random() * 1000)::numeric, 2)::float8, 0, 0,
            now() - interval '400 days', now() - random() * interval '200 days',
            now() - random() * interval '365 days', now()
        FROM generate_series(1, {total}) g"""
    accountability = """
        INSERT INTO issue_accountability (issue_id, priority, impact_score, due_at, updated_at)
        SELECT id, (ARRAY['p1','p2','p2','p3','p3','p3','p4','p4'])[1 + id % 8], impact,
            created_at + (id % 60) * interval '1 day', now()
        FROM experience_issues WHERE status <> 'emerging'"""
    teams = f"""
        INSERT INTO issue_teams (issue_id, team)
        SELECT id, ({tm})[1 + id % {len(shape["teams"])}] FROM experience_issues
        UNION SELECT id, ({tm})[1 + (id / 7) % {len(shape["teams"])}] FROM experience_issues"""
    # Items point at issues on their own stage: issue ids with the same residue mod k share a stage.
    items = f"""
        INSERT INTO feedback_items (id, source, external_id, text, score, scale, customer_ref, persona,
            occurred_at, received_at, extra, state, stage, issue_id, placement, staff)
        SELECT g, ({_arr(SOURCES)})[1 + g % 5], g::text, 'bench feedback item ' || g, (g % 11)::float8,
            'nps', 'c' || (g % 2000000), ({pe})[1 + g % {len(shape["personas"])}],
            t, t, '{{}}', CASE WHEN g % 20 < 17 THEN 'placed' ELSE 'triage' END,
            CASE WHEN g % 20 < 17 THEN ({st})[1 + iss % {k}] END,
            CASE WHEN g % 20 < 17 THEN iss END, '{{}}', g % 5 = 4
        FROM (SELECT g, 1 + (hashint4(g) & 2147483647) % {total} AS iss,
                     now() - (1 - g::float8 / {n_items}) * interval '365 days' AS t
              FROM generate_series(1, {n_items}) g) s"""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for sql in (issues, accountability, teams):
            conn.execute(text(sql))
        defs = _drop_item_indexes(conn)
        conn.execute(text(items))
        for d in defs:
            conn.execute(text(d))
        # The issues' kept facets (app.issues.facets), counted from the items just made as migration 0027
        # does; the board's persona and source filters read them.
        conn.execute(text(FACETS))
        conn.execute(text(FILTERS))
        for table in ("experience_issues", "feedback_items"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _drop_item_indexes(conn: object) -> list[str]:
    """The feedback table's plain indexes, dropped so the load does not maintain them row by row; their
    definitions are returned to build them again after it."""
    rows = conn.execute(  # type: ignore[attr-defined]
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'feedback_items' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    ).all()
    for name, _ in rows:
        conn.execute(text(f'DROP INDEX "{name}"'))  # type: ignore[attr-defined]
    return [d for _, d in rows]


def shapes(shape: dict[str, list[str]], client: httpx.Client, key: str) -> dict[str, list[str]]:
    stages, teams = shape["stages"], shape["teams"]
    paths = ("/api/v1/issues", "/api/v1/feedback", "/api/v1/feedback?sort=occurred")
    deep = {p: _cursor_after_pages(client, key, p, 9) for p in paths}
    big = client.get("/api/v1/issues", headers=_h(key)).json()["items"][0]["id"]
    return {
        "issues, default (impact)": ["/api/v1/issues"],
        "issues, sort=age": ["/api/v1/issues?sort=age"],
        "issues, sort=recent": ["/api/v1/issues?sort=recent"],
        "issues, stage=S": [f"/api/v1/issues?stage={s}" for s in stages],
        "issues, stage=S&sort=recent": [f"/api/v1/issues?stage={s}&sort=recent" for s in stages],
        "issues, status=acknowledged": ["/api/v1/issues?status=acknowledged"],
        "issues, owner=O": [f"/api/v1/issues?owner={o}" for o in sorted(set(shape["owners"]))],
        "issues, team=T": [f"/api/v1/issues?team={t}" for t in teams],
        "issues, 10th page (cursor)": [f"/api/v1/issues?cursor={deep['/api/v1/issues']}"],
        "feedback, newest": ["/api/v1/feedback"],
        "feedback, stage=S": [f"/api/v1/feedback?stage={s}" for s in stages],
        "feedback, issue=I": [f"/api/v1/feedback?issue={big}"],
        "feedback, source=S": [f"/api/v1/feedback?source={s}" for s in SOURCES],
        "feedback, state=triage": ["/api/v1/feedback?state=triage"],
        "feedback, stage=S&source=S": [f"/api/v1/feedback?stage={s}&source=zendesk" for s in stages],
        "feedback, one week (since/until)": [f"/api/v1/feedback?since={WEEK[0]}&until={WEEK[1]}"],
        "feedback, sort=occurred": ["/api/v1/feedback?sort=occurred"],
        "feedback, stage=S&sort=occurred": [f"/api/v1/feedback?stage={s}&sort=occurred" for s in stages],
        "feedback, source=S&sort=occurred": [f"/api/v1/feedback?source={s}&sort=occurred" for s in SOURCES],
        "feedback, state=triage&sort=occurred": ["/api/v1/feedback?state=triage&sort=occurred"],
        "feedback, 10th page (cursor)": [f"/api/v1/feedback?cursor={deep['/api/v1/feedback']}"],
        "feedback, sort=occurred, 10th page": [
            f"/api/v1/feedback?sort=occurred&cursor={deep['/api/v1/feedback?sort=occurred']}"
        ],
        "board": ["/"],
        "board, team=T": [f"/?team={t}" for t in teams],
        "board, one stage, page 20": [f"/?stage={s}&page=20" for s in stages],
        "board, persona=P": [f"/?persona={p}" for p in shape["personas"]],
        "board, source=staff": ["/?source=staff"],
    }  # fmt: skip


def _h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _cursor_after_pages(client: httpx.Client, key: str, path: str, pages: int) -> str:
    cursor = ""
    for _ in range(pages):
        sep = "&" if "?" in path else "?"
        resp = client.get(path + (f"{sep}cursor={cursor}" if cursor else ""), headers=_h(key))
        assert resp.status_code == 200, resp.text
        cursor = resp.json()["next_cursor"]
    return cursor


def measure(get: Callable[[str], int], urls: list[str], repeat: int) -> list[float]:
    for url in urls[:3]:
        assert get(url) == 200, url
    runs = []
    for i in range(repeat):
        start = time.perf_counter()
        status = get(urls[i % len(urls)])
        runs.append((time.perf_counter() - start) * 1000)
        assert status == 200
    return runs


def pct(runs: list[float], p: int) -> float:
    return statistics.quantiles(runs, n=100, method="inclusive")[p - 1]


def _serve(url: str, port: int, ready: Any) -> None:
    import uvicorn

    from app.main import create_app

    settings = Settings(database_url=url, inprocess_worker=False, log_level="WARNING")
    app = create_app(settings, make_engine(url))
    ready.set()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def served(url: str) -> Iterator[str]:
    port = free_port()
    ready = mp.get_context("spawn").Event()
    proc = mp.get_context("spawn").Process(target=_serve, args=(url, port, ready), daemon=True)
    proc.start()
    try:
        ready.wait(120)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.join(10)


@contextmanager
def database(args: argparse.Namespace) -> Iterator[Engine]:
    if args.database:
        engine = make_engine(
            make_url(PG_URL).set(database=args.database).render_as_string(hide_password=False)
        )
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with fresh_database("postgres", keep=args.keep) as engine:
        yield engine


def _plain(client: httpx.Client) -> Callable[[str], int]:
    return lambda url: client.get(url).status_code


def baseline(engine: Engine, client: httpx.Client, repeat: int) -> dict[str, list[float]]:
    def select_one() -> float:
        with engine.connect() as conn:
            start = time.perf_counter()
            conn.execute(text("SELECT 1")).scalar()
            return (time.perf_counter() - start) * 1000

    return {
        "baseline: SELECT 1 round trip": [select_one() for _ in range(max(repeat, 20))],
        "baseline: GET /healthz over HTTP": measure(
            lambda u: client.get(u).status_code, ["/healthz"], repeat
        ),
    }


def _row(name: str, runs: list[float]) -> None:
    print(f"| {name} | {pct(runs, 50):.1f} | {pct(runs, 95):.1f} | {pct(runs, 99):.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000_000)
    ap.add_argument("--issues", type=int, default=100_000, help="active issues")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--database", help="time this kept database instead of generating one")
    args = ap.parse_args()
    with database(args) as engine:
        if args.database:
            with Session(engine) as session:
                shape = _shape(journeys.current(session))
        else:
            shape = load_journey(engine)
            start = time.perf_counter()
            generate(engine, shape, args.issues, args.items)
            made = time.perf_counter() - start
            print(f"database {engine.url.database}: {args.items:,} items, {args.issues:,} active issues, "
                  f"made in {made:.0f} s", flush=True)  # fmt: skip
        with engine.connect() as conn:
            items = conn.execute(
                text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'feedback_items'")
            )
            print(f"database {engine.url.database}: about {items.scalar():,} items", flush=True)
        # The board reads persona drops from the scheduled job's snapshot; this is that job's work.
        start = time.perf_counter()
        board_flags.refresh(engine)
        # As the issues.board_counts job does within five minutes of any change (and of the migration).
        with Session(engine) as session:
            board_counts.fold(session)
            session.commit()
        print(f"persona drop snapshot (the insights.board_flags job): {time.perf_counter() - start:.1f} s")
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, inprocess_worker=False)
        with Session(engine) as session:
            _, key = create_key(session, "bench", ["read"])
            session.commit()
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        with served(url) as base, httpx.Client(base_url=base, timeout=120) as client:
            sign_in(client, settings)  # type: ignore[arg-type]
            print("| query shape | p50 ms | p95 ms | p99 ms |\n| --- | ---: | ---: | ---: |")
            for name, runs in baseline(engine, client, args.repeat).items():
                _row(name, runs)
            for name, urls in shapes(shape, client, key).items():
                _row(name, measure(lambda u: client.get(u, headers=_h(key)).status_code, urls, args.repeat))
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
