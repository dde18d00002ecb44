"""A tenant-supplied vendor URL aimed at our own network (SSRF).

Before: the URL guard resolved the host, then httpx resolved it again when connecting, so an answer that
changed in between (DNS rebinding) reached whatever it pointed to; 6to4 forms of 127.0.0.1 and
169.254.169.254 passed, and so did port 99999."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from integrations.base import UnsafeURLError
from integrations.url_guard import check_base_url, pinned_transport

PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
        "2002:0a00:0001::",  # 6to4 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "64:ff9b:1::c0a8:1",  # local-use NAT64 of 192.168.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::ffff:7f00:1",  # IPv4-mapped, hex form
        "::127.0.0.1",  # IPv4-compatible
        "fe80::1%eth0",  # link-local with a zone
        "fd00::1",  # unique local
        "::",
    ],
)
def test_every_form_of_a_private_address_is_refused(address: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_base_url("https://vendor.example", allow_private=False, resolve=lambda host: [address])
    if "%" not in address:
        with pytest.raises(UnsafeURLError):
            check_base_url(f"https://[{address}]", allow_private=False)


@pytest.mark.parametrize("address", ["2002:5db8:d70e::", "64:ff9b::5db8:d70e", "::ffff:" + PUBLIC, PUBLIC])
def test_forms_of_a_public_address_pass(address: str) -> None:
    assert check_base_url("https://vendor.example", False, resolve=lambda host: [address])


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1", "http"])
def test_invalid_ports_are_refused(port: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_base_url(f"https://vendor.example:{port}", allow_private=False, resolve=lambda host: [PUBLIC])


class _Recorder(BaseHTTPRequestHandler):
    hosts: list[str] = []

    def do_GET(self) -> None:
        _Recorder.hosts.append(self.headers.get("Host", ""))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hosts = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_rebinding_answer_after_the_check_reaches_nothing(loopback_server: int) -> None:
    """The guard saw a public address; by the time the connection opens, the name points at loopback."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])

    def rebinding(host: str) -> list[str]:
        return next(answers)

    url = f"http://rebind.seam-test.invalid:{loopback_server}"
    assert check_base_url(url, allow_private=True)  # scheme aside, the first answer is public
    check_base_url(url.replace("http:", "https:"), allow_private=False, resolve=rebinding)

    async def call() -> None:
        async with httpx.AsyncClient(transport=pinned_transport(False, resolve=rebinding)) as client:
            await client.get(url)

    with pytest.raises(UnsafeURLError):
        asyncio.run(call())
    assert _Recorder.hosts == []  # the loopback server was never reached


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(loopback_server: int) -> None:
    seen: list[str] = []

    def resolve(host: str) -> list[str]:
        seen.append(host)
        return ["127.0.0.1"]

    name = f"vendor.seam-test.invalid:{loopback_server}"

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=pinned_transport(True, resolve=resolve)) as client:
            return await client.get(f"http://{name}/x")

    resp = asyncio.run(call())
    assert resp.status_code == 200
    assert seen == ["vendor.seam-test.invalid"]  # resolved once, by us, when connecting
    assert _Recorder.hosts == [name]  # the Host header still names the vendor
