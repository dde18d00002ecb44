"""Shared by the benchmarks: fresh migrated databases and a loopback server."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The benchmarks' own processes (and the workers they start) run on PostgreSQL, where the development
# secret is refused.
os.environ.setdefault("SEAM_SECRET_KEY", "bench-secret-for-seams-own-benchmarks-only")

from app.core.db import make_engine, normalize_url  # noqa: E402
from app.core.migrate import upgrade  # noqa: E402

PG_URL = normalize_url(
    os.environ.get("SEAM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)


@contextmanager
def fresh_database(kind: str, *, keep: bool = False) -> Iterator[Engine]:
    """A new, migrated database of the given kind ("sqlite" or "postgres"), removed afterwards (a
    PostgreSQL one is kept with `keep`)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/bench.db")
            upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    admin = make_url(PG_URL)
    name = f"seam_bench_{uuid.uuid4().hex[:8]}"
    info = dict(host=admin.host, port=admin.port or 5432, user=admin.username, password=admin.password)
    with psycopg.connect(dbname=admin.database, autocommit=True, **info) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        if not keep:
            with psycopg.connect(dbname=admin.database, autocommit=True, **info) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def median(values: list[float]) -> float:
    return statistics.median(values)
