"""The boundary between Seam's messages to people and the channels that carry them (email now; chat
later). A channel knows its wire format and its vendor, and nothing of Seam's database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutboundMessage:
    to_address: str
    to_name: str
    subject: str
    html: str
    text: str
    # The sender's dedupe key, carried on the wire so that a duplicate after a crash can be recognised.
    key: str | None = None


class Channel(Protocol):
    async def deliver(self, message: OutboundMessage, *, now: datetime) -> None:
        """Delivers once, or raises an `integrations.base.IntegrationError` saying whether to retry."""
        ...
