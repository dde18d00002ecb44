"""Keeps secrets that travel in URLs (Qualtrics' webhook token) out of access logs."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_PATH = re.compile(r"^(/webhooks/\d+/)[^/?\s]+")


class RedactWebhookTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access records carry (client, method, path, http version, status) as args.
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _TOKEN_IN_PATH.sub(r"\1[redacted]", args[2]), *args[3:])
        return True


def install() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactWebhookTokens) for f in access.filters):
        access.addFilter(RedactWebhookTokens())
