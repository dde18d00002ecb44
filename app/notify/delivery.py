"""The outbox handler for `email`: the queued parts go out through the email channel.

Charts queued as data are drawn here, in a worker thread, and carried as inline images.

The SMTP relay comes from settings (SEAM_SMTP_*, SEAM_MAIL_FROM). The outbox row's dedupe key travels
with the message (`X-Seam-Key`), so a duplicate after a crash between send and completion can be
recognised."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.core.settings import Settings
from app.notify.chart_images import png
from app.notify.charts import Chart
from app.outbox.handlers import JobContext
from app.outbox.models import OutboxMessage
from integrations.base import PermanentError
from integrations.channels import InlineImage, OutboundMessage
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


def inline_images(charts: list[dict[str, Any]]) -> tuple[InlineImage, ...]:
    try:
        parsed = [Chart.model_validate(c) for c in charts]
    except ValidationError as exc:
        raise PermanentError(f"a queued chart is invalid: {exc.errors()[0]['msg']}") from None
    return tuple(
        InlineImage(cid=c.cid, content=png(c), subtype="png", filename=c.cid.split("@")[0] + ".png")
        for c in parsed
    )


async def send_email(ctx: JobContext, message: OutboxMessage) -> None:
    p = message.payload
    images = await asyncio.to_thread(inline_images, p.get("charts") or [])
    outbound = OutboundMessage(
        to_address=p["to_email"],
        to_name=p.get("to_name") or "",
        subject=p["subject"],
        html=p["html"],
        text=p["text"],
        key=message.dedupe_key,
        images=images,
    )
    await EmailChannel(smtp_config(ctx.settings)).deliver(outbound, now=ctx.now)


def smtp_vendor(_session: Session, _message: OutboxMessage, settings: Settings) -> str:
    """Every email goes through the one relay: it is one vendor, whatever the recipient."""
    return f"smtp:{settings.smtp_host}:{settings.smtp_port}"
