"""One way to talk HTTP to a vendor: client factory, shared config, base-URL guard, response -> error.

Every adapter builds its client here so timeouts, the user agent, redirect policy and the error
mapping are the same everywhere, and so credentials live only inside `SecretBasicAuth`.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from integrations.base import PermanentError, RetryableError, UnsafeURLError

logger = logging.getLogger("integrations.http")

USER_AGENT = "seam-integrations/0.1"
_MAX_MESSAGE = 500
# 409: Jira "conflicting update" and Zendesk stale safe_update both succeed on a fresh attempt.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})

Resolver = Callable[[str], list[str]]


# --- base URL guard -----------------------------------------------------------------------------


def _system_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address reaches through a translation or tunnel form: IPv4-mapped
    (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), 6to4 (2002:AABB:CCDD::), NAT64 (64:ff9b::a.b.c.d)
    and Teredo (2001:0::/32, server and client)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def _is_forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded:
            # Whatever the IPv6 form's own classification, the IPv4 addresses it reaches decide.
            return any(_is_forbidden_ip(v4) for v4 in embedded)
    return _is_forbidden_ip(ip)


def check_base_url(url: str, allow_private: bool, resolve: Resolver | None = None) -> str:
    """Return the URL without a trailing slash, or raise UnsafeURLError.

    Without `allow_private` the URL must be https and every address the host resolves to must be
    public; this keeps a tenant-supplied base URL from reaching our own network (SSRF).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeURLError("base URL must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("base URL must not embed credentials")
    if parts.query or parts.fragment:
        raise UnsafeURLError("base URL must not have a query or fragment")
    try:
        port = parts.port
    except ValueError:
        raise UnsafeURLError("base URL has an invalid port") from None
    if port is not None and not 1 <= port <= 65535:
        raise UnsafeURLError("base URL has an invalid port")
    normalised = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    if allow_private:
        return normalised
    if parts.scheme != "https":
        raise UnsafeURLError("base URL must use https")
    try:
        addresses = (
            [parts.hostname] if _is_ip(parts.hostname) else (resolve or _system_resolver)(parts.hostname)
        )
    except (OSError, UnicodeError) as exc:
        raise UnsafeURLError(f"base URL host {parts.hostname!r} does not resolve") from exc
    if not addresses:
        raise UnsafeURLError(f"base URL host {parts.hostname!r} does not resolve")
    for address in addresses:
        if _is_forbidden(address):
            raise UnsafeURLError(f"base URL host {parts.hostname!r} points to a non-public address")
    return normalised


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- the connection goes to the address that was checked ------------------------------------------


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host when a connection is opened, checks every address it resolves to, and connects
    to a checked one: the address connected is the address checked, so a DNS answer that changes
    between the guard's check and the connection (DNS rebinding) reaches nothing private. TLS SNI,
    certificate checks and the Host header still use the host name: httpcore takes them from the
    request's URL, not from the address connected to."""

    def __init__(self, allow_private: bool, resolve: Resolver | None = None) -> None:
        self._allow_private = allow_private
        self._resolve = resolve or _system_resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self.checked_address(host)
        return await self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def checked_address(self, host: str) -> str:
        if _is_ip(host.strip("[]")):
            addresses = [host.strip("[]")]
        else:
            try:
                addresses = await anyio.to_thread.run_sync(self._resolve, host)
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"host {host!r} does not resolve") from exc
        if not addresses:
            raise httpcore.ConnectError(f"host {host!r} does not resolve")
        if not self._allow_private:
            for address in addresses:
                if _is_forbidden(address):
                    raise UnsafeURLError(f"host {host!r} points to a non-public address")
        return addresses[0]

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeURLError("unix sockets are not a vendor")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_transport(
    allow_private: bool, *, verify: ssl.SSLContext | bool = True, resolve: Resolver | None = None
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go through PinnedBackend."""
    transport = httpx.AsyncHTTPTransport(verify=verify, retries=0)
    ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
    # httpx builds its own connection pool and takes no network backend; this pool is the same one,
    # with ours. The attribute has been the transport's pool across httpx 0.2x.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context, retries=0, network_backend=PinnedBackend(allow_private, resolve)
    )
    return transport


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
