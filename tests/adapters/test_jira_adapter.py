"""JiraTracker against the loopback Jira stand-in (every request checked against the Jira OpenAPI file)."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest

from integrations.base import (
    PermanentError,
    RetryableError,
    TicketDraft,
    TicketTracker,
    TicketUpdate,
    key_label,
)
from integrations.jira import JiraConfig, JiraTracker
from tests.fakes.jira import JiraStandIn
from tests.fakes.server import Fault

pytestmark = pytest.mark.anyio
Draft = Callable[..., TicketDraft]


def _auth(fake: JiraStandIn) -> tuple[str, str]:
    return (fake.email, fake.api_token)


async def test_is_a_ticket_tracker(jira_config: JiraConfig) -> None:
    async with JiraTracker(jira_config) as tracker:
        assert isinstance(tracker, TicketTracker)


async def test_create_sends_adf_label_property_and_keeps_numeric_id(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    async with JiraTracker(jira_config) as tracker:
        ref = await tracker.create(make_draft(), idempotency_key="outbox-1")

    issue = jira_fake.find(ref.id)
    assert issue is not None
    assert ref.id.isdigit() and ref.key == "CX-1" and ref.url.endswith("/browse/CX-1")
    assert issue.labels == ["seam-ei-118", key_label("outbox-1"), "journey-checkout", "seam"]
    assert issue.properties == {"seam": {"issue_id": "EI-118"}}
    assert issue.priority == "High" and issue.duedate == "2026-12-01"
    doc = issue.description
    assert doc is not None and doc["type"] == "doc" and doc["version"] == 1
    kinds = [node["type"] for node in doc["content"]]
    assert kinds == ["heading", "paragraph", "paragraph", "paragraph", "heading", "bulletList", "paragraph"]
    verbatims = [item["content"][0]["content"][0]["text"] for item in doc["content"][5]["content"]]
    assert verbatims == ["The page just spins after I press Pay", "Third time <it> failed & I quit"]
    link = doc["content"][-1]["content"][0]
    assert link["marks"] == [{"type": "link", "attrs": {"href": "https://seam.example.com/issues/EI-118"}}]
    assert jira_fake.violations == []


async def test_create_twice_gives_one_issue(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    async with JiraTracker(jira_config) as tracker:
        first = await tracker.create(make_draft(), "outbox-1")
        second = await tracker.create(make_draft(), "outbox-1")
    assert first == second
    assert len(jira_fake.with_label("seam-ei-118")) == 1


async def test_each_contribution_gets_its_own_issue(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    # Two teams work on the same experience issue in two projects; each create has its own key.
    async with JiraTracker(jira_config) as tracker:
        cx = await tracker.create(make_draft(project_key="CX"), "jira-create:contribution-1")
        ops = await tracker.create(make_draft(project_key="OPS"), "jira-create:contribution-2")
        retried = await tracker.create(make_draft(project_key="OPS"), "jira-create:contribution-2")
        oldest = await tracker.find_by_seam_id("EI-118")
    assert cx != ops and retried == ops and oldest == cx
    assert len(jira_fake.with_label("seam-ei-118")) == 2


async def test_dropped_create_response_then_find_finds_exactly_one(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    # Jira creates the issue, then the connection dies before we read the 201.
    jira_fake.fail(Fault("drop_response"), method="POST", path=r"^/rest/api/3/issue$")
    async with JiraTracker(jira_config) as tracker:
        with pytest.raises(RetryableError):
            await tracker.create(make_draft(), "outbox-1")
        assert len(jira_fake.with_label("seam-ei-118")) == 1
        found = await tracker.find_by_seam_id("EI-118")
        again = await tracker.create(make_draft(), "outbox-1")
    assert found is not None and again == found
    assert len(jira_fake.with_label("seam-ei-118")) == 1
    assert len(jira_fake.calls("POST", r"^/rest/api/3/issue$")) == 1


async def test_ambiguous_create_waits_out_the_search_index(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    jira_fake.search_lag_seconds = 0.4
    config = jira_config.model_copy(update={"search_index_lag_seconds": 0.5})
    jira_fake.fail(Fault("drop_response"), method="POST", path=r"^/rest/api/3/issue$")
    async with JiraTracker(config) as tracker:
        with pytest.raises(RetryableError) as caught:
            await tracker.create(make_draft(), "outbox-1")
        assert (caught.value.status, caught.value.retry_after) == (None, 0.5)
        # An immediate retry would not see the issue and would create a second one.
        assert await tracker.find_by_seam_id("EI-118") is None
        await anyio.sleep(0.5)
        await tracker.create(make_draft(), "outbox-1")
    assert len(jira_fake.with_label("seam-ei-118")) == 1


async def test_find_by_seam_id_uses_search_jql_and_misses_cleanly(
    jira_fake: JiraStandIn, jira_config: JiraConfig
) -> None:
    async with JiraTracker(jira_config) as tracker:
        assert await tracker.find_by_seam_id("EI-999") is None
    (call,) = jira_fake.calls("POST", r"^/rest/api/3/search/jql$")
    assert call.json()["jql"].startswith('labels = "seam-ei-999"')


async def test_moved_issue_is_still_found_by_id(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    async with JiraTracker(jira_config) as tracker:
        ref = await tracker.create(make_draft(), "outbox-1")
        new_key = jira_fake.move_issue(ref.id, "OPS")
        state = await tracker.get(ref)
        found = await tracker.find_by_seam_id("EI-118")
    assert new_key == "OPS-1"
    assert state.ref.id == ref.id and state.ref.key == "OPS-1"
    assert found is not None and found.key == "OPS-1"
    # The stand-in forgets old keys (real Jira redirects them), so only the id lookup can work.
    response = httpx.get(f"{jira_fake.base_url}/rest/api/3/issue/{ref.key}", auth=_auth(jira_fake))
    assert response.status_code == 404


async def test_comment_is_adf(jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft) -> None:
    async with JiraTracker(jira_config) as tracker:
        ref = await tracker.create(make_draft(), "outbox-1")
        await tracker.comment(ref, "Reopened: 4 new reports\n\nsame timeout", public=True)
        await tracker.comment(ref, make_draft().description, public=False)
    issue = jira_fake.find(ref.id)
    assert issue is not None and len(issue.comments) == 2
    body = issue.comments[0]["body"]
    assert [p["content"][0]["text"] for p in body["content"]] == ["Reopened: 4 new reports", "same timeout"]


async def test_update_adds_labels_without_losing_ours(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    async with JiraTracker(jira_config) as tracker:
        ref = await tracker.create(make_draft(), "outbox-1")
        await tracker.update(
            ref, TicketUpdate(summary="Checkout: still timing out", add_labels=["Regressed Twice"])
        )
    issue = jira_fake.find(ref.id)
    assert issue is not None and issue.summary == "Checkout: still timing out"
    assert issue.labels[0] == "seam-ei-118" and "regressed-twice" in issue.labels


async def test_transitions_choose_by_status_category_and_map_terminal_meanings(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    async with JiraTracker(jira_config) as tracker:
        ref = await tracker.create(make_draft(), "outbox-1")
        assert (await tracker.get(ref)).category == "open"
        await tracker.transition(ref, "in_progress")
        state = await tracker.get(ref)
        assert (state.status, state.category) == ("Doing", "in_progress")
        await tracker.transition(ref, "done")
        state = await tracker.get(ref)
        assert (state.status, state.category, state.resolution) == ("Shipped", "done", "Done")
        await tracker.transition(ref, "reopen")
        state = await tracker.get(ref)
        assert (state.category, state.resolution) == ("open", None)
        await tracker.transition(ref, "wont_do")
        state = await tracker.get(ref)
        assert (state.category, state.resolution) == ("wont_do", "Won't Do")

        jira_fake.set_status(ref.id, "Shipped", resolution="Duplicate")
        assert (await tracker.get(ref)).category == "duplicate"
        jira_fake.set_status(ref.id, "Shipped", resolution="Cannot Reproduce")
        assert (await tracker.get(ref)).category == "cannot_reproduce"


async def test_transition_is_a_no_op_when_already_there(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    async with JiraTracker(jira_config) as tracker:
        ref = await tracker.create(make_draft(), "outbox-1")
        await tracker.transition(ref, "done")
        await tracker.transition(ref, "done")
        await tracker.transition(ref, "wont_do")
    assert len(jira_fake.calls("POST", r"/transitions$")) == 1


async def test_unknown_reopen_transition_is_permanent(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    config = jira_config.model_copy(update={"reopen_transition": "Back to the drawing board"})
    async with JiraTracker(config) as tracker:
        ref = await tracker.create(make_draft(), "outbox-1")
        await tracker.transition(ref, "done")
        with pytest.raises(PermanentError, match="no transition"):
            await tracker.transition(ref, "reopen")


async def test_vendor_errors_become_permanent_with_message(
    jira_fake: JiraStandIn, jira_config: JiraConfig, make_draft: Draft
) -> None:
    async with JiraTracker(jira_config) as tracker:
        with pytest.raises(PermanentError) as caught:
            await tracker.create(make_draft(project_key="NOPE"), "outbox-1")
    assert caught.value.status == 400
    assert "project: valid project is required" in caught.value.message


async def test_wrong_credentials_are_permanent_401(jira_fake: JiraStandIn, jira_config: JiraConfig) -> None:
    config = jira_config.model_copy(update={"api_token": type(jira_config.api_token)("wrong")})
    async with JiraTracker(config) as tracker:
        with pytest.raises(PermanentError) as caught:
            await tracker.find_by_seam_id("EI-1")
    assert caught.value.status == 401 and "not authenticated" in caught.value.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "7"}, 7.0), ({"X-RateLimit-Reset": "2000-01-01T00:00Z"}, 0.0), ({}, None)],
)
async def test_rate_limit_is_retryable_with_retry_after(
    jira_fake: JiraStandIn,
    jira_config: JiraConfig,
    make_draft: Draft,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    body = {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    jira_fake.fail(Fault("status", 429, {"RateLimit-Reason": "jira-burst-based", **headers}, body))
    async with JiraTracker(jira_config) as tracker:
        with pytest.raises(RetryableError) as caught:
            await tracker.create(make_draft(), "outbox-1")
        assert caught.value.retry_after == expected
        assert "Rate limit exceeded." in caught.value.message
        # The fault was used up; the retry succeeds and creates exactly one issue.
        await tracker.create(make_draft(), "outbox-1")
    assert len(jira_fake.with_label("seam-ei-118")) == 1


async def test_stand_in_enforces_adf_and_retired_search(jira_fake: JiraStandIn) -> None:
    auth = _auth(jira_fake)
    plain = {
        "fields": {
            "project": {"key": "CX"},
            "issuetype": {"name": "Task"},
            "summary": "s",
            "description": "x",
        }
    }
    response = httpx.post(f"{jira_fake.base_url}/rest/api/3/issue", json=plain, auth=auth)
    assert response.status_code == 400
    assert "Atlassian Document" in response.json()["errors"]["description"]
    old = httpx.post(f"{jira_fake.base_url}/rest/api/3/search", json={"jql": "project = CX"}, auth=auth)
    assert old.status_code == 410


async def test_stand_in_records_spec_violations(jira_fake: JiraStandIn) -> None:
    url = f"{jira_fake.base_url}/rest/api/3/issue/10001/transitions"
    response = httpx.post(url, json={"transition": "31"}, auth=_auth(jira_fake))
    assert response.status_code == 400
    assert len(jira_fake.violations) == 1 and "is not of type 'object'" in "\n".join(
        jira_fake.violations[0].errors
    )
    jira_fake.violations.clear()
