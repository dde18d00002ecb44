"""The outbox handler for `email`: the queued parts go out through the email channel.

The SMTP relay comes from settings (SEAM_SMTP_*, SEAM_MAIL_FROM). The outbox row's dedupe key travels
with the message (`X-Seam-Key`), so a duplicate after a crash between send and completion can be
recognised."""

from __future__ import annotations

from pydantic import ValidationError
from sqlmodel import Session

from app.core.settings import Settings
from app.outbox.handlers import JobContext
from app.outbox.models import OutboxMessage
from integrations.base import PermanentError
from integrations.channels import OutboundMessage
from integrations.smtp import SmtpConfig
from integrations.smtp.channel import EmailChannel


def smtp_config(settings: Settings) -> SmtpConfig:
    try:
        return SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            from_address=settings.mail_from,
            from_name="Seam",
        )
    except ValidationError as exc:
        raise PermanentError(f"SMTP settings are invalid: {exc.errors()[0]['msg']}") from None


async def send_email(ctx: JobContext, message: OutboxMessage) -> None:
    p = message.payload
    outbound = OutboundMessage(
        to_address=p["to_email"],
        to_name=p.get("to_name") or "",
        subject=p["subject"],
        html=p["html"],
        text=p["text"],
        key=message.dedupe_key,
    )
    await EmailChannel(smtp_config(ctx.settings)).deliver(outbound, now=ctx.now)


def smtp_vendor(_session: Session, _message: OutboxMessage, settings: Settings) -> str:
    """Every email goes through the one relay: it is one vendor, whatever the recipient."""
    return f"smtp:{settings.smtp_host}:{settings.smtp_port}"
