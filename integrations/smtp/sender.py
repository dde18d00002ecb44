"""SMTP adapter: sends one `email.message.EmailMessage` and maps every failure to a typed error.

- `RetryableError`: connection refused or dropped, timeouts, TLS hiccups, any 4xx reply (greylisting,
  mailbox busy, 421 service closing).
- `PermanentError`: any 5xx reply (550 mailbox unknown, 554 rejected, 535 bad credentials), STARTTLS
  required but not offered, a certificate that does not verify, a message with no recipient.

The password lives in a `SecretStr` and is read only at the moment of the AUTH exchange: it never
appears in the config's or the sender's str/repr, in error messages or in logs.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any, Literal

import aiosmtplib
from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr, model_validator

from integrations.base import IntegrationError, PermanentError, RetryableError
from integrations.calls import vendor_call

logger = logging.getLogger("integrations.smtp")

_MAX_MESSAGE = 300


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: Literal["off", "on", "required"] = Field(
        default="required",
        description="on: upgrade when the server offers it; required: refuse to send without",
    )
    implicit_tls: bool = Field(default=False, description="TLS from the first byte (port 465)")
    username: str | None = None
    password: SecretStr | None = None
    from_address: EmailStr
    from_name: str | None = Field(default=None, max_length=200)
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    validate_certs: bool = True
    ca_file: str | None = Field(default=None, description="PEM bundle to verify the server against")
    local_hostname: str | None = None
    allow_plaintext_auth: bool = Field(
        default=False, description="let credentials cross an unencrypted connection (loopback relays only)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> SmtpConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: set both or neither")
        if self.implicit_tls and self.starttls != "off":
            raise ValueError("implicit_tls already encrypts the connection: set starttls to 'off'")
        encrypted = self.implicit_tls or self.starttls == "required"
        if self.username is not None and not encrypted and not self.allow_plaintext_auth:
            raise ValueError(
                "credentials need an encrypted connection: set starttls to 'required' or implicit_tls "
                "(or allow_plaintext_auth for a loopback relay)"
            )
        for name in ("host", "from_name", "username", "local_hostname"):
            value = getattr(self, name)
            if value is not None and ("\r" in value or "\n" in value):
                raise ValueError(f"{name} may not contain line breaks")
        return self


class SendResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str | None
    accepted: list[str]
    refused: dict[str, str] = Field(default_factory=dict, description="address -> server reply, partial")
    reply: str


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _by_code(code: int, what: str, text: str) -> IntegrationError:
    message = _trim(f"{what}: {code} {text}")
    if 400 <= code < 500:
        return RetryableError(message, status=code)
    return PermanentError(message, status=code)


def map_error(exc: BaseException, where: str) -> IntegrationError:
    """aiosmtplib / socket / ssl failures -> our typed errors. Only reply codes and texts are kept."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if any(400 <= c < 500 for c in codes):
            return RetryableError(_trim(f"recipients refused at {where}: {detail}"), status=min(codes))
        return PermanentError(_trim(f"recipients refused at {where}: {detail}"), status=max(codes or [550]))
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return _by_code(exc.code, f"authentication failed at {where}", exc.message)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return _by_code(exc.code, f"sender refused at {where}", exc.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 400:
        return _by_code(exc.code, f"{where} answered", exc.message)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return RetryableError(f"timed out talking to {where}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentError(_trim(f"certificate of {where} did not verify: {exc.verify_message}"))
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentError(_trim(f"{where} does not support what the configuration requires: {exc}"))
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | OSError):
        return RetryableError(_trim(f"could not talk to {where}: {type(exc).__name__}"))
    return RetryableError(_trim(f"SMTP error at {where}: {type(exc).__name__}"))


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def __repr__(self) -> str:
        return f"SmtpSender(host={self.config.host!r}, port={self.config.port!r})"

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    async def send(self, message: EmailMessage, recipients: Sequence[str] | None = None) -> SendResult:
        """Send `message` to `recipients` (default: its To/Cc/Bcc). The envelope sender is the configured
        from address; a message without a From header gets it too."""
        cfg = self.config
        if message["From"] is None:
            message["From"] = Address(display_name=cfg.from_name or "", addr_spec=str(cfg.from_address))
        if recipients is None:
            fields = [str(v) for k in ("To", "Cc", "Bcc") for v in message.get_all(k, [])]
            recipients = [addr for _, addr in getaddresses(fields) if addr]
        if not recipients:
            raise PermanentError("the message has no recipient")
        start_tls = {"off": False, "on": None, "required": True}[cfg.starttls]
        async with vendor_call():
            refused, reply = await self._send(message, recipients, start_tls)
        accepted = [r for r in recipients if r not in refused]
        message_id = message["Message-ID"]
        logger.info("smtp sent %s to %d recipient(s) via %s", message_id, len(accepted), self.where)
        return SendResult(
            message_id=message_id,
            accepted=accepted,
            refused={addr: _trim(f"{resp.code} {resp.message}") for addr, resp in refused.items()},
            reply=_trim(reply),
        )

    async def _send(
        self, message: EmailMessage, recipients: Sequence[str], start_tls: bool | None
    ) -> tuple[dict[str, Any], str]:
        cfg = self.config
        try:
            refused, reply = await aiosmtplib.send(
                message,
                sender=str(cfg.from_address),
                recipients=list(recipients),
                hostname=cfg.host,
                port=cfg.port,
                username=cfg.username,
                password=cfg.password.get_secret_value() if cfg.password is not None else None,
                use_tls=cfg.implicit_tls,
                start_tls=start_tls,
                validate_certs=cfg.validate_certs,
                cert_bundle=cfg.ca_file,
                local_hostname=cfg.local_hostname,
                timeout=cfg.timeout_seconds,
            )
        except Exception as exc:
            error = map_error(exc, self.where)
            logger.warning("smtp send failed: %s", error.message)
            raise error from None
        return refused, reply
