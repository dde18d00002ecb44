"""Real Chromium (the system's, driven by Playwright) against Seam served by uvicorn on loopback, with
a loopback SMTP server to read the sign-in emails from. SQLite only: these tests are about the browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy import Engine

from app.core.settings import Settings
from app.main import create_app
from tests.integration.loop.conftest import Smtp, smtp  # noqa: F401  (the loopback SMTP fixture)
from tests.support import databases
from tests.support.api import settings_for
from tests.support.live import free_port, serve
from tests.web.helpers import apply_journey, seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Per module, not per session: while Playwright's sync API is open it runs an event loop on this
# thread, and every later test in the same worker that calls asyncio.run (the outbox) would fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Playwright gives each launch a fresh, temporary user-data directory.
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()


@dataclass
class Live:
    url: str
    engine: Engine
    settings: Settings
    triage: list[int]


@pytest.fixture
def live(_sqlite_engine: Engine, smtp: Smtp) -> Iterator[Live]:  # noqa: F811
    databases.truncate_all(_sqlite_engine)
    apply_journey(_sqlite_engine)
    triage = seed(_sqlite_engine)["triage"]
    port = free_port()
    settings = settings_for(
        _sqlite_engine,
        public_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls="off",
    )
    with serve(create_app(settings, _sqlite_engine), port=port) as url:
        yield Live(url=url, engine=_sqlite_engine, settings=settings, triage=triage)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    context.close()
