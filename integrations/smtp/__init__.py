"""SMTP adapter (aiosmtplib): STARTTLS, credentials, typed errors."""

from integrations.smtp.sender import SendResult, SmtpConfig, SmtpSender, map_error

__all__ = ["SendResult", "SmtpConfig", "SmtpSender", "map_error"]
