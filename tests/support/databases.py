"""Real databases for tests: a SQLite file and a PostgreSQL database of our own, both migrated by Alembic."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from app.core.db import make_engine, normalize_url
from app.core.migrate import upgrade
from app.models import metadata

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_admin_url() -> str:
    return normalize_url(os.environ.get("SEAM_TEST_POSTGRES_URL", DEFAULT_PG))


def postgres_available() -> str | None:
    """None if reachable, else the reason."""
    url = make_url(pg_admin_url())
    try:
        with psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database,
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as exc:
        return str(exc).strip()


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI and is unreachable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unreachable (set SEAM_TEST_POSTGRES_URL): {reason}")


@contextmanager
def fresh_postgres(prefix: str = "seam_test") -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    admin = make_url(pg_admin_url())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conninfo = dict(host=admin.host, port=admin.port or 5432, user=admin.username, password=admin.password)
    with psycopg.connect(dbname=admin.database, autocommit=True, **conninfo) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dbname=admin.database, autocommit=True, **conninfo) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def empty_database(kind: str, directory: Path, prefix: str) -> Iterator[str]:
    """The URL of an empty database of `kind` ("sqlite" in `directory`, or "postgres", made and dropped),
    for tests that migrate it themselves."""
    if kind == "sqlite":
        yield sqlite_url(directory)
        return
    require_postgres()
    with fresh_postgres(prefix) as url:
        yield url


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / f'seam-{uuid.uuid4().hex[:8]}.db'}"


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def truncate_all(engine: Engine) -> None:
    """Empties every table between tests: commits are real, so rollback-per-test would not isolate."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sequence(conn) else None


def _has_sequence(conn: object) -> bool:
    row = conn.execute(  # type: ignore[attr-defined]
        text("SELECT name FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'")
    ).first()
    return row is not None
