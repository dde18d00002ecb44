"""Floods: bad keys, webhook deliveries and sign-in requests are limited per client address (and per key
or email address), answered 429 with Retry-After. Before: 150 bad-key requests got 150 x 401."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from tests.support.api import auth, make_key, settings_for
from tests.web.helpers import apply_journey, csrf_of


@pytest.fixture
def limited(engine: Engine) -> Iterator[TestClient]:
    settings = settings_for(
        engine, rate_auth_failures_per_minute=10, rate_webhooks_per_minute=20, rate_sign_in_per_hour=3
    )
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client


def test_bad_keys_get_429_with_retry_after_after_the_limit(limited: TestClient, engine: Engine) -> None:
    codes = []
    for n in range(150):
        resp = limited.get("/api/v1/issues", headers=auth(f"seam_{n:040d}"))
        codes.append(resp.status_code)
    assert codes[:10] == [401] * 10
    assert set(codes[11:]) == {429}
    resp = limited.get("/api/v1/issues", headers=auth("seam_" + "y" * 40))
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["retry-after"]) <= 60
    assert resp.headers["content-type"] == "application/problem+json"


def test_missing_keys_count_too(limited: TestClient) -> None:
    codes = [limited.get("/api/v1/issues").status_code for _ in range(15)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429


def test_good_keys_are_not_counted(limited: TestClient, engine: Engine) -> None:
    key = make_key(engine, ["read"])
    codes = {limited.get("/api/v1/issues", headers=auth(key)).status_code for _ in range(30)}
    assert codes == {200}


def test_a_webhook_flood_gets_429(limited: TestClient) -> None:
    codes = [limited.post("/webhooks/7", content=b"{}").status_code for _ in range(30)]
    assert 429 in codes and codes[:20].count(429) == 0
    resp = limited.post("/webhooks/7", content=b"{}")
    assert resp.status_code == 429 and int(resp.headers["retry-after"]) >= 1
    # Another receiver's URL has its own count.
    assert limited.post("/webhooks/jira/7", content=b"{}").status_code == 401


def test_sign_in_links_are_limited_per_email_across_the_cluster(limited: TestClient, engine: Engine) -> None:
    apply_journey(engine)
    form = limited.get("/sign-in")
    data = {"email": "kim.lee@boxwise.example", "csrf": csrf_of(form.text)}
    codes = [limited.post("/sign-in", data=data).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    with engine.connect() as conn:
        sent = conn.execute(text("SELECT count(*) FROM outbox_messages WHERE kind = 'email'")).scalar()
        buckets = conn.execute(text("SELECT bucket FROM rate_windows")).scalars().all()
    assert sent == 3
    # The counts are in the database, where every replica sees them; they hold no address in clear.
    assert buckets and not any("kim" in b or "testclient" in b for b in buckets)
    # A second process (another replica) sees the same count.
    other = settings_for(engine, rate_sign_in_per_hour=3)
    with TestClient(create_app(other, engine)) as replica:
        form = replica.get("/sign-in")
        again = replica.post("/sign-in", data={**data, "csrf": csrf_of(form.text)})
    assert again.status_code == 429
