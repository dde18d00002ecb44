"""Seam's Prometheus families and how a scrape is answered.

Counters of things a process does (requests, ingested items, webhook acknowledgements) live in one
process-wide registry, `REGISTRY`, defined next to the code that counts them. What is true of the whole
deployment (the outbox, emails sent by the worker, the pool) is read at scrape time by collectors that an
application registers on its own `Exposition`, so several applications in one process (tests) never
share an engine's figures.

Counts that describe stored work are added only when the transaction that stored it commits
(`on_commit`): a request that rolls back counts nothing.
"""

from __future__ import annotations

import hmac
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, ProcessCollector, disable_created_metrics
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.orm import Session

# The exposition format's content type, as Prometheus asks for it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "seam_"

# A `_created` series beside every counter doubles what is scraped, and no dashboard of ours reads it.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)

_PENDING = "seam_metrics_pending"


def counter(
    name: str, documentation: str, labels: Iterable[str] = (), known: Iterable[tuple[str, ...]] = ()
) -> Counter:
    """A counter in the process registry; `name` without the prefix or the `_total` suffix. The `known`
    label values are shown from the start (as 0), so a rate over them never meets a missing series."""
    family = Counter(PREFIX + name, documentation, list(labels), registry=REGISTRY)
    for values in known:
        family.labels(*values)
    return family


def on_commit(session: Session, family: Counter, labels: tuple[str, ...], amount: int = 1) -> None:
    """Adds `amount` to `family{labels}` when this session's transaction commits; nothing on rollback."""
    if amount <= 0:
        return
    pending: Tally[tuple[Counter, tuple[str, ...]]] = session.info.setdefault(_PENDING, Tally())
    pending[(family, labels)] += amount


@event.listens_for(Session, "after_commit")
def _counted(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for (family, labels), amount in pending.items():
        (family.labels(*labels) if labels else family).inc(amount)


@event.listens_for(Session, "after_rollback")
def _dropped(session: Session) -> None:
    session.info.pop(_PENDING, None)


class _Forward(Collector):
    """The process registry, seen from an application's exposition."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class Exposition:
    """What one application's /metrics answers: the process counters and its own collectors."""

    def __init__(self, collectors: Iterable[Any] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Forward())
        # process_cpu_seconds_total, process_resident_memory_bytes... of the process answering.
        self.registry.register(ProcessCollector(registry=None))
        for collector in collectors:
            self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def token_matches(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
