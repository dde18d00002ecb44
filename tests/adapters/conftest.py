from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from integrations.base import TicketDescription, TicketDraft, TicketTarget
from integrations.jira import JiraConfig
from integrations.zendesk import ZendeskConfig
from tests.fakes.fixtures import jira_fake, webhook_receiver, zendesk_fake  # noqa: F401
from tests.fakes.jira import JiraStandIn
from tests.fakes.zendesk import ZendeskStandIn


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def jira_config(jira_fake: JiraStandIn) -> JiraConfig:  # noqa: F811
    return JiraConfig(
        base_url=jira_fake.base_url,
        email=jira_fake.email,
        api_token=jira_fake.api_token,
        allow_private_network=True,
        timeout_seconds=2.0,
        reopen_transition="Reopen",
    )


@pytest.fixture
def zendesk_config(zendesk_fake: ZendeskStandIn) -> ZendeskConfig:  # noqa: F811
    return ZendeskConfig(
        base_url=zendesk_fake.base_url,
        email=zendesk_fake.email,
        api_token=zendesk_fake.api_token,
        allow_private_network=True,
        timeout_seconds=2.0,
    )


@pytest.fixture
def make_draft() -> Callable[..., TicketDraft]:
    def build(seam_issue_id: str = "EI-118", **target: Any) -> TicketDraft:
        return TicketDraft(
            seam_issue_id=seam_issue_id,
            summary="Checkout: payment page times out",
            description=TicketDescription(
                stage="Checkout",
                moment="Paying for the order",
                impact="37 customers in 7 days, 60% detractors",
                verbatims=["The page just spins after I press Pay", "  ", "Third time <it> failed & I quit"],
                link=f"https://seam.example.com/issues/{seam_issue_id}",
            ),
            labels=["journey checkout", "Seam"],
            priority="high",
            due_date=date(2026, 12, 1),
            target=TicketTarget(**(target or {"project_key": "CX", "group_id": 98738})),
        )

    return build
