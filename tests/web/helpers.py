"""Helpers for the page tests: a journey with a viewer, seeded issues and triage items, signing in."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.settings import Settings
from app.intake import ingest as feedback
from app.journey import service as journeys
from app.people import service as people
from tests.support.api import example_journey

VIEWER = {"id": "vic", "name": "Vic Viewer", "email": "vic@boxwise.example"}


def journey_with_viewer() -> dict[str, Any]:
    """The example journey plus a person on no team and owning no stage: a viewer."""
    data = example_journey()
    data["people"] = [*data["people"], VIEWER]
    return data


def apply_journey(engine: Engine) -> None:
    with Session(engine) as session:
        journeys.apply(session, journey_with_viewer(), actor="test")
        session.commit()
    journeys._parsed.clear()


def ingest(engine: Engine, raw: list[dict[str, Any]]) -> list[int]:
    """Stores items through the one ingest path; returns their ids."""
    with Session(engine, expire_on_commit=False) as session:
        good, bad = feedback.validate_raw(raw)
        assert not bad
        results = feedback.ingest(session, journeys.current(session), good, Actor("test"))
        session.commit()
    return [int(r.id) for r in results if r.id is not None]


def item(n: int, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": extra.pop("source", "web"),
        "external_id": f"w-{n}",
        "text": text,
        "occurred_at": "2026-11-20T10:00:00Z",
        "customer_ref": f"cust-{n}",
        **extra,
    }


def seed(engine: Engine) -> dict[str, list[int]]:
    """Two issues on the Buy stage (checkout, promo code) and five items for triage."""
    checkout = [
        item(
            i,
            "The checkout page froze when I pressed pay",
            touchpoint="checkout-survey",
            score=1,
            scale="csat",
        )
        for i in range(3)
    ]
    promo = [
        item(10 + i, "My promo code was rejected", touchpoint="promo-banner", score=2, scale="csat")
        for i in range(2)
    ]
    loose = [item(20 + i, f"Something odd happened with my thing number {i}") for i in range(5)]
    ingest(engine, checkout + promo)
    return {"triage": ingest(engine, loose)}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, settings: Settings, person: str, now: datetime | None = None) -> None:
    link = people.sign_in_link(settings.secret_key.get_secret_value(), "", person, now or utcnow())
    page = client.get(link)
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    done = client.post(
        "/sign-in/link", data={"csrf": csrf_of(page.text), "token": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text


def issue_ids(client: TestClient) -> list[int]:
    return [int(i) for i in re.findall(r'data-issue="(\d+)"', client.get("/").text)]
