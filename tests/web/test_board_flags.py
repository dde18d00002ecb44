"""The board's persona drops come from the scheduled `insights.board_flags` job's snapshot: shown with
the time they were computed, unchanged until the next run, and equal to the insights API's figures."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app import wiring
from app.core.clock import utcnow
from app.core.settings import Settings
from app.demo import insights as demo_insights
from app.scheduler.registry import JobRun, SchedulerConfig
from tests.support.api import auth, make_key
from tests.web.helpers import ingest, sign_in


def _run_job(engine: Engine, settings: Settings) -> None:
    job = wiring.job("insights.board_flags")
    assert job.resolve(SchedulerConfig()).tick(utcnow(), SchedulerConfig().zone) <= utcnow()
    job.fn(JobRun(engine, settings, SchedulerConfig(), utcnow()))


def _board_drops(page: str) -> dict[str, list[str]]:
    """Each column's drop lines, as the board shows them."""
    out: dict[str, list[str]] = {}
    for stage, body in re.findall(
        r'<section class="column[^"]*"[^>]*data-stage="([^"]+)">(.*?)</section>', page, re.S
    ):
        lines = re.findall(r'<p class="drop-flag"><a [^>]*>Significant drop</a>: (.*?)</p>', body)
        if lines:
            out[stage] = [html_lib.unescape(x) for x in lines]
    return out


def _api_drops(web: TestClient, key: str) -> dict[str, list[str]]:
    """The insights API's stage-level drops, in the board's words."""
    resp = web.get("/api/v1/insights/personas", headers=auth(key))
    assert resp.status_code == 200, resp.text
    out: dict[str, list[str]] = {}
    for s in resp.json()["drops"]:
        if s["moment"] is None:
            points = {p["start"]: p["value"] for p in s["points"]}
            before, after = points[s["drop"]["before"]], points[s["drop"]["after"]]
            out.setdefault(s["stage"], []).append(
                f"{s['persona_name']}: {s['label']} {before:.0f} → {after:.0f}"
            )
    return out


def _months() -> tuple[str, str]:
    """Mid-month instants in the last complete month and in the one before it."""
    start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (start - timedelta(days=20)).replace(day=15)
    return last.isoformat(), (last - timedelta(days=30)).replace(day=15).isoformat()


def _scored(
    tag: str, when: str, touchpoint: str, scale: str, persona: str, mix: list[tuple[int, int]]
) -> list[dict[str, object]]:
    scores = [s for s, k in mix for _ in range(k)]
    return [
        {"source": "nps", "external_id": f"{tag}-{when[:7]}-{n}", "text": "first box",
         "touchpoint": touchpoint, "persona": persona, "score": s, "scale": scale, "occurred_at": when,
         "customer_ref": f"{tag}{n}"}
        for n, s in enumerate(scores)
    ]  # fmt: skip


def test_the_board_shows_the_jobs_drops_as_of_its_run(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    current, previous = _months()
    # Busy families' CSAT top-two box: 30 of 40 (75 %) the month before, 10 of 40 (25 %) last month.
    ingest(engine, _scored("a", previous, "first-box-nps", "csat", "family", [(5, 30), (2, 10)])
           + _scored("b", current, "first-box-nps", "csat", "family", [(4, 10), (1, 30)]))  # fmt: skip
    sign_in(web, web_settings, "tom")
    before_job = web.get("/").text
    assert "Significant drop" not in before_job and "Persona drops not computed yet" in before_job
    _run_job(engine, web_settings)
    board = web.get("/").text
    assert re.search(r'data-drops-as-of="\d{4}-\d\d-\d\dT', board) and "Persona drops as of" in board
    assert _board_drops(board) == {"onboard": ["Busy family: CSAT, % scoring 4-5 75 → 25"]}
    # New evidence reaches the board with the next run, not before: the snapshot says when it is from.
    ingest(engine, _scored("c", current, "first-box-nps", "csat", "family", [(5, 60)]))
    assert _board_drops(web.get("/").text) == {"onboard": ["Busy family: CSAT, % scoring 4-5 75 → 25"]}
    _run_job(engine, web_settings)
    assert _board_drops(web.get("/").text) == {}


def test_the_boards_drops_equal_the_insights_apis_on_the_demo_data(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    ingest(engine, demo_insights.trend_items(utcnow()))
    current, previous = _months()
    # One drop of each figure besides the demo's NPS one, on other stages and personas.
    ingest(engine, _scored("d", previous, "checkout-survey", "ces", "single", [(6, 20), (7, 20)])
           + _scored("e", current, "checkout-survey", "ces", "single", [(2, 20), (3, 20)])
           + _scored("f", previous, "delivery-csat", "csat", "gifting", [(5, 35), (3, 5)])
           + _scored("g", current, "delivery-csat", "csat", "gifting", [(4, 15), (2, 25)]))  # fmt: skip
    _run_job(engine, web_settings)
    sign_in(web, web_settings, "tom")
    board = _board_drops(web.get("/").text)
    api = _api_drops(web, make_key(engine, ["read"]))
    assert board == api
    assert {"onboard", "buy", "use"} <= board.keys(), board
    labels = " ".join(line for lines in board.values() for line in lines)
    assert "NPS" in labels and "CES" in labels and "CSAT" in labels
