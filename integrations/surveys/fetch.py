"""Follow-up fetches for thin deliveries (SurveyMonkey, Qualtrics), over a caller-owned httpx client.

The caller owns the client (base URL, timeouts, connection pool), so one worker process reuses
connections and tests can point it at a loopback server. Failures become :class:`FetchError`
with ``retryable`` set the way the outbox worker needs it: 429/5xx/transport errors retry
(honouring ``Retry-After``), other statuses do not.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from integrations.http import parse_retry_after

from .base import FetchError

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def path_segment(value: str) -> str:
    # Ids come from the delivery body: quote them so "../" or "?" cannot change the request.
    return quote(value, safe="")


async def get_json(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], params: dict[str, str] | None = None
) -> dict[str, Any]:
    try:
        response = await client.get(url, headers=headers, params=params)
    except httpx.TransportError as exc:
        raise FetchError(f"GET {url}: {type(exc).__name__}", retryable=True) from None
    if response.status_code >= 400:
        raise FetchError(
            f"GET {url}: HTTP {response.status_code}",
            retryable=response.status_code in RETRYABLE_STATUSES,
            status=response.status_code,
            retry_after=parse_retry_after(response.headers),
        )
    try:
        data = response.json()
    except ValueError:
        raise FetchError(
            f"GET {url}: response is not JSON", retryable=False, status=response.status_code
        ) from None
    if not isinstance(data, dict):
        raise FetchError(f"GET {url}: expected a JSON object", retryable=False, status=response.status_code)
    return data
