"""Email as a channel: the message becomes a MIME email sent through the SMTP relay."""

from __future__ import annotations

from datetime import datetime

from integrations.base import PermanentError
from integrations.channels import OutboundMessage
from integrations.smtp.mime import HeaderInjectionError, address, build_message
from integrations.smtp.sender import SmtpConfig, SmtpSender


class EmailChannel:
    def __init__(self, config: SmtpConfig, *, from_name: str = "Seam") -> None:
        self._config = config
        self._from_name = from_name

    async def deliver(self, message: OutboundMessage, *, now: datetime) -> None:
        sender = str(self._config.from_address)
        try:
            msg = build_message(
                message,
                sender=address(self._from_name, sender, "From"),
                to=address(message.to_name, message.to_address),
                now=now,
                msgid_domain=sender.split("@", 1)[1],
                dedupe_key=message.key,
                images=message.images,
            )
        except HeaderInjectionError as exc:
            raise PermanentError(str(exc)) from None
        await SmtpSender(self._config).send(msg)
