"""Counts stay exact when many requests land on one issue at once (PostgreSQL: real parallel transactions)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from app.main import create_app
from tests.support.api import auth, example_journey, make_key, settings_for
from tests.support.live import serve


def _run_concurrently(engine: Engine, bodies: list[dict]) -> tuple[str, list[httpx.Response]]:
    key = make_key(engine, ["admin"])
    app = create_app(settings_for(engine), engine)
    with serve(app) as base, httpx.Client(base_url=base, headers=auth(key), timeout=60) as http:
        assert http.put("/api/v1/journey", json=example_journey()).status_code == 200
        with ThreadPoolExecutor(max_workers=25) as pool:
            responses = list(pool.map(lambda b: http.post("/api/v1/feedback", json=b), bodies))
        return key, responses


def _body(n: int, customer: str) -> dict:
    return {
        "source": "survey",
        "external_id": f"r-{n}",
        "text": "Box arrived late",
        "score": n % 11,
        "scale": "nps",
        "touchpoint": "first-box-nps",
        "customer_ref": customer,
        "occurred_at": f"2026-10-{(n % 28) + 1:02d}T12:00:00Z",
    }


def test_fifty_concurrent_posts_leave_counts_exact(pg_engine: Engine) -> None:
    bodies = [_body(n, f"cust-{n % 17}") for n in range(50)]
    _, responses = _run_concurrently(pg_engine, bodies)
    assert [r.status_code for r in responses] == [201] * 50, {
        r.text for r in responses if r.status_code != 201
    }
    issue_ids = {r.json()["issue_id"] for r in responses}
    assert len(issue_ids) == 1  # the first items raced to open it; exactly one issue exists
    with pg_engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT item_count, customer_count, detractor_count, first_seen::date, last_seen::date "
            "FROM experience_issues"
        ).one()
    detractors = sum(1 for b in bodies if b["score"] <= 6)
    assert tuple(row)[:3] == (50, 17, detractors)
    assert str(row[3]) == "2026-10-01" and str(row[4]) == "2026-10-28"


def test_concurrent_duplicates_store_one_item(pg_engine: Engine) -> None:
    bodies = [_body(7, "cust-1") for _ in range(30)]
    _, responses = _run_concurrently(pg_engine, bodies)
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1 and codes.count(200) == 29
    assert len({r.json()["id"] for r in responses}) == 1
    with pg_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM feedback_items").scalar() == 1
        assert conn.exec_driver_sql("SELECT item_count FROM experience_issues").scalar() == 1
