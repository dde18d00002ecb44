from __future__ import annotations

import logging

from app.core.logsafety import RedactWebhookTokens


def _record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "POST", path, "1.1", 202),
        None,
    )


def test_qualtrics_token_is_redacted_from_access_logs() -> None:
    record = _record("/webhooks/12/s3cr3t-token-abcdefghijklmnop?x=1")
    assert RedactWebhookTokens().filter(record)
    line = record.getMessage()
    assert "s3cr3t" not in line and "/webhooks/12/[redacted]?x=1" in line


def test_other_paths_are_left_alone() -> None:
    for path in ("/webhooks/12", "/api/v1/issues/3", "/webhooks/jira/3"):
        record = _record(path)
        RedactWebhookTokens().filter(record)
        assert path in record.getMessage()
