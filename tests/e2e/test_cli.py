"""The `seam` command, run as a real process against a SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.db import make_engine
from app.main import create_app
from tests.support.api import EXAMPLE_JOURNEY, auth, settings_for


def seam(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEAM_DATABASE_URL": f"sqlite:///{db}"}
    proc = subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    seam(path, "db", "upgrade")
    return path


def test_every_command_has_help(tmp_path: Path) -> None:
    for cmd in (
        ["db", "upgrade"],
        ["journey", "apply"],
        ["keys", "create"],
        ["import", "feedback"],
        ["metrics", "import"],
        ["serve"],
        ["demo"],
        ["worker"],
        ["jobs", "list"],
        ["jobs", "run"],
    ):
        out = seam(tmp_path / "x.db", *cmd, "--help").stdout
        assert "Usage:" in out and "--help" in out


def test_key_is_alone_on_the_last_line_and_works(db: Path) -> None:
    out = seam(db, "keys", "create", "--name", "typeform", "--scopes", "ingest,read").stdout
    key = out.strip().splitlines()[-1]
    assert key.startswith("seam_") and " " not in key
    engine = make_engine(f"sqlite:///{db}")
    with TestClient(create_app(settings_for(engine), engine)) as client:
        assert client.get("/api/v1/feedback", headers=auth(key)).status_code == 200
        assert client.put("/api/v1/journey", json={}, headers=auth(key)).status_code == 403
    bad = seam(db, "keys", "create", "--name", "x", "--scopes", "root", check=False)
    assert bad.returncode == 2 and "choose from" in bad.stderr


def test_journey_apply_lists_problems_and_stores_nothing(db: Path, tmp_path: Path) -> None:
    text = EXAMPLE_JOURNEY.read_text().replace("owner: kim\n", "owner: kimberly\n", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    proc = seam(db, "journey", "apply", str(bad), check=False)
    assert proc.returncode == 1
    assert "stages[2].owner: unknown person 'kimberly'" in proc.stderr
    ok = seam(db, "journey", "apply", str(EXAMPLE_JOURNEY))
    assert "applied as version 1" in ok.stderr


def test_csv_import_is_idempotent_and_reports_bad_lines(db: Path, tmp_path: Path) -> None:
    seam(db, "journey", "apply", str(EXAMPLE_JOURNEY))
    csv = tmp_path / "feedback.csv"
    csv.write_text(
        "source,external_id,text,score,scale,touchpoint,customer_ref,meta.order\n"
        "csv,1,Late box,3,nps,first-box-nps,c1,A-1\n"
        'csv,2,"Multi\nline comment",4,csat,delivery-csat,c2,A-2\n'
        "csv,3,Score off the scale,12,nps,first-box-nps,c3,A-3\n"
        "csv,4,,,,,,\n"
        "csv,5,No touchpoint here,,,,c5,\n"
    )
    first = seam(db, "import", "feedback", str(csv), check=False)
    assert first.returncode == 3
    assert "created 3, duplicates 0, rejected 2" in first.stdout
    assert "line 5: rejected" in first.stderr and "line 6: rejected" in first.stderr
    again = seam(db, "import", "feedback", str(csv), check=False)
    assert "created 0, duplicates 3, rejected 2" in again.stdout
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT external_id, state, extra FROM feedback_items ORDER BY id").all()
    assert [(r[0], r[1]) for r in rows] == [("1", "placed"), ("2", "placed"), ("5", "triage")]
    assert '"order": "A-1"' in rows[0][2]


def test_demo_loads_issues_without_duplicating(db: Path) -> None:
    first = seam(db, "demo", "--no-serve")
    key = first.stdout.strip().splitlines()[-1]
    assert key.startswith("seam_") and "http://127.0.0.1:8000" in first.stdout
    second = seam(db, "demo", "--no-serve")
    assert "0 new items" in second.stderr
    engine = make_engine(f"sqlite:///{db}")
    with TestClient(create_app(settings_for(engine), engine)) as client:
        issues = client.get("/api/v1/issues", params={"limit": 200}, headers=auth(key)).json()["items"]
        assert len(issues) >= 10
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/feedback", params=params, headers=auth(key)).json()
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        triage = [i for i in items if i["state"] == "triage"]
        # Praise is placed on its stage but joins no issue.
        compliments = [i for i in items if i["state"] == "placed" and i["issue_id"] is None]
        # (and a staff check that found the experience as it should be is set apart too, not a compliment)
        methods = {i["placement"]["grouping"]["method"] for i in compliments}
        assert methods == {"compliment", "check_passed"}, methods
        passed = [i for i in compliments if i["placement"]["grouping"]["method"] == "check_passed"]
        assert passed and all(i["source"] == "staff" for i in passed)
        # 360 demo items, 492 persona NPS scores over six months, 6 recorded experience checks.
        assert len(items) == 360 + 492 + 6
        # Groups still gathering evidence hold the rest.
        emerging = client.get(
            "/api/v1/issues", params={"limit": 200, "status": "emerging"}, headers=auth(key)
        ).json()["items"]
        grouped = sum(i["item_count"] for i in issues + emerging)
        assert grouped + len(triage) + len(compliments) == len(items)


def test_serve_on_postgres_refuses_the_development_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SEAM_SECRET_KEY"}
    env["SEAM_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/never-reached"
    proc = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "SEAM_SECRET_KEY" in proc.stderr


def test_demo_on_sqlite_runs_without_a_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SEAM_SECRET_KEY"}
    env["SEAM_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    proc = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "new items" in proc.stderr


def test_jobs_list_and_run_once_per_tick(db: Path) -> None:
    from app import wiring

    listed = seam(db, "jobs", "list").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == [j.name for j in wiring.JOBS]
    assert "loop.reminders\tevery 15m" in listed
    first = seam(db, "jobs", "run", "loop.reminders", "--now", "2026-12-10T10:00:00Z")
    assert "ran" in first.stderr
    again = seam(db, "jobs", "run", "loop.reminders", "--now", "2026-12-10T10:05:00Z", check=False)
    assert again.returncode == 3 and "already ran" in again.stderr
    unknown = seam(db, "jobs", "run", "no.such.job", check=False)
    assert unknown.returncode == 2 and "loop.reminders" in unknown.stderr
