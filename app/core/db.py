"""Engines and sessions. SQLite: WAL, foreign keys, immediate write transactions; PostgreSQL: psycopg 3."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

# An execution option: this engine's transactions only read. On SQLite they begin DEFERRED, so they take
# no write lock and run beside a writer (WAL); elsewhere it changes nothing.
READ_ONLY = "seam_read_only"

# How long a request waits for a pooled connection, or SQLite for its write lock, before it is refused
# with 503 and Retry-After: long enough to ride out a burst, short enough that clients are not left
# hanging on a stalled server.
POOL_TIMEOUT_S = 10
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalize_url(url: str) -> str:
    """Plain postgresql:// URLs are taken to mean psycopg 3, the driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def reader(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read."""
    return engine.execution_options(**{READ_ONLY: True})


# Marks a connection whose transaction holds this process's SQLite write slot.
_HOLDS_SLOT = "seam_write_slot"


class _WriteSlotTimeout(Exception):
    def __str__(self) -> str:
        return "database is locked"


def _sqlite_setup(engine: Engine) -> None:
    # SQLite has one writer at a time. Its own busy handler lets waiters sleep and retry with growing
    # pauses, so under a burst one waiter can lose every race until its timeout while others pass. The
    # process's writers queue on this lock instead (released at commit or rollback, from any thread), and
    # SQLite's busy timeout is left to arbitrate between processes.
    slot = threading.Lock()

    def _release(conn: Any) -> None:
        if conn.info.pop(_HOLDS_SLOT, False):
            slot.release()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            # A reader takes no lock: in WAL mode it reads a snapshot while a writer goes on.
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            if not slot.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
                raise OperationalError("BEGIN IMMEDIATE", {}, _WriteSlotTimeout())
            conn.info[_HOLDS_SLOT] = True
            try:
                # IMMEDIATE takes the write lock up front: no deadlock when two readers both try to write.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn)
                raise

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)

    # A connection lost mid-transaction ends with neither; its pool record carries the same mark.
    def _release_record(_dbapi_conn: Any, record: Any, *_: Any) -> None:
        if record is not None and record.info.pop(_HOLDS_SLOT, False):
            slot.release()

    event.listen(engine, "checkin", _release_record)
    event.listen(engine, "invalidate", _release_record)


def make_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> Engine:
    """Up to twice `pool_size` connections, opened as load needs them and kept open; SQLite also gets
    its pragmas.

    Kept rather than overflowing: QueuePool closes an overflow connection at every checkin beyond its
    size, so a steady load above it opened and closed a PostgreSQL connection (a server process forked)
    per request, which doubled the webhook acknowledgement's p99."""
    url = normalize_url(url)
    kwargs.setdefault("pool_timeout", POOL_TIMEOUT_S)
    if "max_overflow" not in kwargs:  # a caller that sets it chose the pool's shape itself
        pool_size, kwargs["max_overflow"] = 2 * pool_size, 0
    kwargs["pool_size"] = pool_size
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)
