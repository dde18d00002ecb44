"""A journey admin's rules cannot hurt the service.

Before: a rule regex such as `^(a+)+$` made ingest time grow exponentially with the text (Python's
backtracking engine); a fingerprint format such as `{order_id:d}` turned metadata of another type into
a 500 for the whole batch."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import auth, example_journey


def _journey_with(rule: dict[str, Any]) -> dict[str, Any]:
    journey = example_journey()
    journey["rules"] = [{"id": "hostile", "stage": "pay", **rule}, *journey.get("rules", [])]
    return journey


def test_a_catastrophic_regex_runs_in_linear_time(client: TestClient, admin_key: str) -> None:
    resp = client.put("/api/v1/journey", json=_journey_with({"regex": "^(a+)+$"}), headers=auth(admin_key))
    assert resp.status_code == 200, resp.text
    items = [{"source": "survey", "external_id": f"r-{n}", "text": "a" * (26 + n) + "!"} for n in range(5)]
    started = time.perf_counter()
    out = client.post("/api/v1/feedback/batch", json={"items": items}, headers=auth(admin_key))
    elapsed = time.perf_counter() - started
    assert out.status_code == 200 and out.json()["created"] == 5
    assert elapsed < 5, f"ingest took {elapsed:.1f} s"
    matched = client.post(
        "/api/v1/feedback", json={"source": "survey", "text": "AAAA"}, headers=auth(admin_key)
    )
    assert matched.json()["placement"]["method"] == "rule"  # case-insensitive, as before


def test_a_regex_that_needs_backtracking_is_refused_at_apply(client: TestClient, admin_key: str) -> None:
    resp = client.put("/api/v1/journey", json=_journey_with({"regex": r"(a)\1"}), headers=auth(admin_key))
    assert resp.status_code == 422
    assert any("rules[0].regex" in e["field"] for e in resp.json()["errors"]), resp.json()


def test_a_fingerprint_with_a_format_spec_is_refused_at_apply(client: TestClient, admin_key: str) -> None:
    for template in ("{order_id:d}", "{order_id!r}", "{order_id:>99999999}"):
        rule = {"contains_any": ["charged"], "fingerprint": template}
        resp = client.put("/api/v1/journey", json=_journey_with(rule), headers=auth(admin_key))
        assert resp.status_code == 422, template
        assert any("rules[0].fingerprint" in e["field"] for e in resp.json()["errors"]), resp.json()


def test_fingerprints_with_metadata_of_any_type_never_fail_a_batch(
    client: TestClient, admin_key: str
) -> None:
    rule = {"contains_any": ["charged"], "fingerprint": "order-{order_id}"}
    assert client.put("/api/v1/journey", json=_journey_with(rule), headers=auth(admin_key)).status_code == 200
    items = [
        {"source": "s", "external_id": f"f-{n}", "text": "charged twice", "metadata": {"order_id": value}}
        for n, value in enumerate(["A-1", 7, 1.5, True, [1, 2], {"x": 1}])
    ]
    out = client.post("/api/v1/feedback/batch", json={"items": items}, headers=auth(admin_key))
    assert out.status_code == 200, out.text
    assert out.json()["created"] == len(items)
