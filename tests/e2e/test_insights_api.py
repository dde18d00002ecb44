"""The insight API on a small fixture whose figures are worked out by hand in each test."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import auth, make_key

OCT, NOV = "2026-10-10T12:00:00Z", "2026-11-10T12:00:00Z"
WINDOW = {"since": "2026-10-01T00:00:00Z", "until": "2026-12-01T00:00:00Z", "bucket": "month"}


def _items(prefix: str, at: str, persona: str, scores: list[int], **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "source": extra.get("source", "survey"),
            "external_id": f"{prefix}-{n}",
            "text": "my first box",
            "score": s,
            "scale": extra.get("scale", "nps"),
            "touchpoint": extra.get("touchpoint", "first-box-nps"),
            "persona": persona,
            "customer_ref": f"{prefix}-c{n}",
            "occurred_at": at,
        }
        for n, s in enumerate(scores)
    ]


def _post(client: TestClient, key: str, items: list[dict[str, Any]]) -> None:
    resp = client.post("/api/v1/feedback/batch", json={"items": items}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    assert all(r["status"] == "created" for r in resp.json()["results"]), resp.text


def _series(body: dict[str, Any], persona: str, moment: str | None) -> dict[str, Any]:
    (found,) = [s for s in body["series"] if s["persona"] == persona and s["moment"] == moment]
    return found


def test_persona_trends_flag_a_significant_drop_and_not_a_small_sample(
    journey_client: TestClient, admin_key: str
) -> None:
    c = journey_client
    # Families, first box: October 20 promoters, 10 passives, 10 detractors of 40 -> NPS 25;
    # November 8 / 12 / 20 -> NPS -30. z = 55 / 18.010 = 3.05, p = 0.0023: flagged.
    _post(c, admin_key, _items("fo", OCT, "family", [10] * 20 + [8] * 10 + [2] * 10))
    _post(c, admin_key, _items("fn", NOV, "family", [10] * 8 + [7] * 12 + [0] * 20))
    # Singles: the same shares on ten scores a month: below the minimum sample of 30, not flagged.
    _post(c, admin_key, _items("so", OCT, "single", [10] * 5 + [8] * 3 + [2] * 2))
    _post(c, admin_key, _items("sn", NOV, "single", [10] * 2 + [7] * 3 + [0] * 5))
    # Staff checks stay out of customer figures: ten zeros from staff would pull November down further.
    _post(c, admin_key, _items("st", NOV, "family", [0] * 10, source="staff"))

    resp = c.get("/api/v1/insights/personas", params={**WINDOW, "stage": "onboard"}, headers=auth(admin_key))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    family = _series(body, "family", "first-box")
    assert family["figure"] == "nps" and family["persona_name"] == "Busy family"
    oct_, nov = family["points"]
    assert (oct_["start"], oct_["n"], oct_["value"]) == ("2026-10-01", 40, 25.0)
    # SE = 100 * sqrt((0.5 + 0.25 - 0.0625) / 40) = 13.110; 25 ± 25.70
    assert round(oct_["low"], 2) == -0.70 and round(oct_["high"], 2) == 50.70
    assert (nov["n"], nov["value"]) == (40, -30.0)
    assert family["drop"]["significant"] is True
    assert round(family["drop"]["p_value"], 4) == 0.0023
    assert _series(body, "family", None)["points"][1]["n"] == 40  # the stage level counts the same items
    single = _series(body, "single", "first-box")
    assert single["points"][1]["value"] == -30.0 and single["drop"]["significant"] is False
    assert "fewer than 30" in single["drop"]["reason"]
    assert [(s["persona"], s["moment"]) for s in body["drops"]] == [("family", None), ("family", "first-box")]
    # A bucket still filling is shown but not judged: with November incomplete there is no pair to compare.
    partial = c.get(
        "/api/v1/insights/personas",
        params={**WINDOW, "stage": "onboard", "until": "2026-11-20T00:00:00Z"},
        headers=auth(admin_key),
    ).json()
    assert _series(partial, "family", "first-box")["points"][1]["n"] == 40
    assert _series(partial, "family", "first-box")["drop"] is None and partial["drops"] == []


def test_persona_trends_refuse_bad_input_by_field(journey_client: TestClient, admin_key: str) -> None:
    h = auth(admin_key)
    bad = journey_client.get("/api/v1/insights/personas", params={"stage": "nowhere"}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "stage"
    back = journey_client.get(
        "/api/v1/insights/personas",
        params={"since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        headers=h,
    )
    assert back.status_code == 422 and back.json()["errors"][0]["field"] == "since"


def _issue_at(client: TestClient, key: str, touchpoint: str, customer: str, n: int = 1) -> int:
    items = [
        {
            "source": "survey",
            "external_id": f"{touchpoint}-{customer}-{i}",
            "text": "it went wrong",
            "touchpoint": touchpoint,
            "customer_ref": customer if i == 0 else f"{customer}-{i}",
        }
        for i in range(n)
    ]
    resp = client.post("/api/v1/feedback/batch", json={"items": items}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    issue_id: int = resp.json()["results"][0]["issue_id"]
    return issue_id


def test_root_cause_rollup_spans_stages_and_counts_customers_once(
    journey_client: TestClient, admin_key: str
) -> None:
    c, h = journey_client, auth(admin_key)
    buy = _issue_at(c, admin_key, "checkout-survey", "shared", n=3)  # customers: shared, shared-1, shared-2
    helpdesk = _issue_at(c, admin_key, "support-csat", "shared", n=2)  # shared (again), shared-1 (again)
    courier = _issue_at(c, admin_key, "delivery-csat", "other", n=1)
    for issue_id, cause in ((buy, "system"), (helpdesk, "system"), (courier, "partner")):
        sub = {"system": "payments", "partner": "courier"}[cause]
        resp = c.put(
            f"/api/v1/issues/{issue_id}/root-cause", json={"cause": cause, "sub_cause": sub}, headers=h
        )
        assert resp.status_code == 200, resp.text
    body = c.get("/api/v1/insights/root-causes", headers=h).json()
    system, partner = body["causes"]
    assert (system["cause"], system["issues"], system["items"], system["customers"]) == ("system", 2, 5, 3)
    assert system["spans_stages"] is True
    assert [(s["stage"], s["customers"]) for s in system["stages"]] == [("buy", 3), ("get-help", 2)]
    assert system["sub_causes"] == {"payments": 2}
    assert (partner["cause"], partner["customers"], partner["spans_stages"]) == ("partner", 1, False)

    wrong = c.put(f"/api/v1/issues/{buy}/root-cause", json={"cause": "weather"}, headers=h)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "root_cause.cause"
    stray = c.put(
        f"/api/v1/issues/{buy}/root-cause", json={"cause": "system", "sub_cause": "courier"}, headers=h
    )
    assert stray.status_code == 422 and stray.json()["errors"][0]["field"] == "root_cause.sub_cause"


def _ship(client: TestClient, key: str, issue_id: int) -> None:
    for to in ("fixing", "fix_shipped"):
        resp = client.post(
            f"/api/v1/issues/{issue_id}/transitions", json={"to": to, "reason": "r"}, headers=auth(key)
        )
        assert resp.status_code == 200, resp.text


def test_a_fix_cannot_be_confirmed_without_a_root_cause(journey_client: TestClient, admin_key: str) -> None:
    c, h = journey_client, auth(admin_key)
    issue_id = _issue_at(c, admin_key, "invoice-email", "payer")
    _ship(c, admin_key, issue_id)
    url = f"/api/v1/issues/{issue_id}/confirm"
    none = c.post(url, json={"reason": "checked"}, headers=h)
    assert none.status_code == 422 and none.json()["errors"][0]["field"] == "root_cause"
    unknown = c.post(url, json={"reason": "checked", "root_cause": {"cause": "unknown"}}, headers=h)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "root_cause.reason"
    assert c.get(f"/api/v1/issues/{issue_id}", headers=h).json()["status"] == "fix_shipped"
    ok = c.post(
        url,
        json={"reason": "checked", "root_cause": {"cause": "unknown", "reason": "the vendor will not say"}},
        headers=h,
    )
    assert ok.status_code == 200, ok.text
    fixes = c.get(f"/api/v1/issues/{issue_id}/fixes", headers=h).json()
    assert fixes["root_cause"]["cause"] == "unknown"
    assert fixes["root_cause"]["unknown_reason"] == "the vendor will not say"


def test_a_root_cause_recorded_before_is_enough_to_confirm(
    journey_client: TestClient, admin_key: str
) -> None:
    c, h = journey_client, auth(admin_key)
    issue_id = _issue_at(c, admin_key, "invoice-email", "payer2")
    resp = c.put(
        f"/api/v1/issues/{issue_id}/root-cause", json={"cause": "policy", "sub_cause": "pricing"}, headers=h
    )
    assert resp.status_code == 200
    _ship(c, admin_key, issue_id)
    assert (
        c.post(f"/api/v1/issues/{issue_id}/confirm", json={"reason": "checked"}, headers=h).status_code == 200
    )


def test_quick_and_long_term_fixes_are_kept_apart_and_verified_on_their_own(
    journey_client: TestClient, admin_key: str
) -> None:
    c, h = journey_client, auth(admin_key)
    issue_id = _issue_at(c, admin_key, "refund-form", "r1")
    verify = f"/api/v1/issues/{issue_id}/fixes/long_term/verify"
    assert c.post(verify, headers=h).status_code == 409  # nothing shipped yet
    quick = c.put(
        f"/api/v1/issues/{issue_id}/fixes/mitigation", json={"description": "refunds by hand"}, headers=h
    )
    assert quick.status_code == 200 and quick.json()["verification"] == "pending"
    shipped = "2026-01-05T00:00:00Z"  # long ago: its 30-day window has passed with nothing after it
    long_term = c.put(
        f"/api/v1/issues/{issue_id}/fixes/long_term",
        json={"description": "refund form accepts the order email", "shipped_at": shipped},
        headers=h,
    )
    assert long_term.status_code == 200, long_term.text
    verdict = c.post(verify, headers=h).json()
    assert verdict["verification"] == "verified", verdict
    fixes = c.get(f"/api/v1/issues/{issue_id}/fixes", headers=h).json()
    assert fixes["mitigation"]["verification"] == "pending"  # the quick fix is not judged by this
    assert fixes["long_term"]["verification"] == "verified"
    # The issue itself has not moved: the long-term fix's verdict is its own.
    assert c.get(f"/api/v1/issues/{issue_id}", headers=h).json()["status"] == "open"
    bad = c.put(f"/api/v1/issues/{issue_id}/fixes/long_term", json={"description": ""}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("description")


def test_metric_points_are_idempotent_and_bad_ones_named(engine: Engine, journey_client: TestClient) -> None:
    c = journey_client
    h = auth(make_key(engine, ["ingest"], "logistics"))
    point = {"metric": "on-time-delivery", "at": "2026-10-05T00:00:00Z", "source": "logistics", "value": 91.5}
    first = c.post("/api/v1/metrics", json={"points": [point]}, headers=h)
    assert first.status_code == 200 and first.json()["results"] == ["created"]
    again = c.post("/api/v1/metrics", json={"points": [point]}, headers=h)
    assert again.json()["results"] == ["unchanged"]
    fixed = c.post("/api/v1/metrics", json={"points": [{**point, "value": 92.0}]}, headers=h)
    assert fixed.json()["results"] == ["updated"]
    bad = c.post(
        "/api/v1/metrics",
        json={"points": [{**point, "metric": "mood"}, {**point, "source": "kitchen"}]},
        headers=h,
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["points[0].metric", "points[1].source"]
    nan = c.post("/api/v1/metrics", json={"points": [{**point, "at": "yesterday"}]}, headers=h)
    assert nan.status_code == 422 and "at" in nan.json()["errors"][0]["field"]


def test_metric_csv_reports_bad_lines(engine: Engine, journey_client: TestClient) -> None:
    h = {**auth(make_key(engine, ["ingest"], "support")), "Content-Type": "text/csv"}
    text = (
        "metric,at,source,value\n"
        "first-contact-resolution,2026-10-01T00:00:00Z,support,71\n"
        "first-contact-resolution,2026-11-01T00:00:00Z,support,not-a-number\n"
        "refund-cycle-time,2026-11-01T00:00:00Z,kitchen,4\n"
        "refund-cycle-time,2026-11-01T00:00:00Z,billing,4.5\n"
    )
    resp = journey_client.post("/api/v1/metrics/csv", content=text.encode(), headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert [(r["line"], r["field"]) for r in body["rejected"]] == [(3, "value"), (4, "source")]
    missing = journey_client.post("/api/v1/metrics/csv", content=b"metric,value\n", headers=h)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "columns.at"


def test_stage_metrics_sit_beside_scores_with_a_correlation(
    engine: Engine, journey_client: TestClient, admin_key: str
) -> None:
    c = journey_client
    h = auth(make_key(engine, ["ingest"], "support"))
    # get-help scores (CSAT 1-5 -> % of scale): Oct 5 and 3 -> 100 and 50 -> 75;
    # Nov 1 and 2 -> 0 and 25 -> 12.5;
    # Sep 4 -> 75.
    at = {"sep": "2026-09-10T00:00:00Z", "oct": OCT, "nov": NOV}
    items = []
    for month, scores in (("sep", [4]), ("oct", [5, 3]), ("nov", [1, 2])):
        items += _items(f"gh-{month}", at[month], "family", scores, scale="csat", touchpoint="support-csat")
    _post(c, admin_key, items)
    points = [
        {"metric": "first-contact-resolution", "at": a, "source": "support", "value": v}
        for a, v in (("2026-09-01T00:00:00Z", 70), ("2026-10-01T00:00:00Z", 80), ("2026-10-20T00:00:00Z", 60))
    ] + [
        {"metric": "first-contact-resolution", "at": "2026-11-01T00:00:00Z", "source": "support", "value": 40}
    ]
    assert c.post("/api/v1/metrics", json={"points": points}, headers=h).status_code == 200
    resp = c.get(
        "/api/v1/insights/stages/get-help/metrics",
        params={"since": "2026-09-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
        headers=auth(admin_key),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [(s["start"], s["value"], s["n"]) for s in body["scores"]] == [
        ("2026-09-01", 75.0, 1),
        ("2026-10-01", 75.0, 2),
        ("2026-11-01", 12.5, 2),
    ]
    fcr = next(m for m in body["metrics"] if m["metric"] == "first-contact-resolution")
    assert [x["value"] for x in fcr["cells"]] == [70.0, 70.0, 40.0]  # October: mean of 80 and 60
    assert fcr["latest"] == 40.0 and fcr["change"] == -30.0
    # x = 70, 70, 40 and y = 75, 75, 12.5 move exactly together (y = 2.0833 x - 70.83): r = 1.
    assert round(fcr["correlation"], 6) == 1.0 and fcr["pairs"] == 3
    assert "not as proof" in body["caution"]
    assert {m["metric"] for m in body["metrics"]} == {"first-contact-resolution", "refund-cycle-time"}
