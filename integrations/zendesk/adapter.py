"""Zendesk Support adapter (Basic auth `{email}/token:{api_token}`)."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr

from integrations import http
from integrations.base import (
    TERMINAL_CATEGORIES,
    Category,
    InboundEvent,
    PermanentError,
    TicketDescription,
    TicketDraft,
    TicketRef,
    TicketState,
    TicketUpdate,
    TransitionTarget,
    Vendor,
    key_label,
    normalise_label,
    seam_label,
)
from integrations.zendesk import webhook

logger = logging.getLogger("integrations.zendesk")

DEFAULT_STATUS_CATEGORIES: dict[str, Category] = {
    "new": "open",
    "open": "in_progress",
    "pending": "in_progress",
    "hold": "in_progress",
    "solved": "done",
    "closed": "done",
}
# Zendesk has no resolution field; a tag on a solved/closed ticket says why it closed.
# `closed_by_merge` is the tag Zendesk itself sets on a ticket merged into another.
DEFAULT_TAG_CATEGORIES: dict[str, Category] = {
    "closed_by_merge": "duplicate",
    "seam_wont_do": "wont_do",
    "seam_duplicate": "duplicate",
    "seam_cannot_reproduce": "cannot_reproduce",
}
_TARGET_STATUS = {"done": "solved", "wont_do": "solved", "reopen": "open", "in_progress": "open"}
MAX_VERBATIMS = 5


class ZendeskConfig(http.ClientConfig):
    status_categories: dict[str, Category] = Field(default_factory=lambda: dict(DEFAULT_STATUS_CATEGORIES))
    tag_categories: dict[str, Category] = Field(default_factory=lambda: dict(DEFAULT_TAG_CATEGORIES))
    wont_do_tag: str = "seam_wont_do"
    ticket_type: Literal["problem", "incident", "question", "task"] = "task"
    # The first comment becomes the description; public would e-mail the requester (our API user).
    description_public: bool = False
    webhook_secret: SecretStr | None = None
    webhook_tolerance_seconds: float = Field(default=webhook.DEFAULT_TOLERANCE_SECONDS, gt=0, le=3600)


def render_html(seam_issue_id: str | None, description: TicketDescription) -> str:
    esc = html.escape
    title = f"Customer experience issue {seam_issue_id}" if seam_issue_id else "Customer experience issue"
    parts = [f"<h3>{esc(title)}</h3>", f"<p><strong>Stage:</strong> {esc(description.stage)}</p>"]
    if description.moment:
        parts.append(f"<p><strong>Moment of truth:</strong> {esc(description.moment)}</p>")
    parts.append(f"<p><strong>Impact:</strong> {esc(description.impact)}</p>")
    verbatims = [" ".join(v.split())[:500] for v in description.verbatims if v.strip()][:MAX_VERBATIMS]
    if verbatims:
        items = "".join(f"<li>{esc(v)}</li>" for v in verbatims)
        parts.append(f"<h4>What customers say</h4><ul>{items}</ul>")
    if description.link:
        parts.append(f'<p><a href="{esc(description.link, quote=True)}">Open in Seam</a></p>')
    return "".join(parts)


class ZendeskTracker:
    vendor: Vendor = "zendesk"

    def __init__(self, config: ZendeskConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        auth = http.SecretBasicAuth(f"{config.email}/token", config.api_token)
        self._client = http.build_client(config, auth, transport=transport)
        self._tags = {k.lower(): v for k, v in config.tag_categories.items()}

    def __repr__(self) -> str:
        return f"ZendeskTracker(base_url={self.config.base_url!r})"

    async def __aenter__(self) -> ZendeskTracker:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await http.send(self._client, "zendesk", method, path, **kwargs)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return await http.send_json(self._client, "zendesk", method, path, **kwargs)

    def _ref(self, ticket_id: str) -> TicketRef:
        url = f"{self.config.base_url}/agent/tickets/{ticket_id}"
        return TicketRef(vendor="zendesk", id=ticket_id, key=ticket_id, url=url)

    # --- create / find ----------------------------------------------------------------------

    async def create(self, draft: TicketDraft, idempotency_key: str) -> TicketRef:
        # Idempotency-Key covers a replay within Zendesk's key lifetime (about 2 h); external_id plus
        # the per-request tag cover a retry after that, so look first.
        marker, request_tag = seam_label(draft.seam_issue_id), key_label(idempotency_key)
        existing = await self._find(marker, request_tag)
        if existing is not None:
            logger.info("zendesk create %s: already exists as %s", idempotency_key, existing.id)
            return existing
        extra = (normalise_label(t).replace("-", "_") for t in draft.labels)
        tags = list(dict.fromkeys([marker, request_tag, *extra]))
        ticket: dict[str, Any] = {
            "subject": draft.summary,
            "comment": {
                "html_body": render_html(draft.seam_issue_id, draft.description),
                "public": self.config.description_public,
            },
            "external_id": marker,
            "tags": [t for t in tags if t],
            "type": self.config.ticket_type,
        }
        if draft.priority:
            ticket["priority"] = draft.priority
        if draft.target.group_id is not None:
            ticket["group_id"] = draft.target.group_id
        if draft.due_date:
            ticket["due_at"] = f"{draft.due_date.isoformat()}T00:00:00Z"
        data = await self._json(
            "POST",
            "/api/v2/tickets",
            json_body={"ticket": ticket},
            headers={"Idempotency-Key": idempotency_key},
        )
        return self._ref(str(data["ticket"]["id"]))

    async def find_by_seam_id(self, seam_issue_id: str) -> TicketRef | None:
        return await self._find(seam_label(seam_issue_id))

    async def _find(self, marker: str, tag: str | None = None) -> TicketRef | None:
        data = await self._json("GET", "/api/v2/tickets", params={"external_id": marker})
        tickets = [t for t in data.get("tickets") or [] if tag is None or tag in (t.get("tags") or [])]
        if not tickets:
            return None
        # external_id is not unique ("may return multiple"): settle on the oldest, deterministically.
        if len(tickets) > 1:
            logger.warning("zendesk: %d tickets carry external_id %s; using the oldest", len(tickets), marker)
        return self._ref(str(min(int(t["id"]) for t in tickets)))

    # --- read -------------------------------------------------------------------------------

    async def get(self, ref: TicketRef) -> TicketState:
        ticket = await self._get_ticket(ref.id)
        return self.state_from_fields(str(ticket["id"]), ticket)

    async def _get_ticket(self, ticket_id: str) -> dict[str, Any]:
        ticket: dict[str, Any] = (await self._json("GET", f"/api/v2/tickets/{ticket_id}"))["ticket"]
        return ticket

    def state_from_fields(self, ticket_id: str, fields: Mapping[str, Any]) -> TicketState:
        status = str(fields.get("status") or "new").lower()
        category: Category = self.config.status_categories.get(status, "open")
        resolution = None
        if category in TERMINAL_CATEGORIES:
            for tag in fields.get("tags") or []:
                if str(tag).lower() in self._tags:
                    resolution = str(tag).lower()
                    category = self._tags[resolution]
                    break
        updated = fields.get("updated_at")
        try:
            updated_at = webhook.parse_timestamp(updated) if isinstance(updated, str) else None
        except ValueError:
            updated_at = None
        return TicketState(
            ref=self._ref(ticket_id),
            status=status,
            category=category,
            resolution=resolution,
            updated_at=updated_at,
        )

    # --- write ------------------------------------------------------------------------------

    async def update(self, ref: TicketRef, fields: TicketUpdate) -> None:
        ticket: dict[str, Any] = {}
        if fields.summary is not None:
            ticket["subject"] = fields.summary
        if fields.priority is not None:
            ticket["priority"] = fields.priority
        if fields.due_date is not None:
            ticket["due_at"] = f"{fields.due_date.isoformat()}T00:00:00Z"
        if fields.description is not None:
            # The description is the first comment and cannot be edited; add the new one as a note.
            ticket["comment"] = {"html_body": render_html(None, fields.description), "public": False}
        if ticket:
            await self._send("PUT", f"/api/v2/tickets/{ref.id}", json_body={"ticket": ticket})
        if fields.add_labels:
            await self._add_tags(ref.id, [normalise_label(t).replace("-", "_") for t in fields.add_labels])

    async def _add_tags(self, ticket_id: str, tags: list[str]) -> None:
        # The tags endpoint adds; `ticket.tags` on update would replace ours.
        await self._send("PUT", f"/api/v2/tickets/{ticket_id}/tags", json_body={"tags": tags})

    async def comment(self, ref: TicketRef, body: str | TicketDescription, public: bool) -> None:
        comment: dict[str, Any] = {"public": public}
        if isinstance(body, str):
            comment["body"] = body
        else:
            comment["html_body"] = render_html(None, body)
        await self._send("PUT", f"/api/v2/tickets/{ref.id}", json_body={"ticket": {"comment": comment}})

    async def transition(self, ref: TicketRef, to: TransitionTarget) -> None:
        ticket = await self._get_ticket(ref.id)
        current = self.state_from_fields(ref.id, ticket)
        if _already_there(current.category, to):
            logger.info("zendesk transition %s -> %s: already %s", ref.id, to, current.category)
            return
        if current.status == "closed":
            raise PermanentError(
                f"zendesk ticket {ref.id} is closed (read-only); open a follow-up", status=422
            )
        # Tags change before the status, so the status-change webhook already reads the right reason.
        ours = {k for k in self._tags if k != "closed_by_merge"}
        stale = [t for t in ticket.get("tags") or [] if str(t).lower() in ours]
        if to == "wont_do":
            stale = [t for t in stale if t != self.config.wont_do_tag]
            await self._add_tags(ref.id, [self.config.wont_do_tag])
        if stale:
            # A reason left over from an earlier close would misread this one.
            await self._send("DELETE", f"/api/v2/tickets/{ref.id}/tags", json_body={"tags": stale})
        status = _TARGET_STATUS[to]
        await self._send("PUT", f"/api/v2/tickets/{ref.id}", json_body={"ticket": {"status": status}})

    # --- inbound ----------------------------------------------------------------------------

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, secret: SecretStr | str, now: datetime
    ) -> InboundEvent:
        return webhook.parse(
            headers,
            body,
            secret,
            now,
            to_state=self.state_from_fields,
            tolerance=self.config.webhook_tolerance_seconds,
        )


def _already_there(category: Category, to: TransitionTarget) -> bool:
    if to in ("done", "wont_do"):
        return category in TERMINAL_CATEGORIES
    if to == "reopen":
        return category not in TERMINAL_CATEGORIES
    return category == "in_progress"
