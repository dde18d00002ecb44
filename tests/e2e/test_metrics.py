"""GET /metrics from a real `seam serve`: every family present with the values this test caused.

The server is its own process, so its counters start at zero and the outbox rows this test writes from
another process (as `seam worker` and `seam scheduler` would) must be read from the database to show.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import Engine, update
from sqlmodel import Session

from app.core.clock import utcnow
from app.digests.build import KEY_PREFIX as DIGEST_PREFIX
from app.loop.notify import bundle_key
from app.main import create_app
from app.notify.messages import EMAIL_KIND
from app.outbox import service as outbox
from app.sources.service import PROCESS_KIND
from tests.integration.sources.helpers import SECRETS, payload_bytes, sign
from tests.support.api import auth, example_journey, make_key, settings_for
from tests.support.net import free_port
from tests.support.processes import seam_process

TOKEN = secrets.token_urlsafe(24)
POOL_SIZE = 3


@pytest.fixture
def base(engine: Engine) -> Iterator[str]:
    port = free_port()
    env = {
        "SEAM_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SEAM_METRICS_TOKEN": TOKEN,
        # The test decides what the outbox holds; no worker may deliver it meanwhile.
        "SEAM_INPROCESS_WORKER": "false",
        "SEAM_DB_POOL_SIZE": str(POOL_SIZE),
        "SEAM_LOG_FORMAT": "text",
    }
    with seam_process("serve", "--port", str(port), env=env) as served:
        served.wait_for(lambda line: "Application startup complete" in line)
        yield f"http://127.0.0.1:{port}"


def scrape(http: httpx.Client) -> dict[str, list[Sample]]:
    resp = http.get("/metrics", headers=auth(TOKEN))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(resp.text)}


def value(families: dict[str, list[Sample]], sample: str, **labels: str) -> float:
    """The one sample named `sample` with exactly these labels (0 when the series does not exist)."""
    family = next((name for name in families if sample.startswith(name)), None)
    assert family is not None, f"no family for {sample}: {sorted(families)}"
    found = [s.value for s in families[family] if s.name == sample and s.labels == labels]
    assert len(found) <= 1, (sample, labels)
    return found[0] if found else 0.0


def _queue_outbox(engine: Engine) -> None:
    """What the scheduler and the worker leave behind: a reminder bundle and a digest delivered, two
    emails pending (one queued an hour ago), one dead."""
    keys = {
        "reminder": bundle_key("reminders", "ana", date(2026, 12, 1)),
        "digest": f"{DIGEST_PREFIX}stage:buy:ana:2026-W48",
        "sign-in": "sign-in:abc",
        "old": "check:first:1",
        "dead": "confirm-request:1:x",
    }
    with Session(engine) as session:
        for key in keys.values():
            assert outbox.enqueue(session, EMAIL_KIND, key, {"to_email": "ana@example.com"})
        session.commit()
        now = utcnow()
        claimed = {m.dedupe_key: m for m in outbox.claim(session, "metrics-test", now=now, limit=100)}
        for name in ("reminder", "digest"):
            message = claimed[keys[name]]
            assert message.id is not None
            assert outbox.complete(session, message.id, "metrics-test", now=now)
        dead = claimed[keys["dead"]]
        assert (
            outbox.fail(session, dead, "metrics-test", "550 no such user", now=now, retryable=False) == "dead"
        )
        # Every other message claimed goes back to pending, as a worker's failed attempt would leave it.
        for key, message in claimed.items():
            if key not in (keys["reminder"], keys["digest"], keys["dead"]):
                outbox.fail(session, message, "metrics-test", "try later", now=now, retryable=True)
        c = outbox.OUTBOX.c
        session.execute(
            update(outbox.OUTBOX)
            .where(c.dedupe_key == keys["old"])
            .values(created_at=now - timedelta(hours=1))
        )
        session.commit()


def test_metrics_show_what_this_process_and_the_database_did(engine: Engine, base: str) -> None:
    admin = make_key(engine, ["admin"], "metrics-admin")
    h = auth(admin)
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.put("/api/v1/journey", json=example_journey(), headers=h).status_code == 200
        items = [
            {
                "source": "app",
                "external_id": "a1",
                "text": "The box came late",
                "touchpoint": "delivery-csat",
            },
            {"source": "app", "external_id": "a2", "text": "Late again", "touchpoint": "delivery-csat"},
            {
                "source": "app",
                "external_id": "a3",
                "text": "Love the recipes, great food",
                "touchpoint": "recipe-rating",
                "score": 10,
                "scale": "nps",
            },
            {"source": "app", "external_id": "a4", "text": "zxqv plorb"},
            {
                "source": "app",
                "external_id": "a1",
                "text": "The box came late",
                "touchpoint": "delivery-csat",
            },
            {"source": "app", "external_id": "a5", "text": "fine", "score": "ten"},
        ]
        batch = http.post("/api/v1/feedback/batch", json={"items": items}, headers=h)
        assert batch.status_code == 200, batch.text
        assert (batch.json()["created"], batch.json()["duplicates"], batch.json()["rejected"]) == (4, 1, 1)
        again = http.post("/api/v1/feedback", json=items[0], headers=h)
        assert again.status_code == 200
        issue_id = batch.json()["results"][0]["issue_id"]
        assert http.get(f"/api/v1/issues/{issue_id}?x=1", headers=h).status_code == 422
        assert http.get(f"/api/v1/issues/{issue_id}", headers=h).status_code == 200
        assert http.get(f"/api/v1/no-such/{issue_id}").status_code == 404

        sid = http.post(
            "/api/v1/sources",
            json={"kind": "standard", "name": "hj", "secret": SECRETS["standard"]},
            headers=h,
        ).json()["id"]
        body = payload_bytes("standard_feedback_created.json")
        signed = sign("standard", body, msg_id="msg_metrics")
        assert http.post(f"/webhooks/{sid}", content=body, headers=signed).status_code == 202
        assert http.post(f"/webhooks/{sid}", content=body, headers=signed).status_code == 200
        forged = sign("standard", body, secret="whsec_" + "A" * 32, msg_id="msg_forged")
        assert http.post(f"/webhooks/{sid}", content=body, headers=forged).status_code == 401

        _queue_outbox(engine)
        first = scrape(http)
        second = scrape(http)

    m = first
    assert value(m, "seam_ingest_items_total", result="received") == 6  # the batch's five valid, then one
    assert value(m, "seam_ingest_items_total", result="stored") == 4
    assert value(m, "seam_ingest_items_total", result="duplicate") == 2
    assert value(m, "seam_ingest_items_total", result="rejected") == 1
    placements = {
        o: value(m, "seam_ingest_placements_total", outcome=o)
        for o in ("opened", "joined", "triage", "compliment", "apart")
    }
    assert placements == {"opened": 1, "joined": 1, "triage": 1, "compliment": 1, "apart": 0}

    assert value(m, "seam_webhook_acks_total", receiver="survey", result="accepted") == 1
    assert value(m, "seam_webhook_acks_total", receiver="survey", result="duplicate") == 1
    assert value(m, "seam_webhook_acks_total", receiver="survey", result="refused") == 1

    assert value(m, "seam_outbox_scrape_success", part="waiting") == 1
    assert value(m, "seam_outbox_scrape_success", part="delivered") == 1
    assert value(m, "seam_outbox_messages", kind=EMAIL_KIND, state="pending") == 2
    assert value(m, "seam_outbox_messages", kind=EMAIL_KIND, state="dead") == 1
    assert value(m, "seam_outbox_messages", kind=PROCESS_KIND, state="pending") == 1  # the webhook's
    assert value(m, "seam_outbox_dead_letters", kind=EMAIL_KIND) == 1
    assert value(m, "seam_outbox_delivered_total", kind=EMAIL_KIND) == 2
    assert value(m, "seam_emails_sent_total", purpose="reminders") == 1
    assert value(m, "seam_emails_sent_total", purpose="digests") == 1
    assert value(m, "seam_emails_sent_total", purpose="escalations") == 0
    assert 3600 <= value(m, "seam_outbox_oldest_pending_age_seconds") < 3600 + 120

    assert value(m, "seam_db_pool_size") == 2 * POOL_SIZE  # kept open once opened: no overflow
    assert value(m, "seam_db_pool_overflow") == 0
    assert 0 <= value(m, "seam_db_pool_checked_out") <= 2 * POOL_SIZE

    batch_labels = {"method": "POST", "route": "/api/v1/feedback/batch", "status": "2xx"}
    assert value(m, "seam_http_requests_total", **batch_labels) == 1
    assert value(m, "seam_http_request_duration_seconds_count", **batch_labels) == 1
    issue = {"method": "GET", "route": "/api/v1/issues/{issue_id}"}
    assert value(m, "seam_http_requests_total", **issue, status="2xx") == 1
    assert value(m, "seam_http_requests_total", **issue, status="4xx") == 1
    assert value(m, "seam_http_requests_total", method="GET", route="unmatched", status="4xx") == 1
    routes = {s.labels["route"] for s in m["seam_http_requests"]}
    # Templates only: no segment is an id, and no query string is kept.
    assert not any(segment.isdigit() for r in routes for segment in r.split("/")), routes
    assert not any("?" in r for r in routes), routes
    assert "/webhooks/{source_id}" in routes and "/metrics" not in routes
    # Scraping is not a request the figures count, and the counters only grow.
    assert second["seam_http_requests"] == first["seam_http_requests"]


def test_metrics_need_the_token(engine: Engine, base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        missing = http.get("/metrics")
        wrong = http.get("/metrics", headers=auth(TOKEN[:-1] + ("x" if TOKEN[-1] != "x" else "y")))
        basic = http.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "seam_" not in refused.text


def test_without_a_token_there_is_no_metrics_route(engine: Engine) -> None:
    with TestClient(create_app(settings_for(engine), engine)) as client:
        resp = client.get("/metrics", headers=auth(TOKEN))
    assert resp.status_code == 404
    assert "seam_" not in resp.text
