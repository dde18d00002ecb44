"""A scrape's database reads are bounded: a slow statement is cut off, and a database that cannot be read
leaves the outbox families out of that scrape (saying so) instead of failing or hanging it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from app.core.db import make_engine
from app.core.db_metrics import bounded_read, scrape_engine
from app.outbox.metrics import OutboxCollector, Purpose
from tests.support.net import free_port

SLOW = {
    "postgresql": "SELECT pg_sleep(30)",
    # Counts to a billion: minutes of work for SQLite's virtual machine.
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n",
}


def test_a_slow_statement_is_cut_off(engine: Engine) -> None:
    scrape = scrape_engine(engine)
    started = time.monotonic()
    with pytest.raises(OperationalError), bounded_read(scrape, timeout_s=0.3) as conn:
        conn.execute(text(SLOW[engine.dialect.name])).all()
    assert time.monotonic() - started < 5
    # The connection goes back to the pool usable, with no bound left on it.
    with scrape.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    scrape.dispose()


def test_an_unreadable_database_leaves_the_outbox_out_and_says_so() -> None:
    gone = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/none", pool_size=1)
    collector = OutboxCollector(gone, ["email"], {"digests": Purpose("email", ("digest:",))})
    families = {f.name: f for f in collector.collect()}
    assert [s.value for s in families["seam_outbox_scrape_success"].samples] == [0, 0]
    assert "seam_outbox_messages" not in families and "seam_emails_sent" not in families
    gone.dispose()


def test_an_empty_outbox_shows_every_kind_at_zero(engine: Engine) -> None:
    collector = OutboxCollector(engine, ["email", "sync.pull"], {"digests": Purpose("email", ("digest:",))})
    families = {f.name: f for f in collector.collect()}
    assert [s.value for s in families["seam_outbox_scrape_success"].samples] == [1, 1]
    depth = {(s.labels["kind"], s.labels["state"]): s.value for s in families["seam_outbox_messages"].samples}
    assert depth == {(k, s): 0 for k in ("email", "sync.pull") for s in ("pending", "in_flight", "dead")}
    assert [s.value for s in families["seam_outbox_oldest_pending_age_seconds"].samples] == [0]
    delivered = {s.labels["kind"]: s.value for s in families["seam_outbox_delivered"].samples}
    assert delivered == {"email": 0, "sync.pull": 0}
