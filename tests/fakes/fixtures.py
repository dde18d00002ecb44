"""pytest fixtures for the stand-ins. Import them into a conftest:

    from tests.fakes.fixtures import jira_fake, webhook_receiver, zendesk_fake  # noqa: F401

Each test gets a fresh server (own port, empty state). At teardown the fixture fails the test if any
request broke the vendor's OpenAPI contract; a test that provokes a violation on purpose must assert
on it and then clear `fake.violations`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.jira import JiraStandIn
from tests.fakes.server import serving
from tests.fakes.zendesk import ZendeskStandIn


def _check_contract(fake: JiraStandIn | ZendeskStandIn) -> None:
    assert fake.violations == [], f"requests broke the vendor contract: {fake.violations}"
    assert fake.response_violations == [], f"stand-in answered off-contract: {fake.response_violations}"


@pytest.fixture
def jira_fake() -> Iterator[JiraStandIn]:
    fake = JiraStandIn()
    with serving(fake):
        yield fake
    _check_contract(fake)


@pytest.fixture
def zendesk_fake() -> Iterator[ZendeskStandIn]:
    fake = ZendeskStandIn()
    with serving(fake):
        yield fake
    _check_contract(fake)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records raw deliveries (headers + exact bytes) and answers 202, like Seam's inbox would."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        with self._arrived:
            self.received.append(Received({k.decode(): v.decode() for k, v in scope["headers"]}, body))
            self._arrived.notify_all()
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} webhook deliveries, got {len(self.received)}")
                self._arrived.wait(left)
            return list(self.received)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with serving(receiver) as url:
        receiver.url = f"{url}/webhooks"
        yield receiver
