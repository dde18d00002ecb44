"""Close-the-loop endpoints through the public API: acknowledge, snooze, confirm, the digest preview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.e2e.test_cli import seam
from tests.support.api import EXAMPLE_JOURNEY, auth, make_key


def _issue(client: TestClient, key: str) -> int:
    body = {
        "source": "survey",
        "external_id": "bill-1",
        "text": "Charged twice <b>on</b> my first bill",
        "score": 2,
        "scale": "nps",
        "touchpoint": "invoice-email",
        "customer_ref": "cust-1",
    }
    resp = client.post("/api/v1/feedback", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    issue_id: int = resp.json()["issue_id"]
    return issue_id


def _events(client: TestClient, key: str, issue_id: int) -> list[dict[str, object]]:
    resp = client.get(f"/api/v1/issues/{issue_id}/events", headers=auth(key))
    assert resp.status_code == 200
    items: list[dict[str, object]] = resp.json()["items"]
    return items


def test_acknowledge_snooze_confirm(journey_client: TestClient, admin_key: str, engine: Engine) -> None:
    client, h = journey_client, auth(admin_key)
    issue_id = _issue(client, admin_key)
    reader = make_key(engine, ["read"], "reader")

    assert client.post(f"/api/v1/issues/{issue_id}/acknowledge", headers=auth(reader)).status_code == 403
    assert client.post("/api/v1/issues/999999/acknowledge", headers=h).status_code == 404
    resp = client.post(f"/api/v1/issues/{issue_id}/acknowledge", headers=h)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "acknowledged"

    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    bad = client.post(f"/api/v1/issues/{issue_id}/snooze", json={"reason": "x", "until": past}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "until"
    missing = client.post(f"/api/v1/issues/{issue_id}/snooze", json={"until": later}, headers=h)
    assert missing.status_code == 422
    ok = client.post(
        f"/api/v1/issues/{issue_id}/snooze",
        json={"reason": "vendor fix lands Friday", "until": later},
        headers=h,
    )
    assert ok.status_code == 200, ok.text
    state = client.get(f"/api/v1/issues/{issue_id}/accountability", headers=auth(reader))
    assert state.status_code == 200, state.text
    assert state.json()["snooze_reason"] == "vendor fix lands Friday"
    assert state.json()["acknowledged_at"] is not None and state.json()["reminders_sent"] == 0
    kinds = [e["kind"] for e in _events(client, admin_key, issue_id)]
    assert "acknowledged" in kinds and "snoozed" in kinds

    # Only a shipped fix can be confirmed; before its window ended, only with a reason.
    assert client.post(f"/api/v1/issues/{issue_id}/confirm", headers=h).status_code == 409
    for to in ("fixing", "fix_shipped"):
        resp = client.post(
            f"/api/v1/issues/{issue_id}/transitions", json={"to": to, "reason": "r"}, headers=h
        )
        assert resp.status_code == 200, resp.text
    no_reason = client.post(f"/api/v1/issues/{issue_id}/confirm", json={}, headers=h)
    assert no_reason.status_code == 409
    assert no_reason.json()["errors"][0]["field"] == "reason"
    early = client.post(
        f"/api/v1/issues/{issue_id}/confirm",
        json={"reason": "checked with the billing run", "root_cause": {"cause": "system"}},
        headers=h,
    )
    assert early.status_code == 200, early.text
    assert early.json()["status"] == "confirmed"
    confirmation = [e for e in _events(client, admin_key, issue_id) if e["kind"] == "confirmation"]
    assert len(confirmation) == 1
    assert "checked with the billing run" in str(confirmation[0]["reason"])
    assert confirmation[0]["after"]["early"] is True  # type: ignore[index]
    # Once confirmed, there is nothing left to acknowledge or snooze.
    assert client.post(f"/api/v1/issues/{issue_id}/acknowledge", headers=h).status_code == 409


def test_digest_preview(journey_client: TestClient, admin_key: str) -> None:
    client, h = journey_client, auth(admin_key)
    _issue(client, admin_key)
    resp = client.get("/api/v1/digests/preview", params={"to": "ravi.menon@boxwise.example"}, headers=h)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert "Hello Ravi Menon" in resp.text and "<script" not in resp.text
    assert "Charged twice &lt;b&gt;on&lt;/b&gt;" in resp.text or 'id="open"' in resp.text
    lead = client.get(
        "/api/v1/digests/preview",
        params={"to": "dana.okafor@boxwise.example", "kind": "leadership"},
        headers=h,
    )
    assert lead.status_code == 200 and "Boxwise subscription journey" in lead.text
    nobody = client.get("/api/v1/digests/preview", params={"to": "nobody@example.org"}, headers=h)
    assert nobody.status_code == 404


def test_cli_digest_preview_and_scheduler_help(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    seam(db, "db", "upgrade")
    seam(db, "journey", "apply", str(EXAMPLE_JOURNEY))
    out = tmp_path / "digest.html"
    proc = seam(
        db,
        "digest",
        "preview",
        "--to",
        "dana.okafor@boxwise.example",
        "--kind",
        "leadership",
        "--out",
        str(out),
    )
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Hello Dana Okafor" in html and "<script" not in html
    assert "scorecard" in proc.stderr
    missing = seam(db, "digest", "preview", "--to", "nobody@example.org", "--out", str(out), check=False)
    assert missing.returncode == 1
    assert "once per cluster" in seam(db, "scheduler", "--help").stdout
