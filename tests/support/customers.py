"""One customer seeded through Seam's real paths, for the export, erasure and retention tests.

Mara writes twice: once through a signed Standard Webhooks survey delivery (processed by the worker),
once through the REST API with an Idempotency-Key. Her first issue is fixed and confirmed; the notice
goes out over real SMTP, and she answers through the link in the email. A second issue of hers is
confirmed but its notice is left queued. Another customer shares her first issue."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.settings import Settings
from app.feedback.models import FeedbackItem
from app.insights.root_causes import RootCauseIn
from app.journey import service as journeys
from app.loop import fixes
from app.loop import service as loop
from integrations import signatures
from tests.support.api import auth
from tests.support.outbox import drain

REF = "cus_mara_4471"
EMAIL = "mara.lindqvist@example.net"
PHRASE = "zebra-striped rainstorm"
OTHER_REF = "cus_olu_8812"
OTHER_EMAIL = "olu.bakare@example.org"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ACTOR = Actor("ravi")


@dataclass(frozen=True)
class Seeded:
    source_id: int
    first_issue: int
    second_issue: int
    notice_token: str


def create_standard_source(client: TestClient, key: str, **extra: Any) -> dict[str, Any]:
    body = {"kind": "standard", "name": "survey tool", "secret": STANDARD_SECRET, **extra}
    resp = client.post("/api/v1/sources", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def deliver_survey(
    client: TestClient,
    source_id: int,
    *,
    external_id: str,
    text: str,
    ref: str,
    email: str,
    msg_id: str,
    expect: int = 202,
) -> None:
    payload = {
        "type": "feedback.created",
        "timestamp": utcnow().isoformat(),
        "data": {
            "external_id": external_id,
            "text": text,
            "score": 1,
            "scale": "csat",
            "customer_ref": ref,
            "customer_email": email,
            "touchpoint": "invoice-email",
            # The survey's hidden field: where the customer may be answered (app.loop.customers reads
            # `email`; the mapped `customer_email` alone does not make them contactable).
            "metadata": {"tool": "hotjar", "page": "/billing/invoices", "email": email},
        },
    }
    body = json.dumps(payload).encode()
    headers = {
        **signatures.sign_standard_webhooks(body, STANDARD_SECRET, msg_id, utcnow()),
        "Content-Type": "application/json",
    }
    resp = client.post(f"/webhooks/{source_id}", content=body, headers=headers)
    assert resp.status_code == expect, resp.text


def post_item(client: TestClient, key: str, body: dict[str, Any], idem: str | None = None) -> dict[str, Any]:
    headers = {**auth(key), **({"Idempotency-Key": idem} if idem else {})}
    resp = client.post("/api/v1/feedback", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def _issue_of(engine: Engine, external_id: str) -> int:
    with Session(engine) as session:
        stmt = select(col(FeedbackItem.issue_id)).where(col(FeedbackItem.external_id) == external_id)
        issue_id = session.execute(stmt).scalar_one()
    assert issue_id is not None
    return int(issue_id)


def confirm_fix(engine: Engine, settings: Settings, issue_id: int) -> None:
    now = utcnow()
    with Session(engine) as session:
        loop.move(session, issue_id, "fixing", None, ACTOR, now - timedelta(minutes=2))
        loop.move(
            session, issue_id, "fix_shipped", "dedupe the invoice run", ACTOR, now - timedelta(minutes=1)
        )
        fixes.confirm(
            session,
            journeys.current(session),
            issue_id,
            "the provider confirmed the fix",
            ACTOR,
            now,
            settings,
            root_cause=RootCauseIn(cause="system"),
        )
        session.commit()


def answer_by_link(client: TestClient, token: str) -> None:
    page = client.get(f"/feedback/fixed/{token}", params={"answer": "no"})
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = client.post(f"/feedback/fixed/{token}", data={"answer": "no", "csrf": csrf.group(1)})
    assert done.status_code == 200, done.text


def seed(client: TestClient, key: str, engine: Engine, settings: Settings, mailbox: Any) -> Seeded:
    """`client` runs with `settings` (real SMTP on loopback); `mailbox` receives what it sends."""
    source = create_standard_source(client, key)
    deliver_survey(
        client,
        source["id"],
        external_id="resp-1",
        text=f"My invoice email arrived soaked, like after a {PHRASE}, and was charged twice",
        ref=REF,
        email=EMAIL,
        msg_id="msg_mara_1",
    )
    deliver_survey(
        client,
        source["id"],
        external_id="resp-2",
        text="Charged twice for my first bill, and the invoice email lists an old address",
        ref=OTHER_REF,
        email=OTHER_EMAIL,
        msg_id="msg_olu_1",
    )
    drain(engine, settings)
    post_item(
        client,
        key,
        {
            "source": "app",
            "external_id": "app-77",
            "text": f"Card update page froze, the {PHRASE} of errors again",
            "score": 2,
            "scale": "nps",
            "touchpoint": "payment-settings",
            "customer_ref": REF,
            "metadata": {"email": EMAIL, "plan": "family"},
        },
        idem="mara-card-1",
    )
    first, second = _issue_of(engine, "resp-1"), _issue_of(engine, "app-77")
    assert first != second and _issue_of(engine, "resp-2") == first
    confirm_fix(engine, settings, first)
    drain(engine, settings)
    (mail,) = mailbox.to(EMAIL)
    text = mail.get_body(("plain",)).get_content()
    link = re.search(r"/feedback/fixed/([^?\s]+)\?answer=no", text)
    assert link is not None, text
    answer_by_link(client, link.group(1))
    confirm_fix(engine, settings, second)  # its notice stays queued: nobody drains the outbox now
    return Seeded(source["id"], first, second, link.group(1))
