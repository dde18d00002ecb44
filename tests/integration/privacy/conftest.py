"""A customer seeded through the real paths (tests.support.customers), with real SMTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from tests.integration.loop.conftest import Mailbox, Smtp, loop_settings
from tests.support.api import apply_example_journey, make_key
from tests.support.customers import Seeded, seed
from tests.support.net import free_port


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Smtp(mailbox=mailbox, port=port)
    finally:
        controller.stop()


@pytest.fixture
def world(engine: Engine, smtp: Smtp) -> Iterator[tuple[TestClient, str, Seeded]]:
    settings = loop_settings(engine, smtp)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        key = make_key(engine, ["admin"], "privacy-admin")
        apply_example_journey(client, key)
        yield client, key, seed(client, key, engine, settings, smtp.mailbox)
