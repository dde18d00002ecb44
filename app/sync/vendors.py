"""Which vendor a sync message calls, for the worker's per-vendor limits: the contribution's integration
(one Jira site or Zendesk account), so a slow or rate-limited one holds back only its own messages."""

from __future__ import annotations

from sqlmodel import Session

from app.core.settings import Settings
from app.outbox.models import OutboxMessage
from app.sync.models import Contribution


def integration_of_contribution(session: Session, message: OutboxMessage, _settings: Settings) -> str:
    raw = message.payload.get("contribution_id")
    contribution = (
        session.get(Contribution, int(raw)) if isinstance(raw, int | str) and str(raw).isdigit() else None
    )
    if contribution is None:  # the handler finds nothing to do; any key will do
        return f"kind:{message.kind}"
    return f"integration:{contribution.integration_id}"
