"""The outbox as a scrape sees it, read from the database so the figures hold across every API replica
and worker: depth by kind and state, the oldest pending message's age, dead letters, deliveries, and
the emails of chosen purposes delivered (reminders, digests) — all from one grouped query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, case, func, literal, or_, select
from sqlalchemy.exc import SQLAlchemyError

from app.core.clock import utcnow
from app.core.db_metrics import bounded_read
from app.core.metrics import PREFIX
from app.outbox.service import OUTBOX

log = logging.getLogger("seam.metrics")

# Depth is shown for the states a message waits in; delivered ones are a counter of their own.
WAITING = ("pending", "in_flight", "dead")


@dataclass(frozen=True)
class Purpose:
    """Delivered messages of `kind` whose dedupe key starts with one of `prefixes` (e.g. the email
    rows of reminder bundles)."""

    kind: str
    prefixes: tuple[str, ...]


def _statement(purposes: Mapping[str, Purpose]):  # type: ignore[no-untyped-def]
    c = OUTBOX.c
    whens = [
        (
            and_(c.state == "done", c.kind == p.kind, or_(*(c.dedupe_key.startswith(x) for x in p.prefixes))),
            literal(name),
        )
        for name, p in purposes.items()
    ]
    purpose = case(*whens, else_=literal("")) if whens else literal("")
    columns = (c.kind, c.state, purpose.label("purpose"), func.count(), func.min(c.created_at))
    return select(*columns).group_by(c.kind, c.state, purpose)


class OutboxCollector(Collector):
    """`kinds` are shown even with no message (as 0), so an alert on a kind never meets a missing series."""

    def __init__(
        self,
        engine: Engine,
        kinds: Iterable[str],
        purposes: Mapping[str, Purpose],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.kinds = sorted(set(kinds))
        self.purposes = dict(purposes)
        self.clock = clock
        self._stmt = _statement(self.purposes)

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        try:
            with bounded_read(self.engine) as conn:
                rows = conn.execute(self._stmt).all()
        except SQLAlchemyError as exc:
            # A slow or unreachable database leaves the outbox out of this scrape, and says so.
            log.warning("metrics: outbox not read (%s)", type(exc).__name__)
            rows = None
        yield GaugeMetricFamily(
            f"{PREFIX}outbox_scrape_success",
            "1 when this scrape read the outbox from the database, 0 when the read failed or timed out",
            value=0 if rows is None else 1,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}outbox_scrape_duration_seconds",
            "Time this scrape spent reading the outbox",
            value=time.perf_counter() - started,
        )
        if rows is not None:
            yield from self._families(rows)

    def _families(self, rows: Sequence[Any]) -> Iterator[Metric]:
        depth: dict[tuple[str, str], int] = {(k, s): 0 for k in self.kinds for s in WAITING}
        delivered: dict[str, int] = dict.fromkeys(self.kinds, 0)
        sent: dict[str, int] = dict.fromkeys(self.purposes, 0)
        oldest: datetime | None = None
        for kind, state, purpose, n, first in rows:
            if state in WAITING:
                depth[(kind, state)] = depth.get((kind, state), 0) + n
            elif state == "done":
                delivered[kind] = delivered.get(kind, 0) + n
            if purpose:
                sent[purpose] += n
            if state == "pending" and first is not None:
                oldest = first if oldest is None else min(oldest, first)
        waiting = GaugeMetricFamily(
            f"{PREFIX}outbox_messages", "Outbox messages waiting, by kind and state", labels=["kind", "state"]
        )
        dead = GaugeMetricFamily(
            f"{PREFIX}outbox_dead_letters",
            "Messages that stopped retrying (listed at GET /api/v1/outbox?state=dead), by kind",
            labels=["kind"],
        )
        for (kind, state), n in sorted(depth.items()):
            waiting.add_metric([kind, state], n)
            if state == "dead":
                dead.add_metric([kind], n)
        done = CounterMetricFamily(
            f"{PREFIX}outbox_delivered", "Outbox messages delivered, by kind", labels=["kind"]
        )
        for kind, n in sorted(delivered.items()):
            done.add_metric([kind], n)
        emails = CounterMetricFamily(
            f"{PREFIX}emails_sent",
            "Emails delivered, by purpose (one per reminder bundle or digest)",
            labels=["purpose"],
        )
        for name, n in sorted(sent.items()):
            emails.add_metric([name], n)
        age = 0.0 if oldest is None else max(0.0, (self.clock() - oldest).total_seconds())
        yield waiting
        yield dead
        yield done
        yield emails
        yield GaugeMetricFamily(
            f"{PREFIX}outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox message (0 when none is pending)",
            value=age,
        )
