"""A leaked or forgotten key: it can be listed (with its last use), revoked, rotated and expire, and
every change is on the audit trail. Before: keys could be neither listed nor revoked, and every demo
start added another admin key."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from app.auth.models import ApiKey
from app.core.clock import utcnow
from tests.support.api import auth, make_key


def _listed(client: TestClient, admin: str) -> dict[str, dict]:
    resp = client.get("/api/v1/keys", headers=auth(admin))
    assert resp.status_code == 200, resp.text
    return {k["name"]: k for k in resp.json()["items"]}


def test_keys_are_listed_with_last_use_and_never_their_secret(client: TestClient, admin_key: str) -> None:
    client.get("/api/v1/issues", headers=auth(admin_key))
    resp = client.get("/api/v1/keys", headers=auth(admin_key))
    assert admin_key not in resp.text and admin_key[12:] not in resp.text
    # The use is recorded off the request's path, within moments.
    deadline = time.monotonic() + 5
    mine = _listed(client, admin_key)["test-admin"]
    while mine["last_used_at"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
        mine = _listed(client, admin_key)["test-admin"]
    assert mine["prefix"] == admin_key[:12]
    assert mine["last_used_at"] is not None
    assert mine["scopes"] == ["admin"] and mine["revoked_at"] is None and "key_hash" not in mine


def test_only_admins_see_keys(client: TestClient, engine: Engine) -> None:
    manage = make_key(engine, ["manage"])
    assert client.get("/api/v1/keys", headers=auth(manage)).status_code == 403


def test_a_revoked_key_stops_working_at_once(client: TestClient, admin_key: str, engine: Engine) -> None:
    leaked = make_key(engine, ["read"], "leaked")
    assert client.get("/api/v1/issues", headers=auth(leaked)).status_code == 200
    key_id = _listed(client, admin_key)["leaked"]["id"]
    resp = client.post(f"/api/v1/keys/{key_id}/revoke", headers=auth(admin_key))
    assert resp.status_code == 200 and resp.json()["revoked_at"]
    assert client.get("/api/v1/issues", headers=auth(leaked)).status_code == 401
    events = client.get(f"/api/v1/keys/{key_id}", headers=auth(admin_key)).json()["events"]
    assert [e["action"] for e in events] == ["created", "revoked"]
    assert events[-1]["actor"] == "key:test-admin"


def test_rotation_gives_a_new_key_and_ends_the_old_one(
    client: TestClient, admin_key: str, engine: Engine
) -> None:
    old = make_key(engine, ["ingest"], "survey-tool")
    key_id = _listed(client, admin_key)["survey-tool"]["id"]
    resp = client.post(f"/api/v1/keys/{key_id}/rotate", headers=auth(admin_key))
    assert resp.status_code == 201, resp.text
    new = resp.json()["key"]
    assert resp.json()["scopes"] == ["ingest"] and new.startswith("seam_")
    body = {"source": "survey", "text": "late box"}
    assert client.post("/api/v1/feedback", json=body, headers=auth(new)).status_code == 201
    assert client.post("/api/v1/feedback", json=body, headers=auth(old)).status_code == 401


def test_an_expired_key_is_refused(client: TestClient, admin_key: str, engine: Engine) -> None:
    resp = client.post(
        "/api/v1/keys",
        json={"name": "temp", "scopes": ["read"], "expires_in_days": 1},
        headers=auth(admin_key),
    )
    assert resp.status_code == 201, resp.text
    temp = resp.json()["key"]
    assert client.get("/api/v1/issues", headers=auth(temp)).status_code == 200
    with Session(engine) as session:
        row = session.get(ApiKey, resp.json()["id"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert client.get("/api/v1/issues", headers=auth(temp)).status_code == 401


def _seam(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEAM_DATABASE_URL": url}
    if url.startswith("sqlite"):
        # The laptop demo on SQLite needs no SEAM_SECRET_KEY.
        env.pop("SEAM_SECRET_KEY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_the_demo_reuses_its_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = _seam(url, tmp_path, "demo", "--no-serve")
    second = _seam(url, tmp_path, "demo", "--no-serve")
    key_of = [out.stdout.strip().splitlines()[-1] for out in (first, second)]
    assert key_of[0] == key_of[1] and key_of[0].startswith("seam_")
    engine = create_engine(url)
    with engine.connect() as conn:
        live = conn.execute(text("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL")).scalar()
    engine.dispose()
    assert live == 1


def test_cli_lists_revokes_and_rotates(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    token = make_key(engine, ["read"], "cli-key")
    listed = _seam(url, tmp_path, "keys", "list")
    assert "cli-key" in listed.stdout and token[:12] in listed.stdout
    assert token[12:] not in listed.stdout + listed.stderr
    rotated = _seam(url, tmp_path, "keys", "rotate", token[:12])
    new = rotated.stdout.strip().splitlines()[-1]
    assert new.startswith("seam_") and new != token
    _seam(url, tmp_path, "keys", "revoke", new[:12])
    with engine.connect() as conn:
        live = conn.execute(text("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL")).scalar()
        actions = conn.execute(text("SELECT action FROM api_key_events ORDER BY id")).scalars().all()
    assert live == 0
    assert actions == ["created", "rotated", "created", "revoked"]
