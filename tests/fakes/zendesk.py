"""A stateful Zendesk Support stand-in: tickets with status, comments, tags, external_id, the
Idempotency-Key contract on create, `.json` path stripping, and signed event-subscription webhooks."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from openapi_core import OpenAPI

from tests.fakes import openapi, webhooks
from tests.fakes.server import Reply, Request, StandIn

_TICKET_PATH = re.compile(r"^/api/v2/tickets/(\d+)(/tags)?$")
RATE_HEADERS = {"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "699"}
RATE_LIMITED_TEXT = "You have exceeded the rate limit. Please wait and try again."


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_invalid(field_name: str, message: str) -> Reply:
    return Reply(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field_name: [{"description": message}]},
        },
    )


@dataclass
class Ticket:
    id: int
    subject: str
    description: str
    external_id: str | None
    tags: list[str]
    status: str = "new"
    priority: str | None = None
    type: str | None = None
    group_id: int | None = None
    due_at: str | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class ZendeskStandIn(StandIn):
    spec_host = openapi.ZENDESK_SPEC_HOST

    def __init__(self, email: str = "bot@example.com", api_token: str = "zd-token-s3cret") -> None:
        super().__init__()
        self.email, self.api_token = email, api_token
        self.tickets: dict[int, Ticket] = {}
        self._next_id = 35435
        # Idempotency-Key -> (request body digest, ticket id). Real keys expire after about 2 h.
        self.idempotency: dict[str, tuple[str, int]] = {}
        self.idempotency_mismatch_status = 400  # unverified vendor behaviour; configurable
        self.webhook_url: str | None = None
        self.webhook_secret = ""
        self.delivered: list[tuple[dict[str, str], bytes]] = []
        self._pending_webhook: dict[str, Any] | None = None

    def spec(self) -> OpenAPI:
        return openapi.zendesk_spec()

    def normalise_path(self, path: str) -> str:
        # The docs use `/api/v2/tickets.json`; the OAS has no `.json` paths.
        return path[: -len(".json")] if path.endswith(".json") else path

    def spec_violation_reply(self, errors: list[str], security: bool) -> Reply:
        if security:
            return Reply(401, {"error": "Couldn't authenticate you"})
        return Reply(
            400, {"errors": [{"code": "InvalidRequest", "title": "spec violation", "detail": errors[0]}]}
        )

    # --- test-side helpers (thread-safe) ----------------------------------------------------

    def with_external_id(self, external_id: str) -> list[Ticket]:
        with self.lock:
            return [t for t in self.tickets.values() if t.external_id == external_id]

    def add_ticket(
        self, subject: str, external_id: str | None = None, tags: list[str] | None = None
    ) -> Ticket:
        """A ticket created by someone else (e.g. a duplicate carrying the same external_id)."""
        with self.lock:
            return self._new_ticket(subject, "created by hand", external_id, tags or [])

    def set_status(self, ticket_id: int, status: str, add_tags: list[str] | None = None) -> dict[str, Any]:
        """An agent changes the status. Returns the event payload (also sent if subscribed)."""
        with self.lock:
            ticket = self.tickets[ticket_id]
            previous = ticket.status
            ticket.status = status
            ticket.tags.extend(t for t in add_tags or [] if t not in ticket.tags)
            ticket.updated_at = datetime.now(UTC)
            payload = self.event_payload(ticket, previous)
        self._deliver(payload)
        return payload

    def subscribe(self, url: str, secret: str) -> None:
        self.webhook_url, self.webhook_secret = url, secret

    def event_payload(self, ticket: Ticket, previous: str) -> dict[str, Any]:
        """A `zen:event-type:ticket.status_changed` envelope: string ids, upper-case statuses."""
        detail = {
            "id": str(ticket.id),
            "status": ticket.status.upper(),
            "subject": ticket.subject,
            "external_id": ticket.external_id,
            "tags": list(ticket.tags),
            "priority": (ticket.priority or "normal").upper(),
            "type": (ticket.type or "task").upper(),
            "group_id": str(ticket.group_id) if ticket.group_id else None,
            "created_at": _stamp(ticket.created_at),
            "updated_at": _stamp(ticket.updated_at),
        }
        return {
            "type": "zen:event-type:ticket.status_changed",
            "account_id": 12514403,
            "id": str(uuid.uuid4()),
            "time": _stamp(ticket.updated_at),
            "zendesk_event_version": "2022-11-06",
            "subject": f"zen:ticket:{ticket.id}",
            "detail": detail,
            "event": {"current": ticket.status.upper(), "previous": previous.upper()},
        }

    def _deliver(self, payload: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        headers, body = webhooks.zendesk_signed(payload, self.webhook_secret)
        self.delivered.append((headers, body))
        webhooks.deliver(self.webhook_url, headers, body)

    # --- request handling -------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.email}/token:{self.api_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def serve(self, request: Request) -> Reply:
        reply = self._route(request)
        reply.headers = {**RATE_HEADERS, **reply.headers}
        return reply

    def _route(self, request: Request) -> Reply:
        if not self._authorised(request):
            return Reply(401, {"error": "Couldn't authenticate you"})
        if request.path == "/api/v2/tickets" and request.method == "POST":
            return self._create(request)
        if request.path == "/api/v2/tickets" and request.method == "GET":
            found = [
                t
                for t in self.tickets.values()
                if "external_id" not in request.query or t.external_id == request.query["external_id"]
            ]
            body = [self._json(t) for t in sorted(found, key=lambda t: t.id)]
            return Reply(200, {"tickets": body, "count": len(body), "next_page": None, "previous_page": None})
        match = _TICKET_PATH.match(request.path)
        ticket = self.tickets.get(int(match.group(1))) if match else None
        if match is None or ticket is None:
            return Reply(404, {"error": "RecordNotFound", "description": "Not found"})
        if match.group(2) and request.method in ("PUT", "DELETE"):
            return self._tags(ticket, request.method, request.json() or {})
        if request.method == "GET" and not match.group(2):
            return Reply(200, {"ticket": self._json(ticket)})
        if request.method == "PUT" and not match.group(2):
            return self._update(ticket, (request.json() or {}).get("ticket") or {})
        return Reply(405, "Method not allowed")

    def _new_ticket(self, subject: str, description: str, external_id: str | None, tags: list[str]) -> Ticket:
        self._next_id += 1
        ticket = Ticket(self._next_id, subject, description, external_id, list(dict.fromkeys(tags)))
        self.tickets[ticket.id] = ticket
        return ticket

    def _create(self, request: Request) -> Reply:
        digest = hashlib.sha256(request.body).hexdigest()
        key = request.headers.get("idempotency-key")
        if key and key in self.idempotency:
            seen_digest, ticket_id = self.idempotency[key]
            if seen_digest != digest:
                return Reply(
                    self.idempotency_mismatch_status,
                    {
                        "error": "IdempotentRequestError",
                        "description": "Key reused with different parameters",
                    },
                )
            ticket = self.tickets[ticket_id]
            return self._created(ticket, {"x-idempotency-lookup": "hit"})
        data = (request.json() or {}).get("ticket") or {}
        comment = data.get("comment") or {}
        text = comment.get("body") or comment.get("html_body")
        if not text:
            return record_invalid("description", "Description: cannot be blank")
        ticket = self._new_ticket(
            data.get("subject") or text[:50], text, data.get("external_id"), data.get("tags") or []
        )
        for name in ("priority", "type", "group_id", "due_at"):
            if name in data:
                setattr(ticket, name, data[name])
        if "status" in data:
            ticket.status = data["status"]
        ticket.comments.append({**comment, "id": len(ticket.comments) + 1})
        if key:
            self.idempotency[key] = (digest, ticket.id)
        return self._created(ticket, {"x-idempotency-lookup": "miss"} if key else {})

    def _created(self, ticket: Ticket, headers: dict[str, str]) -> Reply:
        location = f"{self.base_url}/api/v2/tickets/{ticket.id}.json"
        return Reply(201, {"ticket": self._json(ticket)}, {"Location": location, **headers})

    def _update(self, ticket: Ticket, data: dict[str, Any]) -> Reply:
        if ticket.status == "closed":
            return record_invalid("status", "Status: closed prevents ticket update")
        previous = ticket.status
        for name in ("subject", "priority", "type", "group_id", "due_at", "status", "external_id"):
            if name in data:
                setattr(ticket, name, data[name])
        if "tags" in data:  # set semantics: the array replaces the tags
            ticket.tags = list(dict.fromkeys(data["tags"]))
        if data.get("comment"):
            ticket.comments.append({**data["comment"], "id": len(ticket.comments) + 1})
        ticket.updated_at = datetime.now(UTC)
        if ticket.status != previous:
            self._pending_webhook = self.event_payload(ticket, previous)
        return Reply(200, {"ticket": self._json(ticket), "audit": {"ticket_id": ticket.id, "events": []}})

    def _tags(self, ticket: Ticket, method: str, data: dict[str, Any]) -> Reply:
        if ticket.status == "closed":
            return record_invalid("status", "Status: closed prevents ticket update")
        given = data.get("tags") or []
        if method == "PUT":
            ticket.tags.extend(t for t in given if t not in ticket.tags)
        else:
            ticket.tags = [t for t in ticket.tags if t not in given]
            ticket.updated_at = datetime.now(UTC)
            return Reply(204)
        ticket.updated_at = datetime.now(UTC)
        return Reply(200, {"tags": list(ticket.tags)})

    def after_reply(self, request: Request, reply: Reply) -> None:
        with self.lock:
            payload, self._pending_webhook = self._pending_webhook, None
        if payload is not None and self.webhook_url:
            # From a helper thread: the receiver may share this server's event loop.
            threading.Thread(target=self._deliver, args=(payload,), daemon=True).start()

    def _json(self, ticket: Ticket) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": ticket.id,
            "url": f"{self.base_url}/api/v2/tickets/{ticket.id}.json",
            "subject": ticket.subject,
            "raw_subject": ticket.subject,
            "description": ticket.description,
            "status": ticket.status,
            "tags": list(ticket.tags),
            "requester_id": 20978392,
            "submitter_id": 20978392,
            "created_at": _stamp(ticket.created_at),
            "updated_at": _stamp(ticket.updated_at),
            "is_public": any(c.get("public") for c in ticket.comments),
        }
        # The OAS marks these non-nullable, so omit them rather than send null.
        optional = {
            "external_id": ticket.external_id,
            "priority": ticket.priority,
            "type": ticket.type,
            "group_id": ticket.group_id,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        body["due_at"] = ticket.due_at
        return body
