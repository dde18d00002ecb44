"""The demo, as a CX lead sees it: signed in through the link `seam demo` prints, five pages render, and
an owner's weekly digest, received over SMTP with its chart images, renders in Chromium under Gmail's
clipping size."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from tests.web.browser.demo_shots import take


def test_the_demo_board_issue_and_triage_pages_render(browser: Browser, tmp_path: Path) -> None:
    shots = take(browser, tmp_path / "shots", tmp_path)
    assert [p.name for p in shots] == [
        "board.png",
        "issue.png",
        "triage.png",
        "insights.png",
        "scorecard.png",
        "owner-digest.png",
    ]
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
