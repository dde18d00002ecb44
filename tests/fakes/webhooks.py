"""Sign and send webhooks the way the vendors do (contracts.md §A, §B, §C).

Written independently of `integrations.*.webhook` on purpose: a test that signed with the adapter's own
code would pass even if both got the scheme wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx


def _raw(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def jira_signed(
    payload: Any, secret: str, delivery_id: str | None = None, retry: int = 0
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a Jira admin-webhook delivery: `X-Hub-Signature: sha256=<hex>` of the body."""
    body = _raw(payload)
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature": f"sha256={signature}",
        "X-Atlassian-Webhook-Identifier": delivery_id or str(uuid.uuid4()),
        "X-Atlassian-Webhook-Retry": str(retry),
        "X-Atlassian-Webhook-Flow": "Primary",
    }
    return headers, body


def zendesk_signed(
    payload: Any, secret: str, timestamp: datetime | str | None = None, webhook_id: str = "01GZ7WEBHOOK"
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a Zendesk delivery: base64(HMAC-SHA256(secret, timestamp + body))."""
    body = _raw(payload)
    if timestamp is None:
        timestamp = datetime.now(UTC)
    stamp = (
        timestamp if isinstance(timestamp, str) else timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Id": webhook_id,
        "X-Zendesk-Webhook-Invocation-Id": str(uuid.uuid4().int)[:12],
    }
    return headers, body


def deliver(url: str, headers: dict[str, str], body: bytes, timeout: float = 5.0) -> httpx.Response:
    """POST a signed delivery from the caller's thread (the receiver must run elsewhere)."""
    with httpx.Client(timeout=timeout) as client:
        return client.post(url, content=body, headers=headers)
