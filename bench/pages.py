"""Page render times: the board, an issue page and the triage queue on the demo data, then the board
with 10,000 more open issues. Each figure is the median of --repeat requests after one warm-up, signed
in as the CX lead, through the whole app (routing, auth, queries, Jinja), in process.

    .venv/bin/python bench/pages.py [--db sqlite|postgres] [--issues 10000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import timedelta
from pathlib import Path

from _common import ROOT, fresh_database, median
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.settings import Settings
from app.demo.assess import assess_all
from app.demo.data import demo_items
from app.intake import ingest as feedback
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop.models import IssueAccountability
from app.main import create_app
from app.people.service import sign_in_link
from app.routing import model_store as routing

JOURNEY = ROOT / "examples" / "journey.yaml"


def load_demo(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        text = Path(JOURNEY).read_text(encoding="utf-8")
        journeys.apply(session, journeys.parse_text(text), actor="bench", source_text=text)
        routing.train_if_missing(session, journeys.current(session), actor="bench")
        good, _ = feedback.validate_raw(demo_items())
        feedback.ingest(session, journeys.current(session), good, Actor("bench"))
        assess_all(session, journeys.current(session), utcnow())
        session.commit()


def add_open_issues(engine: Engine, n: int) -> None:
    """n open issues spread over the stages, each with priority and due date (some overdue)."""
    now = utcnow()
    with Session(engine) as session:
        stages = [s.key for s in journeys.current(session).stages]
        last = select(ExperienceIssue.id).order_by(ExperienceIssue.id.desc())  # type: ignore[union-attr]
        base = int(session.execute(last).scalar() or 0)
        rows = [
            {
                "id": base + i + 1,
                "title": f"Bench issue {i}",
                "stage": stages[i % len(stages)],
                "fingerprint": f"bench:{i}",
                "open_fingerprint": f"bench:{i}",
                "status": "open",
                "owner": "dana",
                "item_count": i % 50,
                "customer_count": i % 40,
                "detractor_count": i % 7,
                "impact": float(i % 997),
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ]
        session.execute(insert(ExperienceIssue.__table__), rows)  # type: ignore[attr-defined]
        acc = [
            dict(issue_id=r["id"], priority=f"p{1 + i % 4}", impact_score=r["impact"],
                 due_at=now + timedelta(days=(i % 20) - 5), updated_at=now)
            for i, r in enumerate(rows)
        ]  # fmt: skip
        session.execute(insert(IssueAccountability.__table__), acc)  # type: ignore[attr-defined]
        session.commit()


def timed(client: TestClient, path: str, repeat: int) -> float:
    assert client.get(path).status_code == 200, path
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        resp = client.get(path)
        runs.append(time.perf_counter() - start)
        assert resp.status_code == 200
    return median(runs) * 1000


def sign_in(client: TestClient, settings: Settings) -> None:
    link = sign_in_link(settings.secret_key.get_secret_value(), "", "dana", utcnow())
    page = client.get(link).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert csrf and token
    client.post("/sign-in/link", data={"csrf": csrf.group(1), "token": token.group(1)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--issues", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    with fresh_database(args.db) as engine:
        load_demo(engine)
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, inprocess_worker=False)
        with TestClient(create_app(settings, engine)) as client:
            sign_in(client, settings)
            top = re.search(r'data-issue="(\d+)"', client.get("/").text)
            assert top
            figures = [
                ("board, demo data", timed(client, "/", args.repeat)),
                ("issue page (the top P1), demo data", timed(client, f"/issues/{top.group(1)}", args.repeat)),
                ("triage queue, demo data", timed(client, "/triage", args.repeat)),
            ]
            add_open_issues(engine, args.issues)
            figures += [
                (f"board, +{args.issues:,} open issues", timed(client, "/", args.repeat)),
                (f"board filtered by team, +{args.issues:,}", timed(client, "/?team=billing", args.repeat)),
                (f"one stage, page 20, +{args.issues:,}", timed(client, "/?stage=use&page=20", args.repeat)),
            ]
    print(f"| page ({args.db}) | median ms |\n| --- | ---: |")
    for name, ms in figures:
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
