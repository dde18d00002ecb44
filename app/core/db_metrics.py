"""Database figures for a scrape: the pool's use, and reads that cannot hold a scrape up.

A scrape reads through an engine of its own (one connection, no overflow), so it never waits behind the
requests it is measuring for a pooled connection, and a slow query is cut off at `SCRAPE_TIMEOUT_S`
(PostgreSQL's statement timeout; on SQLite a progress handler that interrupts the statement).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, text

from app.core.db import make_engine, reader
from app.core.metrics import PREFIX

SCRAPE_TIMEOUT_S = 2.0
# SQLite calls the progress handler every this many virtual-machine steps.
_SQLITE_STEPS = 10_000


def scrape_engine(engine: Engine) -> Engine:
    """A one-connection engine on the same database, for scrape-time reads only."""
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, pool_size=1, max_overflow=0, pool_timeout=SCRAPE_TIMEOUT_S)


@contextmanager
def bounded_read(engine: Engine, timeout_s: float = SCRAPE_TIMEOUT_S) -> Iterator[Connection]:
    """A read-only transaction whose statements are interrupted after `timeout_s`."""
    with reader(engine).connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}"))
            yield conn
            return
        raw: Any = conn.connection.dbapi_connection
        deadline = time.monotonic() + timeout_s
        # A non-zero answer makes SQLite abort the running statement with "interrupted".
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), _SQLITE_STEPS)
        try:
            yield conn
        finally:
            raw.set_progress_handler(None, 0)


class PoolCollector(Collector):
    """The API process's connection pool: connections checked out, the pool's size, overflow in use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        pool: Any = self.engine.pool
        figures = {
            "checked_out": ("Connections handed out and not yet returned", "checkedout"),
            "size": ("Connections the pool keeps open (beyond them, overflow)", "size"),
            "overflow": ("Connections open beyond the pool's size", "overflow"),
        }
        for name, (documentation, method) in figures.items():
            read = getattr(pool, method, None)
            # A pool that keeps no such figure (SQLite in memory) is left out rather than shown as 0.
            if read is None:
                continue
            # QueuePool's overflow counts from -size while the pool is not yet full.
            yield GaugeMetricFamily(f"{PREFIX}db_pool_{name}", documentation, value=max(0, int(read())))
