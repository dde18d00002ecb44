"""The outbox handler that turns a stored webhook delivery into feedback items, after the response.

One delivery: parse -> describe -> (fetch the answers of a thin delivery) -> map -> ``FeedbackIn``
-> ``app.intake.ingest.ingest`` -> mark the delivery processed, all in one transaction. The
fetch runs before that transaction opens, so no database lock is held while a vendor answers.

* A delivery the mapping cannot read (``MappingError``, or an item ``FeedbackIn`` refuses) is
  marked ``quarantined`` with the reason, never dropped; ``POST .../replay`` runs it again.
* A fetch that may succeed later (429, 5xx, timeouts) is retried by the outbox with backoff and
  ``Retry-After``; on the message's last attempt, or for a fetch that cannot succeed (401, 404,
  no token), the delivery is quarantined instead, so it can be replayed once the token is fixed.
* A later delivery about a stored response (same ``(source, external_id)``) updates the item in
  place (``convert.revise``), so Delighted's created-then-updated stays one item.
* Events that make no item (Typeform partials, Delighted unsubscribes, non-ticket Zendesk events)
  are marked ``ignored``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.crypto import DecryptionError
from app.core.errors import InvalidInput
from app.core.sql import lock_rows
from app.feedback.schemas import FeedbackIn
from app.inbox import service as inbox
from app.inbox.models import InboundDelivery
from app.intake import ingest as feedback
from app.journey import service as journeys
from app.outbox.handlers import JobContext
from app.outbox.models import OutboxMessage
from app.sources import service
from app.sources.convert import carries_nothing, revise, to_feedback
from app.sources.service import SourceConfig
from integrations.base import RetryableError, UnsafeURLError
from integrations.http import USER_AGENT
from integrations.surveys import FETCHERS, KINDS, FetchError, FetchRef, MappingError
from integrations.url_guard import check_base_url, pinned_transport

log = logging.getLogger("seam.sources")
INBOX = InboundDelivery.__table__  # type: ignore[attr-defined]
FETCH_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


@dataclass
class Outcome:
    state: str  # processed | ignored | quarantined
    error: str | None = None
    items: list[FeedbackIn] = field(default_factory=list)


async def _fetch(cfg: SourceConfig, ref: FetchRef, allow_private: bool) -> dict[str, Any]:
    if not cfg.api_token or not cfg.api_base_url:
        raise FetchError("no API token or base URL is configured for this source", retryable=False)
    try:
        base = check_base_url(cfg.api_base_url, allow_private)
    except UnsafeURLError as exc:
        raise FetchError(f"base URL refused: {exc}", retryable=False) from None
    async with httpx.AsyncClient(
        base_url=base,
        timeout=FETCH_TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        # Connects only to the addresses checked when each connection opens (no DNS rebinding).
        transport=pinned_transport(allow_private),
    ) as client:
        try:
            return await FETCHERS[cfg.kind](client, ref, cfg.api_token)
        except UnsafeURLError as exc:
            raise FetchError(f"base URL refused: {exc}", retryable=False) from None


async def make_items(
    cfg: SourceConfig, body: bytes, headers: dict[str, str], *, allow_private: bool, last_try: bool
) -> Outcome:
    """Everything but the database: raises ``RetryableError`` only for a fetch worth retrying."""
    kind = KINDS[cfg.kind]
    try:
        payload = kind.parse_body(body)
        delivery = kind.describe(headers, body, payload)
        if delivery.action == "ignore":
            return Outcome("ignored", f"event '{delivery.event_type}' makes no feedback item")
        if delivery.action == "fetch":
            assert delivery.fetch is not None
            payload = await _fetch(cfg, delivery.fetch, allow_private)
        drafts = [d for d in kind.to_drafts(payload, cfg.mapping) if not carries_nothing(d)]
        items = [to_feedback(draft, cfg) for draft in drafts]
    except MappingError as exc:
        return Outcome("quarantined", str(exc))
    except FetchError as exc:
        if exc.retryable and not last_try:
            raise RetryableError(f"fetch: {exc}", retry_after=exc.retry_after, status=exc.status) from None
        return Outcome("quarantined", f"fetch: {exc}")
    if not items:
        return Outcome("ignored", "no answered response with text or a score on a tracked scale")
    return Outcome("processed", items=items)


def store(session: Session, delivery_row: int, cfg: SourceConfig | None, outcome: Outcome) -> bool:
    """Writes the outcome if the delivery is still pending (a replay or a second worker may have won)."""
    lock_rows(session, INBOX, [delivery_row])
    state = session.execute(select(INBOX.c.state).where(INBOX.c.id == delivery_row)).scalar_one_or_none()
    if state != "pending":
        return False
    if outcome.items and cfg is not None:
        journey = journeys.current_or_none(session)
        actor = Actor(f"source:{cfg.id}")
        results = feedback.ingest(session, journey, list(enumerate(outcome.items)), actor)
        for result, item in zip(results, outcome.items, strict=True):
            if result.status == "duplicate" and result.id is not None:
                revise(session, result.id, item)
    inbox.mark(session, delivery_row, outcome.state, error=outcome.error)
    return True


async def process_delivery(ctx: JobContext, message: OutboxMessage) -> None:
    row_id = int(message.payload["delivery_id"])
    secret_key = ctx.settings.secret_key.get_secret_value()
    cfg: SourceConfig | None = None
    outcome: Outcome | None = None
    with Session(ctx.engine, expire_on_commit=False) as session:
        delivery = session.get(InboundDelivery, row_id)
        if delivery is None or delivery.state != "pending":
            return  # deleted with its source, or already done (a retried message)
        source = service.source_of_channel(session, delivery.channel)
        if source is None:
            outcome = Outcome("ignored", "the source was deleted")
        else:
            try:
                cfg = service.config(source, secret_key)
            except DecryptionError:
                outcome = Outcome("quarantined", "api_token: cannot be decrypted; set it again on the source")
            except InvalidInput as exc:
                outcome = Outcome("quarantined", f"mapping: {exc.detail}")
        body, headers = bytes(delivery.body), dict(delivery.headers)
    if outcome is None:
        assert cfg is not None
        outcome = await make_items(
            cfg,
            body,
            headers,
            allow_private=ctx.settings.allow_private_network,
            last_try=message.attempts >= message.max_attempts,
        )
    with Session(ctx.engine) as session:
        if store(session, row_id, cfg, outcome):
            session.commit()
    if outcome.state == "quarantined":
        log.warning("delivery %s quarantined: %s", row_id, outcome.error)
