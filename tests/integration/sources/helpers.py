"""Shared by the source tests: sign as each vendor signs, post through the public API, run the worker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.feedback.models import FeedbackItem
from app.inbox.models import InboundDelivery
from app.outbox.models import OutboxMessage
from integrations import signatures
from tests.support.api import auth
from tests.unit.surveys._support import LoopbackServer, example_bytes, load, payload_bytes

__all__ = ["LoopbackServer", "example_bytes", "load", "payload_bytes"]

TYPEFORM_SECRET = "tf_webhook_secret_7f3a"
SM_CLIENT_ID, SM_CLIENT_SECRET = "sm_client_Yq8", "sm_secret_4hv2"
DELIGHTED_KEY = "dl_private_api_key_9c2e"
ZENDESK_SECRET = "dGhpc19pc19hX3plbmRlc2tfc2lnbmluZ19zZWNyZXQ="
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
QUALTRICS_TOKEN = "q-url-token-Jd93kLw0-abcdefgh"
SM_API_TOKEN = "sm-access-token-5521"
QUALTRICS_API_TOKEN = "q-api-token-8813"
ALL_SECRETS = (
    TYPEFORM_SECRET,
    SM_CLIENT_SECRET,
    DELIGHTED_KEY,
    ZENDESK_SECRET,
    STANDARD_SECRET,
    STANDARD_SECRET.removeprefix("whsec_"),
    QUALTRICS_TOKEN,
    SM_API_TOKEN,
    QUALTRICS_API_TOKEN,
)
SECRETS = {
    "typeform": TYPEFORM_SECRET,
    "surveymonkey": f"{SM_CLIENT_ID}&{SM_CLIENT_SECRET}",
    "delighted": DELIGHTED_KEY,
    "zendesk": ZENDESK_SECRET,
    "standard": STANDARD_SECRET,
    "qualtrics": QUALTRICS_TOKEN,
}
SM_DETAILS_PATH = "/v3/surveys/123456789/responses/123456/details?simple=true"
QUALTRICS_PATH = "/API/v3/surveys/SV_cMdTnBaLbRvV4gu/responses/R_1FqBxZvXr4E9sXa"


def now() -> datetime:
    return datetime.now(UTC)


def sign(
    kind: str, body: bytes, *, secret: str | None = None, at: datetime | None = None, msg_id: str = "msg_1"
) -> dict[str, str]:
    """The headers the vendor would send with ``body``."""
    secret = secret or SECRETS[kind]
    at = at or now()
    if kind == "typeform":
        return {**signatures.sign_typeform(body, secret), "Content-Type": "application/json"}
    if kind == "surveymonkey":
        client_id, _, client_secret = secret.partition("&")
        return {
            **signatures.sign_surveymonkey(body, client_id, client_secret),
            "Content-Type": "application/vnd.surveymonkey.response.v1+json",
        }
    if kind == "delighted":
        return {**signatures.sign_delighted(body, secret), "Content-Type": "application/json"}
    if kind == "zendesk":
        return {
            **signatures.sign_zendesk(body, secret, at),
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Invocation-Id": f"inv-{msg_id}",
        }
    if kind == "standard":
        return {
            **signatures.sign_standard_webhooks(body, secret, msg_id, at),
            "Content-Type": "application/json",
        }
    if kind == "qualtrics":
        return {"Content-Type": "application/x-www-form-urlencoded"}
    raise AssertionError(kind)


def create_source(client: TestClient, key: str, kind: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "name": f"{kind} source", "secret": SECRETS[kind], **extra}
    resp = client.post("/api/v1/sources", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def deliver(
    client: TestClient,
    source: dict[str, Any],
    body: bytes,
    headers: dict[str, str] | None = None,
    **sign_kw: Any,
) -> Response:
    kind = source["kind"]
    path = f"/webhooks/{source['id']}"
    if kind == "qualtrics":
        path += f"/{sign_kw.pop('token', QUALTRICS_TOKEN)}"
    if headers is None:
        headers = sign(kind, body, **sign_kw)
    return client.post(path, content=body, headers=headers)


def count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def counts(engine: Engine) -> tuple[int, int, int]:
    """(stored deliveries, outbox messages, feedback items)."""
    return count(engine, InboundDelivery), count(engine, OutboxMessage), count(engine, FeedbackItem)


def items(client: TestClient, key: str, **params: Any) -> list[dict[str, Any]]:
    resp = client.get("/api/v1/feedback", params=params, headers=auth(key))
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["items"]
    return found


def deliveries(engine: Engine) -> list[InboundDelivery]:
    with Session(engine) as s:
        return list(s.execute(select(InboundDelivery).order_by(InboundDelivery.id)).scalars())  # type: ignore[arg-type]
