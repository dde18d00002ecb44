"""Page tests: the app with the example journey (plus a viewer), seeded, driven as a browser would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app import wiring
from app.core.settings import Settings
from app.main import create_app
from tests.support.api import settings_for
from tests.web.helpers import apply_journey, seed


@pytest.fixture
def web_settings(engine: Engine) -> Settings:
    return settings_for(engine)


@pytest.fixture
def seeded(engine: Engine, web_settings: Settings) -> dict[str, list[int]]:
    # Seeded as a running process ingests: with its reactions (impact, priority) installed, whichever
    # test ran before in this worker.
    wiring.start_process(web_settings, engine)
    apply_journey(engine)
    return seed(engine)


@pytest.fixture
def web(engine: Engine, web_settings: Settings, seeded: dict[str, list[int]]) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings, engine), raise_server_exceptions=False) as c:
        yield c
