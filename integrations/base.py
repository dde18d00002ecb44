"""The ticket-tracker boundary: typed errors, plain data models and the `TicketTracker` protocol.

Adapters (Jira, Zendesk) implement `TicketTracker`. They take and return the pydantic models below and
raise only the errors below, so callers (the outbox worker, the webhook inbox) never see httpx or a
vendor's JSON. Nothing here touches a database or imports `app`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

Vendor = Literal["jira", "zendesk"]

# Several terminal meanings on purpose: "done" confirms a fix, the others close a contribution without one.
Category = Literal["open", "in_progress", "done", "wont_do", "duplicate", "cannot_reproduce"]
TERMINAL_CATEGORIES: frozenset[str] = frozenset({"done", "wont_do", "duplicate", "cannot_reproduce"})

TransitionTarget = Literal["in_progress", "done", "wont_do", "reopen"]
Priority = Literal["urgent", "high", "normal", "low"]
SignatureReason = Literal["missing", "mismatch", "stale", "malformed"]


# --- errors -------------------------------------------------------------------------------------


class IntegrationError(Exception):
    """Base of every error an adapter raises. Messages never carry credentials."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class RetryableError(IntegrationError):
    """Try again later: 429, 5xx, timeouts, dropped connections. `retry_after` is in seconds when known."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status  # None when no response arrived (timeout, reset): the outcome is unknown

    def __repr__(self) -> str:
        return f"RetryableError({self.message!r}, retry_after={self.retry_after!r}, status={self.status!r})"


class PermanentError(IntegrationError):
    """Retrying the same request cannot succeed (4xx, bad config, unsupported payload)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def __repr__(self) -> str:
        return f"PermanentError({self.message!r}, status={self.status!r})"


class WebhookSignatureError(IntegrationError):
    """Missing, malformed, wrong or stale webhook signature. The caller answers 401 and stores nothing.

    `reason` is required and keyword-only: missing / malformed / mismatch / stale. "stale" means a
    genuine signature outside the replay window. The message names the header and what was wrong
    with it, never a secret or a digest.
    """

    def __init__(self, message: str, *, reason: SignatureReason) -> None:
        super().__init__(message)
        self.reason: SignatureReason = reason

    def __repr__(self) -> str:
        return f"WebhookSignatureError({self.message!r}, reason={self.reason!r})"


class UnsupportedWebhookEvent(PermanentError):
    """A correctly signed delivery that carries no ticket state we track (e.g. a comment event)."""


class UnsafeURLError(IntegrationError, ValueError):
    """A base URL that is not https or points at a private/loopback/link-local/reserved address.

    Also a ValueError so pydantic validators turn it into a validation error.
    """


# --- models -------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TicketDescription(_Model):
    """What a team needs to act; each adapter renders it (ADF for Jira, HTML for Zendesk)."""

    stage: str
    moment: str | None = None
    impact: str
    verbatims: list[str] = Field(default_factory=list)
    link: str | None = None


class TicketTarget(_Model):
    """Where the ticket goes: `project_key` + `issue_type` for Jira, `group_id` for Zendesk."""

    project_key: str | None = None
    issue_type: str = "Task"
    group_id: int | None = None


class TicketDraft(_Model):
    seam_issue_id: str = Field(min_length=1, description="our id, e.g. 'EI-118'")
    summary: str = Field(min_length=1, max_length=255)
    description: TicketDescription
    labels: list[str] = Field(default_factory=list)
    priority: Priority | None = None
    due_date: date | None = None
    target: TicketTarget


class TicketUpdate(_Model):
    """Fields to change; None means leave as is. Labels are only ever added, so our id label survives."""

    summary: str | None = Field(default=None, min_length=1, max_length=255)
    description: TicketDescription | None = None
    add_labels: list[str] = Field(default_factory=list)
    priority: Priority | None = None
    due_date: date | None = None


class TicketRef(_Model):
    vendor: Vendor
    id: str = Field(description="numeric/opaque id; stable when a Jira issue moves project")
    key: str = Field(description="human key (CX-42); may change on a move. Equals id for Zendesk")
    url: str


class TicketState(_Model):
    ref: TicketRef
    status: str = Field(description="the vendor's status name, as shown to people")
    category: Category
    resolution: str | None = None
    updated_at: datetime | None = None


class InboundEvent(_Model):
    delivery_id: str = Field(description="dedupe key: unchanged across the vendor's retries")
    vendor: Vendor
    event_type: str
    ticket_id: str
    state: TicketState
    occurred_at: datetime
    seam_label: str | None = Field(default=None, description="our id label/external_id, when present")


# --- shared helpers -----------------------------------------------------------------------------

_LABEL_JUNK = re.compile(r"[^a-z0-9_.-]+")


def normalise_label(raw: str) -> str:
    """Lower-case, no spaces: Jira labels cannot contain spaces and Zendesk splits tags on them."""
    cleaned = _LABEL_JUNK.sub("-", raw.strip().lower()).strip("-")
    return re.sub(r"-{2,}", "-", cleaned)[:255]


def seam_label(seam_issue_id: str) -> str:
    """The marker we put on the far side at create time: 'EI-118' -> 'seam-ei-118'."""
    return normalise_label(f"seam-{seam_issue_id}")


def key_label(idempotency_key: str) -> str:
    """A second marker, per create request. One experience issue can have several contributions
    (one ticket per team), so the retry of a create must look for *its* ticket, not any ticket of the
    issue. Hashed: the key may be long or hold characters labels cannot."""
    return "seam-k-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


# --- the protocol -------------------------------------------------------------------------------


@runtime_checkable
class TicketTracker(Protocol):
    vendor: Vendor

    async def create(self, draft: TicketDraft, idempotency_key: str) -> TicketRef:
        """Create the ticket. Safe to call again with the same `idempotency_key` (e.g. the outbox row
        id) after an ambiguous failure: the ticket that request created is returned, not a second one.
        A different key for the same seam issue (another team's contribution) creates its own ticket."""
        ...

    async def update(self, ref: TicketRef, fields: TicketUpdate) -> None: ...

    async def comment(self, ref: TicketRef, body: str | TicketDescription, public: bool) -> None: ...

    async def transition(self, ref: TicketRef, to: TransitionTarget) -> None:
        """Move the ticket; a no-op when it is already there (transitions are not idempotent)."""
        ...

    async def get(self, ref: TicketRef) -> TicketState: ...

    async def find_by_seam_id(self, seam_issue_id: str) -> TicketRef | None:
        """The oldest ticket carrying our id (label / external_id), or None."""
        ...

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, secret: SecretStr | str, now: datetime
    ) -> InboundEvent:
        """Verify the signature over the raw bytes first, then parse. Raises WebhookSignatureError."""
        ...

    async def aclose(self) -> None: ...
