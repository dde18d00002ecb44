"""Outbox handler for `email`: the rendered parts become a MIME message sent over SMTP.

The SMTP relay comes from settings (SEAM_SMTP_*, SEAM_MAIL_FROM). The outbox row's dedupe key becomes the
message's `X-Seam-Key`, so a duplicate after a crash between send and completion can be recognised."""

from __future__ import annotations

from pydantic import ValidationError

from app.core.settings import Settings
from app.digests.mime import HeaderInjectionError, address, build_message
from app.digests.render import Rendered
from app.loop.mail import EMAIL_KIND
from app.outbox.handlers import JobContext, handles
from app.outbox.models import OutboxMessage
from integrations.base import PermanentError
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
