"""What an erasure, an export and a retention run cost at scale, on PostgreSQL.

The server makes the data (generate_series): `--items` feedback items of many customers, half as many
outbox messages (emails with an address), a quarter as many issue events, raw deliveries and stored
responses. One customer has five items, deliveries, emails and a stored response among them. Timed,
each against a baseline in the same run:

- export and erasure of that customer, against one server-side substring search for an absent string
  in every column the map in app/privacy/holdings.py searches (what any search inside the values must
  at least cost);
- the retention job over the oldest tenth of the items, against one plain UPDATE blanking the same
  rows' text.

    .venv/bin/python bench/privacy.py [--items 200000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import time

from _common import fresh_database
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.settings import Settings
from app.privacy import erase, export
from app.privacy.holdings import HOLDINGS
from app.privacy.retention import retention_job
from app.scheduler.registry import JobRun, SchedulerConfig
from app.wiring import start_process

REF = "cus_bench_target"


def generate(engine: Engine, n: int) -> None:
    target = f"g % {n // 5} = 0"
    statements = [
        """INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_at)
            VALUES (1, 'bench', 'seam_bench00', 'x', '["ingest"]', now())""",
        """INSERT INTO experience_issues (id, title, stage, fingerprint, open_fingerprint, status, owner,
                item_count, customer_count, detractor_count, impact, answers_yes, answers_no, created_at,
                updated_at)
            VALUES (1, 'Pay: First bill', 'pay', 'bench', 'bench', 'open', 'ravi', 0, 0, 0, 0, 0, 0, now(),
                now())""",
        f"""INSERT INTO feedback_items (source, external_id, text, score, scale, customer_ref, occurred_at,
                received_at, extra, state, stage, issue_id, placement, staff)
            SELECT 'survey', g::text, 'bench feedback about invoice ' || g, (g % 11)::float8, 'nps',
                CASE WHEN {target} THEN '{REF}' ELSE 'c' || (g % 50000) END, t, t,
                jsonb_build_object('email', CASE WHEN {target} THEN '{REF}@example.net'
                    ELSE 'c' || (g % 50000) || '@example.org' END),
                CASE WHEN {target} THEN 'placed' ELSE 'triage' END, CASE WHEN {target} THEN 'pay' END,
                CASE WHEN {target} THEN 1 END, '{{}}', false
            FROM (SELECT g, now() - (g::float8 / {n}) * interval '400 days' AS t
                  FROM generate_series(1, {n}) g) s""",
        f"""INSERT INTO outbox_messages (kind, dedupe_key, payload, state, attempts, max_attempts,
                available_at, created_at, updated_at)
            SELECT 'email', 'bench:' || g, jsonb_build_object('to_email',
                CASE WHEN g % {n // 10} = 0 THEN '{REF}@example.net' ELSE 'c' || g || '@example.org' END,
                'subject', 'We fixed it', 'text', 'Hello, did the fix work for you? ' || g),
                'done', 1, 8, now(), now(), now()
            FROM generate_series(1, {n // 2}) g""",
        f"""INSERT INTO issue_events (issue_id, kind, actor, at, before, after)
            SELECT 1, 'trigger_fired', 'system', now(), '{{}}', jsonb_build_object('customer_ref', 'c' || g)
            FROM generate_series(1, {n // 4}) g""",
        f"""INSERT INTO inbound_deliveries (channel, delivery_id, received_at, content_type, headers, body,
                state, attempts)
            SELECT 'source:1', 'd' || g, now(), 'application/json', '{{}}',
                convert_to('{{"data": {{"customer_ref": "' ||
                    CASE WHEN g % {n // 20} = 0 THEN '{REF}' ELSE 'c' || g END ||
                    '", "text": "bench delivery ' || g || '"}}}}', 'UTF8'), 'processed', 1
            FROM generate_series(1, {n // 4}) g""",
        f"""INSERT INTO idempotency_records (api_key_id, idem_key, request_hash, status_code, response_body,
                created_at)
            SELECT 1, 'k' || g, 'h', 201, jsonb_build_object('customer_ref',
                CASE WHEN g = 1 THEN '{REF}' ELSE 'c' || g END), now()
            FROM generate_series(1, {n // 4}) g""",
    ]
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))
        for table in ("experience_issues", "api_keys"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def search_once(engine: Engine) -> None:
    """One server-side substring search for an absent string in every column the map searches."""
    with engine.connect() as conn:
        for h in HOLDINGS:
            column = f"{h.table.name}.{h.column}"
            if h.column == "body":
                where = f"position('\\x7a7a7a'::bytea in {column}) > 0"
            else:
                where = f"lower({column}::text) LIKE '%zzz-nobody%'"
            conn.execute(text(f"SELECT count(*) FROM {h.table.name} WHERE {where}")).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    with fresh_database("postgres", keep=args.keep) as engine:
        settings = Settings(database_url=engine.url.render_as_string(hide_password=False), retention_days=360)
        start_process(settings, engine)
        generate(engine, args.items)
        secret = settings.secret_key.get_secret_value()
        baseline = min(timed(lambda: search_once(engine)) for _ in range(3))

        def run_export() -> None:
            with Session(engine) as s:
                assert export.counts(export.export(s, REF)) > 0

        t_export = min(timed(run_export) for _ in range(3))
        report: list[int] = []

        def run_erase() -> None:
            with Session(engine) as s:
                report.append(erase.erase(s, REF, secret, "bench").found)
                s.commit()

        t_erase = timed(run_erase)
        t_again = timed(run_erase)
        assert report[0] > 0 and report[1] == 0

        old = "received_at < now() - interval '360 days'"
        with engine.connect() as conn:
            n_old = conn.execute(text(f"SELECT count(*) FROM feedback_items WHERE {old}")).scalar_one()
        with engine.begin() as conn:  # the baseline blanks the same rows, then puts them back
            t_update = timed(lambda: conn.execute(text(f"UPDATE feedback_items SET text = NULL WHERE {old}")))
            conn.rollback()
        run = JobRun(engine=engine, settings=settings, config=SchedulerConfig(), now=utcnow())
        t_retention = timed(lambda: retention_job(run))

        print(f"items {args.items}; baseline: one search of every searched column {baseline:.3f} s")
        print(f"export of one customer          {t_export:.3f} s  {t_export / baseline:.2f} x baseline")
        print(f"erasure ({report[0]} rows)          {t_erase:.3f} s  {t_erase / baseline:.2f} x baseline")
        print(f"second erasure (0 rows)         {t_again:.3f} s  {t_again / baseline:.2f} x baseline")
        print(
            f"retention, {n_old} items: job {t_retention:.3f} s; plain UPDATE {t_update:.3f} s; "
            f"{t_retention / t_update:.2f} x"
        )
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
