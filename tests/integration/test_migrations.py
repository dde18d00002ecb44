"""Schema only through Alembic: up from empty, and no drift between models and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from app.core.db import make_engine
from app.core.migrate import check, upgrade
from app.models import metadata
from tests.support import databases


def _assert_migrates_cleanly(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        check(engine)  # raises if autogenerate would emit anything
        assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    finally:
        engine.dispose()


def test_sqlite_from_empty_has_no_drift(tmp_path: Path) -> None:
    _assert_migrates_cleanly(databases.sqlite_url(tmp_path))


def test_postgres_from_empty_has_no_drift() -> None:
    databases.require_postgres()
    with databases.fresh_postgres("seam_migr") as url:
        _assert_migrates_cleanly(url)


def test_sqlite_runs_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(databases.sqlite_url(tmp_path))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db"])
def test_plain_postgres_urls_use_psycopg3(url: str) -> None:
    from app.core.db import normalize_url

    assert normalize_url(url).startswith("postgresql+psycopg://")
