"""Screenshots of the board, an issue page and the triage queue on the demo data, in Chromium.

`python -m tests.web.browser.demo_shots docs/screenshots` refreshes the README's pictures; the browser
tests run the same path into a temporary directory. The demo is loaded by `seam demo --no-serve`, and
the sign-in link it prints is the way in, as on a laptop without SMTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.core.db import make_engine
from app.digests import build
from app.digests.render import render
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop.models import IssueAccountability
from app.main import create_app
from tests.support.api import TEST_SECRET, settings_for
from tests.support.live import free_port, serve

SHOTS = ("board", "issue", "triage", "insights")
# Gmail clips a message whose HTML passes about 102 KB.
GMAIL_CLIP = 102 * 1024


def load_demo(workdir: Path, port: int) -> str:
    """Runs `seam demo --no-serve` on a fresh SQLite file; returns the sign-in link it printed."""
    seam = Path(sys.executable).with_name("seam")
    # The link is signed with the demo's secret; the pages served here check it with the tests' one.
    env = {
        **os.environ,
        "SEAM_DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}",
        "SEAM_SECRET_KEY": TEST_SECRET,
    }
    out = subprocess.run(
        [str(seam), "demo", "--no-serve", "--port", str(port)],
        env=env, cwd=workdir, capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    found = re.search(r"(http://\S+/sign-in/link\?token=\S+)", out)
    assert found, out
    return found.group(1)


def _top_issue(url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        stmt = (
            select(ExperienceIssue.id)
            .join(IssueAccountability, col(IssueAccountability.issue_id) == col(ExperienceIssue.id))
            .order_by(col(IssueAccountability.priority), col(ExperienceIssue.impact).desc())
            .limit(1)
        )
        found = session.execute(stmt).scalar_one()
    engine.dispose()
    return int(found)


def owner_digest_html(engine: Engine, email: str, public_url: str) -> str:
    """The HTML of the owner digest this person would get now."""
    with Session(engine) as session:
        journey = journeys.current(session)
        (found,) = [
            a
            for a in build.preview(session, journey, email, utcnow(), ZoneInfo("UTC"), public_url)
            if a.key.startswith("owner:")
        ]
        return render(found.digest).html


def take(browser: Browser, out: Path, workdir: Path) -> list[Path]:
    port = free_port()
    link = load_demo(workdir, port)
    url = f"sqlite:///{workdir / 'demo.db'}"
    engine = make_engine(url)
    settings = settings_for(engine, public_url=f"http://127.0.0.1:{port}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with serve(create_app(settings, engine), port=port) as base:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
        page = context.new_page()
        page.goto(link)
        page.click("#sign-in")
        page.wait_for_selector(".board")
        paths_ = ("/", f"/issues/{_top_issue(url)}", "/triage", "/insights")
        for name, path in zip(SHOTS, paths_, strict=True):
            page.goto(base + path)
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=name != "board")
            paths.append(target)
        # The onboard owner's weekly digest (persona drop, shared metrics), as a mail client shows it.
        html = owner_digest_html(engine, "kim.lee@boxwise.example", settings.public_url)
        assert len(html.encode()) < GMAIL_CLIP
        page.set_content(html)
        target = out / "owner-digest.png"
        page.screenshot(path=str(target), full_page=True)
        paths.append(target)
        context.close()
    engine.dispose()
    return paths


def main(out: str) -> None:
    from tests.web.browser.conftest import ARGS, CHROMIUM

    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for path in take(browser, Path(out), Path(tmp)):
            print(path)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
