"""Screenshots of the board, an issue page, the triage queue, the insights and the scorecard on the demo
data, in Chromium, and of an owner's weekly digest as it arrives by email.

`scripts/screenshots` (`python -m tests.web.browser.demo_shots docs/screenshots docs/images`) refreshes
the pictures of the README and of docs/insights.md; the browser tests run the same path into a temporary
directory. The demo is loaded by `seam demo --no-serve`, and the sign-in link it prints is the way in, as
on a laptop without SMTP. The digest goes through the scheduled job, the worker and a loopback SMTP
server; its received parts are written to files and its `cid:` references pointed at them, for the
screenshot only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.core.db import make_engine
from app.core.settings import Settings
from app.digests.jobs import digests_job
from app.issues.models import ExperienceIssue
from app.loop.models import IssueAccountability
from app.main import create_app
from app.scheduler.registry import JobRun, SchedulerConfig
from tests.integration.loop.conftest import Mailbox
from tests.support.api import TEST_SECRET, settings_for
from tests.support.live import free_port, serve
from tests.support.outbox import drain

SHOTS = ("board", "issue", "triage", "insights")
OWNER = "kim.lee@boxwise.example"  # owns onboard: persona trends, shared metrics
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


def received_digests(engine: Engine, settings: Settings) -> list[EmailMessage]:
    """The weekly digests job, then the worker, delivering to a loopback SMTP server; what it received.
    In a thread of its own: Playwright's sync API keeps an event loop running on this one."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=settings.smtp_port)
    controller.start()

    def deliver() -> None:
        digests_job(JobRun(engine, settings, SchedulerConfig(), utcnow()))
        drain(engine, settings, skip_backoff=True)

    try:
        worker = threading.Thread(target=deliver)
        worker.start()
        worker.join(timeout=300)
    finally:
        controller.stop()
    return mailbox.received


def as_files(msg: EmailMessage, folder: Path) -> tuple[Path, int]:
    """The message's HTML and images as files, the HTML's `cid:` references pointing at the images;
    the file and the size of the HTML as received."""
    html_part = msg.get_body(("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    size = len(html.encode())
    folder.mkdir(parents=True, exist_ok=True)
    for part in msg.walk():
        if part.get_content_type() == "image/png":
            cid = str(part["Content-ID"]).strip("<>")
            path = folder / (re.sub(r"[^A-Za-z0-9._-]", "_", cid) + ".png")
            path.write_bytes(part.get_payload(decode=True))  # type: ignore[arg-type]
            html = html.replace(f'src="cid:{cid}"', f'src="{path.as_uri()}"')
    page = folder / "digest.html"
    page.write_text(html, encoding="utf-8")
    return page, size


def take(browser: Browser, out: Path, workdir: Path, mail_out: Path | None = None) -> list[Path]:
    """The pages into `out`; the scorecard and the owner's digest into `mail_out` (default `out`)."""
    port, smtp_port = free_port(), free_port()
    link = load_demo(workdir, port)
    url = f"sqlite:///{workdir / 'demo.db'}"
    engine = make_engine(url)
    settings = settings_for(
        engine,
        public_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls="off",
        mail_from="seam@boxwise.example",
    )
    mail_out = mail_out or out
    out.mkdir(parents=True, exist_ok=True)
    mail_out.mkdir(parents=True, exist_ok=True)
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
        page.goto(base + "/scorecard")
        target = mail_out / "scorecard.png"
        page.screenshot(path=str(target), full_page=True)
        paths.append(target)
        context.close()
    # The onboard owner's weekly digest (persona trends, shared metrics), as a mail client shows it.
    (msg,) = [
        m
        for m in received_digests(engine, settings)
        if OWNER in str(m["To"]) and str(m["X-Seam-Key"]).startswith("digest:owner:")
    ]
    html_file, size = as_files(msg, workdir / "owner-digest")
    assert size < GMAIL_CLIP
    context = browser.new_context(viewport={"width": 760, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.goto(html_file.as_uri())
    target = mail_out / "owner-digest.png"
    page.screenshot(path=str(target), full_page=True)
    paths.append(target)
    context.close()
    engine.dispose()
    return paths


def main(out: str, mail_out: str) -> None:
    from tests.web.browser.conftest import ARGS, CHROMIUM

    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for path in take(browser, Path(out), Path(tmp), Path(mail_out)):
            print(path)
        browser.close()


if __name__ == "__main__":
    main(*(sys.argv[1:3] if len(sys.argv) > 2 else ("docs/screenshots", "docs/images")))
