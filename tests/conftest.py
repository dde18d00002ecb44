"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from tests.support import databases
from tests.support.api import TEST_SECRET, apply_example_journey, make_key, settings_for

# Every process the tests start (workers, schedulers, the CLI) reads its settings from the environment;
# the development secret is refused on PostgreSQL, so they get a test one.
os.environ.setdefault("SEAM_SECRET_KEY", TEST_SECRET)


@pytest.fixture(scope="session")
def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = databases.migrated_engine(databases.sqlite_url(tmp_path_factory.mktemp("db")))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _postgres_engine() -> Iterator[Engine]:
    databases.require_postgres()
    with databases.fresh_postgres() as url:
        engine = databases.migrated_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """A migrated, emptied database: each test runs once per backend."""
    eng: Engine = request.getfixturevalue(f"_{request.param}_engine")
    databases.truncate_all(eng)
    return eng


@pytest.fixture
def pg_engine(_postgres_engine: Engine) -> Engine:
    """PostgreSQL only, for tests of behaviour that SQLite serialises away (real concurrency)."""
    databases.truncate_all(_postgres_engine)
    return _postgres_engine


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(engine), engine), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin_key(engine: Engine) -> str:
    return make_key(engine, ["admin"], "test-admin")


@pytest.fixture
def journey_client(client: TestClient, admin_key: str) -> TestClient:
    """A client whose database holds the example journey."""
    apply_example_journey(client, admin_key)
    return client


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
