"""The shared HTTP layer: Retry-After, vendor error shapes, transport failures, the base-URL guard,
the registry and config models, and that credentials never leak into errors, reprs or logs."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from integrations import registry
from integrations.base import PermanentError, RetryableError, TicketDraft, TicketTracker, UnsafeURLError
from integrations.http import SecretBasicAuth, parse_retry_after, raise_for_response
from integrations.jira import JiraConfig, JiraTracker
from integrations.url_guard import check_base_url
from integrations.zendesk import ZendeskConfig, ZendeskTracker
from tests.fakes.jira import JiraStandIn
from tests.fakes.server import Fault
from tests.fakes.zendesk import ZendeskStandIn

NOW = datetime(2026, 11, 22, 17, 50, 0, tzinfo=UTC)


def _response(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://vendor.example/api")
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


# --- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "Sun, 22 Nov 2026 17:51:30 GMT"}, 90.0),
        ({"Retry-After": "Sun, 22 Nov 2026 17:00:00 GMT"}, 0.0),  # already passed
        ({"X-RateLimit-Reset": "2026-11-22T17:52Z"}, 120.0),  # Jira's fallback, yyyy-MM-ddTHH:mmZ
        ({"Retry-After": "soon", "X-RateLimit-Reset": "2026-11-22T17:50:30Z"}, 30.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(httpx.Headers(headers), now=NOW) == expected


@pytest.mark.parametrize("status", [429, 503, 500, 502, 504, 408, 409])
def test_retryable_statuses(status: int) -> None:
    with pytest.raises(RetryableError) as caught:
        raise_for_response(
            _response(status, {"errorMessages": ["busy"]}, {"Retry-After": "12"}), "jira POST /x"
        )
    assert caught.value.retry_after == 12.0 and "busy" in caught.value.message


def test_503_with_http_date() -> None:
    response = _response(503, "Service Unavailable", {"Retry-After": "Sun, 22 Nov 2026 17:50:45 GMT"})
    with pytest.raises(RetryableError) as caught:
        raise_for_response(response, "zendesk GET /x", now=NOW)
    assert caught.value.retry_after == 45.0


def test_redirect_is_permanent() -> None:
    response = _response(301, None, {"Location": "https://acme-new.zendesk.com/api/v2/tickets"})
    with pytest.raises(PermanentError, match=r"redirect to https://acme-new\.zendesk\.com"):
        raise_for_response(response, "zendesk GET /x")


@pytest.mark.anyio
async def test_non_json_success_is_permanent(jira_fake: JiraStandIn, jira_config: JiraConfig) -> None:
    jira_fake.fail(Fault("status", 200, body="<html>captive portal</html>"))
    async with JiraTracker(jira_config) as tracker:
        with pytest.raises(PermanentError, match="non-JSON"):
            await tracker.find_by_seam_id("EI-1")


# --- vendor error shapes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"errorMessages": ["Field 'priority' is required"], "errors": {}}, "Field 'priority' is required"),
        (
            {"errorMessages": [], "errors": {"summary": "You must specify a summary"}},
            "summary: You must specify",
        ),
        (
            {"errors": [{"code": "InvalidValue", "title": "Invalid value", "detail": "bad"}]},
            "InvalidValue - Invalid",
        ),
        (
            {
                "error": "RecordInvalid",
                "description": "Record validation errors",
                "details": {"status": [{"description": "Status: closed prevents ticket update"}]},
            },
            "status: Status: closed prevents ticket update",
        ),
        ({"error": "Couldn't authenticate you"}, "Couldn't authenticate you"),
        ({"error": {"title": "Forbidden", "message": "You do not have access"}}, "You do not have access"),
        ("Invalid JSON in request body", "Invalid JSON in request body"),  # Zendesk text/plain 400
    ],
)
def test_4xx_is_permanent_with_vendor_message(body: object, expected: str) -> None:
    with pytest.raises(PermanentError) as caught:
        raise_for_response(_response(400, body), "vendor POST /x")
    assert caught.value.status == 400 and expected in caught.value.message


# --- transport failures against a real socket -------------------------------------------------


@pytest.mark.anyio
async def test_timeout_is_retryable(jira_fake: JiraStandIn, jira_config: JiraConfig) -> None:
    jira_fake.fail(Fault("delay", seconds=1.0), path="search/jql")
    config = jira_config.model_copy(update={"timeout_seconds": 0.2})
    async with JiraTracker(config) as tracker:
        with pytest.raises(RetryableError, match="timed out"):
            await tracker.find_by_seam_id("EI-1")


@pytest.mark.anyio
async def test_connection_reset_is_retryable(
    zendesk_fake: ZendeskStandIn, zendesk_config: ZendeskConfig
) -> None:
    zendesk_fake.fail(Fault("reset"), method="GET")
    async with ZendeskTracker(zendesk_config) as tracker:
        with pytest.raises(RetryableError, match="connection failed"):
            await tracker.find_by_seam_id("EI-1")
        # Nothing was served, so nothing changed; the next call works.
        assert await tracker.find_by_seam_id("EI-1") is None


@pytest.mark.anyio
async def test_refused_connection_is_retryable(jira_config: JiraConfig) -> None:
    config = jira_config.model_copy(update={"base_url": "http://127.0.0.1:9"})  # discard port: closed
    async with JiraTracker(config) as tracker:
        with pytest.raises(RetryableError):
            await tracker.find_by_seam_id("EI-1")


@pytest.mark.anyio
async def test_500_then_success(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Callable[..., TicketDraft]
) -> None:
    jira_fake.fail(Fault("status", 500, body={"errorMessages": ["Internal server error"], "errors": {}}))
    async with JiraTracker(jira_config) as tracker:
        with pytest.raises(RetryableError) as caught:
            await tracker.create(make_draft(), "outbox-1")
        assert caught.value.retry_after is None
        await tracker.create(make_draft(), "outbox-1")
    assert len(jira_fake.with_label("seam-ei-118")) == 1


# --- base URL guard ---------------------------------------------------------------------------


def _resolver(*addresses: str) -> Callable[[str], list[str]]:
    return lambda host: list(addresses)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://acme.atlassian.net", ("93.184.215.14",)),  # not https
        ("https://127.0.0.1", ()),
        ("https://10.1.2.3", ()),
        ("https://192.168.0.10", ()),
        ("https://169.254.169.254/latest", ()),  # cloud metadata
        ("https://[::1]", ()),
        ("https://[::ffff:127.0.0.1]", ()),
        ("https://0.0.0.0", ()),
        ("https://localhost", ("127.0.0.1",)),
        ("https://intranet.acme.test", ("93.184.215.14", "10.0.0.5")),  # any private answer
        ("https://acme.zendesk.com", ()),  # does not resolve
        ("https://user:pw@acme.zendesk.com", ("93.184.215.14",)),
        ("ftp://acme.zendesk.com", ("93.184.215.14",)),
    ],
)
def test_check_base_url_refuses(url: str, addresses: tuple[str, ...]) -> None:
    with pytest.raises(UnsafeURLError):
        check_base_url(url, allow_private=False, resolve=_resolver(*addresses))


def test_check_base_url_accepts_public_https_and_private_when_allowed() -> None:
    public = check_base_url("https://acme.atlassian.net/", False, resolve=_resolver("93.184.215.14"))
    assert public == "https://acme.atlassian.net"
    assert check_base_url("http://127.0.0.1:8080/", allow_private=True) == "http://127.0.0.1:8080"


# --- registry and config ----------------------------------------------------------------------


def test_registry_builds_each_vendor_with_defaults(jira_fake: JiraStandIn) -> None:
    assert set(registry.TRACKERS) == {"jira", "zendesk"} == set(registry.CONFIGS)
    raw = {"base_url": jira_fake.base_url, "email": "a@b.c", "api_token": "t", "allow_private_network": True}
    jira = registry.build_tracker("jira", raw)
    zendesk = registry.build_tracker("zendesk", raw)
    assert isinstance(jira, JiraTracker) and isinstance(zendesk, ZendeskTracker)
    assert jira.config.resolution_categories["Won't Do"] == "wont_do"
    assert jira.config.resolution_categories["Cannot Reproduce"] == "cannot_reproduce"
    with pytest.raises(PermanentError, match="unknown tracker vendor"):
        registry.build_tracker("servicenow", raw)
    with pytest.raises(ValidationError):
        registry.parse_config(
            "jira", {**raw, "base_url": "https://127.0.0.1", "allow_private_network": False}
        )


# --- credentials never leak -------------------------------------------------------------------

TOKEN = "sup3r-s3cret-api-t0ken"


def _leaks(text: str) -> bool:
    encoded = base64.b64encode(f"bot@example.com:{TOKEN}".encode()).decode()
    encoded_zd = base64.b64encode(f"bot@example.com/token:{TOKEN}".encode()).decode()
    return any(secret in text for secret in (TOKEN, encoded, encoded_zd))


def test_config_and_auth_reprs_hide_the_token() -> None:
    config = JiraConfig(base_url="http://127.0.0.1:1", email="bot@example.com", api_token=TOKEN,
                        allow_private_network=True, webhook_secret=SecretStr(TOKEN))  # fmt: skip
    auth = SecretBasicAuth("bot@example.com", config.api_token)
    for text in (str(config), repr(config), config.model_dump_json(), repr(auth), repr(JiraTracker(config))):
        assert not _leaks(text), text
    with pytest.raises(ValidationError) as caught:
        JiraConfig(base_url="https://127.0.0.1", email="bot@example.com", api_token=TOKEN)
    assert not _leaks(str(caught.value)) and not _leaks(repr(caught.value))


@pytest.mark.anyio
async def test_errors_and_logs_never_carry_credentials(
    jira_fake: JiraStandIn,
    zendesk_fake: ZendeskStandIn,
    make_draft: Callable[..., TicketDraft],
    caplog: pytest.LogCaptureFixture,
) -> None:
    jira_fake.api_token = zendesk_fake.api_token = TOKEN
    common = {
        "email": "bot@example.com",
        "api_token": TOKEN,
        "allow_private_network": True,
        "timeout_seconds": 0.3,
    }
    trackers: list[TicketTracker] = [
        JiraTracker(JiraConfig(base_url=jira_fake.base_url, **common)),
        ZendeskTracker(ZendeskConfig(base_url=zendesk_fake.base_url, **common)),
    ]
    for fake in (jira_fake, zendesk_fake):
        fake.fail(Fault("status", 429, {"Retry-After": "3"}, "slow down"))
        fake.fail(Fault("status", 400, body={"error": "bad", "errorMessages": ["bad"]}))
        fake.fail(Fault("delay", seconds=0.6))
        fake.fail(Fault("reset"))
    caught: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        for tracker in trackers:
            for _ in range(4):
                try:
                    await tracker.create(make_draft(), "outbox-1")
                except (RetryableError, PermanentError) as exc:
                    caught.append(exc)
            await tracker.aclose()
    assert len(caught) == 8
    for error in caught:
        assert not _leaks(str(error)) and not _leaks(repr(error))
        assert not _leaks(repr(error.__cause__)) and not _leaks(str(error.__cause__))
    assert caplog.records and not _leaks(caplog.text)
    # The stand-ins really did receive the credentials, so the checks above are not vacuous.
    assert any(_leaks(r.headers.get("authorization", "")) for r in jira_fake.requests)
