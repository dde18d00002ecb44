"""Sync tests: the app (TestClient, or uvicorn on loopback for webhooks) against the vendor stand-ins.

The outbox is driven by `Sync.drain` (`tests.support.outbox.drain`), which runs the real worker round with a
clock that jumps to the next due message instead of sleeping through backoff.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.core.settings import Settings
from app.inbox.models import InboundDelivery
from app.outbox.models import OutboxMessage
from app.sync.models import Contribution
from tests.fakes.fixtures import jira_fake, webhook_receiver, zendesk_fake  # noqa: F401
from tests.fakes.jira import JiraStandIn
from tests.fakes.zendesk import ZendeskStandIn
from tests.support.api import auth
from tests.support.live import serve
from tests.support.outbox import drain, run_round

JIRA_SECRET = "jira-webhook-secret-1"
ZENDESK_SECRET = "zendesk-webhook-secret-1"
# Stage "pay" (touchpoint invoice-email): teams billing, it, support.
PAY_TOUCHPOINT = "invoice-email"


@dataclass
class Sync:
    client: TestClient
    key: str
    engine: Engine
    settings: Settings
    clock: datetime = field(default_factory=utcnow)
    feedback_n: int = 0

    @property
    def h(self) -> dict[str, str]:
        return auth(self.key)

    # --- setup through the public API ------------------------------------------------------

    def jira_integration(self, fake: JiraStandIn, **extra: Any) -> dict[str, Any]:
        body = {
            "name": "jira",
            "vendor": "jira",
            "base_url": fake.base_url,
            "email": fake.email,
            "api_token": fake.api_token,
            "webhook_secret": JIRA_SECRET,
            "options": {"timeout_seconds": 1.0, "search_index_lag_seconds": 0, "reopen_transition": "Reopen"},
            "targets": {"billing": {"project_key": "CX"}, "it": {"project_key": "OPS", "issue_type": "Bug"}},
            **extra,
        }
        resp = self.client.post("/api/v1/integrations", json=body, headers=self.h)
        assert resp.status_code == 201, resp.text
        out: dict[str, Any] = resp.json()
        return out

    def zendesk_integration(self, fake: ZendeskStandIn, **extra: Any) -> dict[str, Any]:
        body = {
            "name": "zendesk",
            "vendor": "zendesk",
            "base_url": fake.base_url,
            "email": fake.email,
            "api_token": fake.api_token,
            "webhook_secret": ZENDESK_SECRET,
            "options": {"timeout_seconds": 1.0},
            **extra,
        }
        resp = self.client.post("/api/v1/integrations", json=body, headers=self.h)
        assert resp.status_code == 201, resp.text
        out: dict[str, Any] = resp.json()
        return out

    def feedback(self, text: str, *, score: int = 1, touchpoint: str = PAY_TOUCHPOINT) -> int:
        self.feedback_n += 1
        body = {
            "source": "survey",
            "external_id": f"s{self.feedback_n}",
            "text": text,
            "score": score,
            "scale": "nps",
            "touchpoint": touchpoint,
            "customer_ref": f"c{self.feedback_n}",
        }
        resp = self.client.post("/api/v1/feedback", json=body, headers=self.h)
        assert resp.status_code == 201, resp.text
        return int(resp.json()["issue_id"])

    def issue(self, n: int = 3) -> int:
        texts = [
            "My first bill charged me twice for the same box",
            "Invoice shows a delivery fee I was never told about",
            "Charged before the trial ended, nobody answers",
            "Bill is wrong again",
        ]
        ids = {self.feedback(texts[i % len(texts)], score=i % 3) for i in range(n)}
        assert len(ids) == 1
        return ids.pop()

    def contribute(self, issue_id: int, team: str, **extra: Any) -> dict[str, Any]:
        resp = self.client.post(
            f"/api/v1/issues/{issue_id}/contributions", json={"team": team, **extra}, headers=self.h
        )
        assert resp.status_code in (200, 201), resp.text
        out: dict[str, Any] = resp.json()
        return out

    def contributions(self, issue_id: int) -> list[dict[str, Any]]:
        resp = self.client.get(f"/api/v1/issues/{issue_id}/contributions", headers=self.h)
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        return items

    def status(self, issue_id: int) -> str:
        return str(self.client.get(f"/api/v1/issues/{issue_id}", headers=self.h).json()["status"])

    def move(self, issue_id: int, to: str, reason: str | None = None) -> None:
        resp = self.client.post(
            f"/api/v1/issues/{issue_id}/transitions", json={"to": to, "reason": reason}, headers=self.h
        )
        assert resp.status_code == 200, resp.text

    # --- the outbox -------------------------------------------------------------------------

    def run_once(self, limit: int = 10) -> int:
        self.clock = max(self.clock, utcnow())  # never behind messages written since
        return run_round(self.engine, self.settings, now=self.clock, limit=limit)

    def drain(self, max_rounds: int = 60) -> None:
        """Deliver until nothing is pending, jumping the clock over backoff waits."""
        self.clock = drain(
            self.engine, self.settings, now=self.clock, skip_backoff=True, max_rounds=max_rounds
        ).now

    def messages(self, kind_prefix: str = "sync.") -> list[OutboxMessage]:
        with Session(self.engine) as s:
            rows = s.execute(
                select(OutboxMessage)
                .where(col(OutboxMessage.kind).startswith(kind_prefix))
                .order_by(col(OutboxMessage.id))
            ).scalars()
            return list(rows)

    def deliveries(self) -> list[InboundDelivery]:
        with Session(self.engine) as s:
            return list(s.execute(select(InboundDelivery).order_by(col(InboundDelivery.id))).scalars())

    def wait_deliveries(self, n: int, timeout: float = 10.0) -> None:
        """Webhooks the stand-ins send on their own (after our transitions) arrive from another thread."""
        deadline = time.monotonic() + timeout
        while len(self.deliveries()) < n:
            assert time.monotonic() < deadline, (
                f"expected {n} webhook deliveries, got {len(self.deliveries())}"
            )
            time.sleep(0.02)

    def contribution_rows(self) -> list[Contribution]:
        with Session(self.engine) as s:
            return list(s.execute(select(Contribution).order_by(col(Contribution.id))).scalars())


@pytest.fixture
def sync(journey_client: TestClient, admin_key: str, engine: Engine) -> Sync:
    return Sync(journey_client, admin_key, engine, journey_client.app.state.settings)  # type: ignore[attr-defined]


@pytest.fixture
def live_url(sync: Sync) -> Iterator[str]:
    """The same app on a real port, so the stand-ins can deliver webhooks to it."""
    with serve(sync.client.app) as url:  # type: ignore[arg-type]
        yield url
