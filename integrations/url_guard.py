"""Where a vendor call may go: the base-URL guard and the connection pinned to the address it checked.

A URL an admin types (a tracker's base URL, a survey tool's API) must not reach Seam's own network:
loopback, private, link-local and metadata ranges are refused in every form that reaches them
(IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo), and so are invalid ports. The check runs again
when each connection opens, on the address connected to, so DNS rebinding reaches nothing private.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpcore
import httpx

from integrations.base import UnsafeURLError

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
