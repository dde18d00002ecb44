"""Outbox handlers: `email` (the rendered parts become a MIME message sent over SMTP) and
`loop.zendesk_comment` (a customer notice as a public comment on their Zendesk ticket).

The SMTP relay comes from settings (SEAM_SMTP_*, SEAM_MAIL_FROM). The outbox row's dedupe key becomes the
message's `X-Seam-Key`, so a duplicate after a crash between send and completion can be recognised."""

from __future__ import annotations

from pydantic import ValidationError
from sqlmodel import Session

from app.core.settings import Settings
from app.digests.mime import HeaderInjectionError, address, build_message
from app.digests.render import Rendered
from app.loop.customers import ZENDESK_KIND
from app.loop.mail import EMAIL_KIND
from app.outbox.handlers import JobContext, handles
from app.outbox.models import OutboxMessage
from integrations.base import PermanentError, TicketRef
from integrations.smtp import SmtpConfig, SmtpSender


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


@handles(ZENDESK_KIND)
async def zendesk_comment(ctx: JobContext, message: OutboxMessage) -> None:
    """A customer notice as a public comment on the Zendesk ticket the customer wrote from."""
    from app.sync.handlers import tracker_for
    from app.sync.models import Integration

    p = message.payload
    with Session(ctx.engine) as session:
        integration = session.get(Integration, p["integration_id"]) if p.get("integration_id") else None
    if integration is None or integration.vendor != "zendesk":
        raise PermanentError("the Zendesk integration for this notice is gone")
    ticket = str(p["ticket_id"])
    async with tracker_for(ctx, integration) as tracker:
        await tracker.comment(
            TicketRef(vendor="zendesk", id=ticket, key=ticket, url=""), p["body"], public=True
        )


@handles(EMAIL_KIND)
async def send_email(ctx: JobContext, message: OutboxMessage) -> None:
    p = message.payload
    config = smtp_config(ctx.settings)
    rendered = Rendered(subject=p["subject"], html=p["html"], text=p["text"])
    try:
        msg = build_message(
            rendered,
            sender=address("Seam", str(config.from_address), "From"),
            to=address(p.get("to_name") or "", p["to_email"]),
            now=ctx.now,
            msgid_domain=str(config.from_address).split("@", 1)[1],
            dedupe_key=message.dedupe_key,
        )
    except HeaderInjectionError as exc:
        raise PermanentError(str(exc)) from None
    await SmtpSender(config).send(msg)
