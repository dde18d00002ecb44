"""One way to talk HTTP to a vendor: client factory, shared config, response -> error (the base-URL
guard and the pinned connection are `integrations.url_guard`).

Every adapter builds its client here so timeouts, the user agent, redirect policy and the error
mapping are the same everywhere, and so credentials live only inside `SecretBasicAuth`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Generator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from integrations.base import PermanentError, RetryableError, UnsafeURLError
from integrations.url_guard import check_base_url, pinned_transport

logger = logging.getLogger("integrations.http")

USER_AGENT = "seam-integrations/0.1"
_MAX_MESSAGE = 500
# 409: Jira "conflicting update" and Zendesk stale safe_update both succeed on a fresh attempt.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})


# --- config and client --------------------------------------------------------------------------


class ClientConfig(BaseModel):
    """Connection settings shared by every tracker config. `api_token` is a SecretStr so it is masked
    in str/repr/model_dump and only unwrapped inside `SecretBasicAuth`."""

    # Validation errors would otherwise echo the raw input, token included.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    # Declared before base_url so the base_url validator can read it.
    allow_private_network: bool = False
    base_url: str
    email: str = Field(min_length=3)
    api_token: SecretStr
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("base_url")
    @classmethod
    def _safe_base_url(cls, value: str, info: ValidationInfo) -> str:
        return check_base_url(value, bool(info.data.get("allow_private_network", False)))


class SecretBasicAuth(httpx.Auth):
    """Basic auth that holds the token as a SecretStr and builds the header per request."""

    def __init__(self, username: str, password: SecretStr) -> None:
        self._username = username
        self._password = password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._username}:{self._password.get_secret_value()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        yield request

    def __repr__(self) -> str:
        return f"SecretBasicAuth(username={self._username!r}, password=SecretStr('**********'))"


def build_client(
    config: ClientConfig,
    auth: httpx.Auth,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
    return httpx.AsyncClient(
        base_url=config.base_url,
        auth=auth,
        timeout=timeout,
        # A redirect could lead to an address check_base_url never saw.
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        # Without a shared transport, one of our own: connections still go to checked addresses only.
        transport=transport or pinned_transport(config.allow_private_network),
    )


async def send(
    client: httpx.AsyncClient,
    vendor: str,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one request; return a 2xx response or raise RetryableError / PermanentError."""
    what = f"{vendor} {method} {path}"
    try:
        response = await client.request(method, path, json=json_body, params=params, headers=headers)
    except UnsafeURLError as exc:
        # Checked when the connection was opened: the host now resolves to a private address.
        logger.warning("%s refused: %s", what, exc)
        raise PermanentError(f"{what}: {exc}") from exc
    except httpx.TimeoutException as exc:
        logger.warning("%s timed out (%s)", what, type(exc).__name__)
        raise RetryableError(f"{what}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        # Includes resets and a connection closed mid-response: the far side may have acted.
        logger.warning("%s connection failed (%s)", what, type(exc).__name__)
        raise RetryableError(f"{what}: connection failed ({type(exc).__name__})") from exc
    logger.debug("%s -> %s", what, response.status_code)
    raise_for_response(response, what)
    return response


async def send_json(client: httpx.AsyncClient, vendor: str, method: str, path: str, **kwargs: Any) -> Any:
    """`send`, then the decoded JSON body; a non-JSON 2xx (a proxy's HTML page) is a PermanentError."""
    response = await send(client, vendor, method, path, **kwargs)
    try:
        return response.json()
    except ValueError:
        raise PermanentError(
            f"{vendor} {method} {path}: HTTP {response.status_code} with a non-JSON body",
            status=response.status_code,
        ) from None


# --- response -> error --------------------------------------------------------------------------


def raise_for_response(response: httpx.Response, what: str, now: datetime | None = None) -> None:
    status = response.status_code
    if 300 <= status < 400:
        # Redirects are not followed (see build_client); a moved site needs a new base URL.
        location = response.headers.get("Location", "?")
        raise PermanentError(f"{what}: HTTP {status} redirect to {location}; check the base URL", status)
    if status < 400:
        return
    message = f"{what}: HTTP {status}: {vendor_error_message(response)}"
    if status in _RETRYABLE_4XX or status >= 500:
        retry_after = parse_retry_after(response.headers, now=now)
        logger.warning("%s (retry_after=%s)", message, retry_after)
        raise RetryableError(message, retry_after=retry_after, status=status)
    logger.info("%s", message)
    raise PermanentError(message, status=status)


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait: `Retry-After` as delta-seconds or HTTP-date, else Jira's `X-RateLimit-Reset`."""
    now = now or datetime.now(UTC)
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            when = datetime.fromisoformat(reset.strip())
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return None


def vendor_error_message(response: httpx.Response) -> str:
    """The human message from any vendor error shape (Jira ErrorCollection, Zendesk's three shapes)."""
    text = response.text.strip()
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        payload = None
    if payload is None:
        return _clip(text or response.reason_phrase or "no message")
    parts = _messages_from(payload)
    return _clip("; ".join(p for p in parts if p) or text)


def _messages_from(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return [str(payload)]
    parts: list[str] = []
    # Jira ErrorCollection: {"errorMessages": [...], "errors": {field: message}}
    for msg in payload.get("errorMessages") or []:
        parts.append(str(msg))
    errors = payload.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{field}: {msg}" for field, msg in errors.items())
    elif isinstance(errors, list):
        # Zendesk OAS Errors: {"errors": [{"code", "title", "detail"}]}
        for item in errors:
            if isinstance(item, dict):
                parts.append(" - ".join(str(item[k]) for k in ("code", "title", "detail") if item.get(k)))
            else:
                parts.append(str(item))
    # Zendesk ticket endpoints: {"error": "RecordInvalid", "description": ..., "details": {field: [...]}}
    error = payload.get("error")
    if isinstance(error, str):
        parts.append(error)
    elif isinstance(error, dict):
        parts.extend(str(error[k]) for k in ("title", "message") if error.get(k))
    if isinstance(payload.get("description"), str):
        parts.append(payload["description"])
    details = payload.get("details")
    if isinstance(details, dict):
        for field, items in details.items():
            for item in items if isinstance(items, list) else [items]:
                desc = item.get("description") if isinstance(item, dict) else item
                parts.append(f"{field}: {desc}")
    if not parts and isinstance(payload.get("message"), str):
        parts.append(payload["message"])
    return parts


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
