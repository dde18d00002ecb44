"""Explicit registry of ticket trackers: vendor name -> adapter class and its config model.

A dict rather than entry points or import scanning, so the set of vendors is visible in one place
and a typo in stored configuration fails loudly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from integrations.base import PermanentError, TicketTracker
from integrations.http import ClientConfig
from integrations.jira import webhook as jira_webhook
from integrations.jira.adapter import JiraConfig, JiraTracker
from integrations.zendesk import webhook as zendesk_webhook
from integrations.zendesk.adapter import ZendeskConfig, ZendeskTracker

TRACKERS: dict[str, type[JiraTracker] | type[ZendeskTracker]] = {
    "jira": JiraTracker,
    "zendesk": ZendeskTracker,
}
CONFIGS: dict[str, type[ClientConfig]] = {
    "jira": JiraConfig,
    "zendesk": ZendeskConfig,
}


def parse_config(vendor: str, raw: Mapping[str, Any]) -> ClientConfig:
    """Validate stored or submitted settings; raises pydantic.ValidationError (secrets masked)."""
    try:
        model = CONFIGS[vendor]
    except KeyError:
        raise PermanentError(f"unknown tracker vendor {vendor!r}") from None
    return model.model_validate(dict(raw))


def build_tracker(
    vendor: str,
    config: ClientConfig | Mapping[str, Any],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> TicketTracker:
    if not isinstance(config, ClientConfig):
        config = parse_config(vendor, config)
    if isinstance(config, JiraConfig) and vendor == "jira":
        return JiraTracker(config, transport=transport)
    if isinstance(config, ZendeskConfig) and vendor == "zendesk":
        return ZendeskTracker(config, transport=transport)
    raise PermanentError(f"config {type(config).__name__} does not fit vendor {vendor!r}")


def verify_webhook(
    vendor: str,
    headers: Mapping[str, str],
    body: bytes,
    secret: SecretStr | str,
    now: datetime,
    options: Mapping[str, Any],
) -> None:
    """Checks a delivery's signature alone, before any client config is built (which may resolve the
    base URL's host): raises WebhookSignatureError."""
    if vendor == "jira":
        jira_webhook.verify_signature(headers, body, secret)
        return
    if vendor == "zendesk":
        tolerance = options.get("webhook_tolerance_seconds", zendesk_webhook.DEFAULT_TOLERANCE_SECONDS)
        try:
            tolerance = float(tolerance)
        except (TypeError, ValueError):
            tolerance = zendesk_webhook.DEFAULT_TOLERANCE_SECONDS
        zendesk_webhook.verify_signature(headers, body, secret, now, tolerance)
        return
    raise PermanentError(f"unknown tracker vendor {vendor!r}")
