"""Every process logs one JSON object a line, with time, level, logger, message, request id and actor;
SEAM_LOG_LEVEL reaches Seam's own loggers in each of them. Read from the real processes' stderr."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import Engine

from tests.support.api import make_key
from tests.support.net import free_port
from tests.support.processes import Running, seam_process

FIELDS = {"time", "level", "logger", "message", "request_id", "actor"}


def _env(engine: Engine, **extra: str) -> dict[str, str]:
    url = engine.url.render_as_string(hide_password=False)
    return {"SEAM_DATABASE_URL": url, "SEAM_LOG_LEVEL": "DEBUG", "SEAM_LOG_FORMAT": "json", **extra}


def _records(running: Running) -> list[dict[str, Any]]:
    records = []
    for line in running.drain():
        record = json.loads(line)  # every line is JSON, uvicorn's own included
        assert record.keys() >= FIELDS, line
        records.append(record)
    return records


def _is_json(line: str) -> bool:
    return line.startswith("{")


def test_a_request_logs_json_with_its_request_id_and_actor(engine: Engine) -> None:
    key = make_key(engine, ["read"], "dashboards")
    port = free_port()
    with seam_process("serve", "--port", str(port), env=_env(engine)) as served:
        served.wait_for(lambda line: "Uvicorn running" in line or "Application startup complete" in line)
        base = f"http://127.0.0.1:{port}"
        mine = httpx.get(
            f"{base}/api/v1/issues",
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "trace-123"},
        )
        unsafe = 'bad id {"x": 1} ' + "y" * 300
        theirs = httpx.get(f"{base}/api/v1/issues", headers={"X-Request-ID": unsafe})
        # A query string can name a person or a customer's words: the access line keeps the path only.
        query = "owner=ana.secret%40example.com"
        httpx.get(f"{base}/api/v1/issues?{query}", headers={"X-Request-ID": "with-query"})
        records = _records(served)
    assert mine.status_code == 200 and mine.headers["x-request-id"] == "trace-123"
    assert theirs.status_code == 401
    generated = theirs.headers["x-request-id"]
    assert generated != "trace-123" and "\n" not in generated and len(generated) == 32
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    ours = next(r for r in access if r["request_id"] == "trace-123")
    assert ours["level"] == "INFO" and "/api/v1/issues" in ours["message"] and ours["time"].endswith("+00:00")
    assert ours["actor"].startswith("key:") and ours["actor"].endswith(":dashboards")
    assert key not in json.dumps(records)
    queried = next(r for r in access if r["request_id"] == "with-query")
    assert "/api/v1/issues?" in queried["message"] and "ana.secret" not in json.dumps(records)
    refused = next(r for r in access if r["request_id"] == generated)
    assert refused["actor"] is None
    # DEBUG reached Seam's own loggers in the API process, not only uvicorn's.
    assert any(r["logger"].startswith("seam") and r["level"] == "DEBUG" for r in records)


def test_the_worker_and_the_scheduler_log_json_at_the_level_set(engine: Engine) -> None:
    for command, started in (("worker", "outbox worker"), ("scheduler", "scheduler running")):
        with seam_process(command, env=_env(engine)) as running:
            running.wait_for(lambda line, started=started: started in line)  # type: ignore[misc]
            records = _records(running)
        assert all(_is_json(line) for line in running.lines), running.lines
        assert any(r["level"] == "DEBUG" and r["logger"].startswith("seam") for r in records), command
        assert any(started in r["message"] and r["level"] == "INFO" for r in records), command


def test_text_format_when_asked(engine: Engine) -> None:
    with seam_process("worker", env=_env(engine, SEAM_LOG_FORMAT="text", SEAM_LOG_LEVEL="INFO")) as running:
        line = running.wait_for(lambda line: "outbox worker" in line)
        lines = running.drain()
    assert " INFO seam.outbox " in line and not line.startswith("{")
    assert not any(" DEBUG " in other for other in lines)
