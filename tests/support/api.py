"""Helpers for driving the public API in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.auth.service import create_key
from app.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_JOURNEY = ROOT / "examples" / "journey.yaml"


def make_key(engine: Engine, scopes: list[str], name: str | None = None) -> str:
    with Session(engine) as session:
        _, token = create_key(session, name or "-".join(scopes), scopes)
        session.commit()
    return token


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def example_journey(
    *, touchpoint_grouping: str = "touchpoint", evidence: dict[str, int] | None = None
) -> dict[str, Any]:
    """The example journey. Tests about issues, sync and the loop open issues by posting items at a
    touchpoint and expect them to share one, whatever they say, and to be an owner's issue from its
    first item; so by default touchpoint items get one issue per touchpoint here, and one item is
    evidence enough. The shipped journey groups them by text (`similarity`) and lets similar items
    gather in an emerging group first, which the routing tests and the demo cover."""
    data: dict[str, Any] = yaml.safe_load(EXAMPLE_JOURNEY.read_text())
    routing = data.setdefault("routing", {})
    routing["touchpoint_grouping"] = touchpoint_grouping
    routing["evidence"] = evidence or {"items": 1, "customers": 0, "detractors": 0}
    return data


def apply_example_journey(client: TestClient, admin_key: str) -> dict[str, Any]:
    resp = client.put("/api/v1/journey", json=example_journey(), headers=auth(admin_key))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


# Not the development secret, which is refused on PostgreSQL.
TEST_SECRET = "test-secret-for-seams-own-tests-only"


def settings_for(engine: Engine, **overrides: Any) -> Settings:
    """Settings for an app under test: the test drives the outbox itself, and stand-ins live on loopback."""
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "inprocess_worker": False,
        "allow_private_network": True,
        "secret_key": TEST_SECRET,
    }
    values.update(overrides)
    return Settings(**values)
