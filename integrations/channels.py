"""The boundary between Seam's messages to people and the channels that carry them (email now; chat
later). A channel knows its wire format and its vendor, and nothing of Seam's database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML shows by `cid:` reference, carried in the message itself so that a mail client
    shows it without fetching anything (remote images are blocked by default and tell who opened)."""

    cid: str  # without angle brackets, e.g. "trend.owner-pay@seam"
    content: bytes
    subtype: str = "png"  # image/<subtype>
    filename: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    to_address: str
    to_name: str
    subject: str
    html: str
    text: str
    # The sender's dedupe key, carried on the wire so that a duplicate after a crash can be recognised.
    key: str | None = None
    images: tuple[InlineImage, ...] = ()


class Channel(Protocol):
    async def deliver(self, message: OutboundMessage, *, now: datetime) -> None:
        """Delivers once, or raises an `integrations.base.IntegrationError` saying whether to retry."""
        ...
