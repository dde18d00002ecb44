"""The outbox as a scrape sees it, read from the database so the figures hold across every API replica
and worker: depth by kind and state, the oldest pending message's age and dead letters (one grouped
query over the waiting messages), deliveries and the emails of chosen purposes delivered (reminders,
digests; one grouped query over the delivered ones).
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


def _starts(prefix: str) -> Any:
    # A plain LIKE pattern: `startswith` concatenates '%' to its parameter on every row, which doubled
    # the query's time on SQLite.
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return OUTBOX.c.dedupe_key.like(escaped + "%", escape="\\")


def _waiting() -> Any:
    """Messages not yet delivered: the claim index (state, available_at) finds them without a scan."""
    c = OUTBOX.c
    columns = (c.kind, c.state, func.count(), func.min(c.created_at))
    return select(*columns).where(c.state.in_(WAITING)).group_by(c.kind, c.state)


def _delivered(purposes: Mapping[str, Purpose]) -> Any:
    """Delivered messages by kind and purpose: a scan of every delivered row, which are kept."""
    c = OUTBOX.c
    whens = [
        (and_(c.kind == p.kind, or_(*(_starts(x) for x in p.prefixes))), literal(name))
        for name, p in purposes.items()
    ]
    purpose = case(*whens, else_=literal("")) if whens else literal("")
    return select(c.kind, purpose, func.count()).where(c.state == "done").group_by(c.kind, purpose)


class OutboxCollector(Collector):
    """`kinds` are shown even with no message (as 0), so an alert on a kind never meets a missing series.

    Two reads, each bounded on its own: the waiting messages (cheap at any size) and the delivered ones
    (which grow with the install's age); when the second is cut off, the first still shows."""

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
        self._reads = {"waiting": _waiting(), "delivered": _delivered(self.purposes)}

    def collect(self) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            f"{PREFIX}outbox_scrape_success",
            "1 when this scrape read that part of the outbox, 0 when the read failed or timed out",
            labels=["part"],
        )
        took = GaugeMetricFamily(
            f"{PREFIX}outbox_scrape_duration_seconds",
            "Time this scrape spent reading the outbox",
            labels=["part"],
        )
        rows: dict[str, Sequence[Any] | None] = {}
        for part, stmt in self._reads.items():
            started = time.perf_counter()
            rows[part] = self._read(part, stmt)
            success.add_metric([part], 0 if rows[part] is None else 1)
            took.add_metric([part], time.perf_counter() - started)
        yield success
        yield took
        waiting, delivered = rows["waiting"], rows["delivered"]
        if waiting is not None:
            yield from self._waiting_families(waiting)
        if delivered is not None:
            yield from self._delivered_families(delivered)

    def _read(self, part: str, stmt: Any) -> Sequence[Any] | None:
        try:
            with bounded_read(self.engine) as conn:
                return conn.execute(stmt).all()
        except SQLAlchemyError as exc:
            # A slow or unreachable database leaves this part out of the scrape, and says so.
            log.warning("metrics: outbox %s not read (%s)", part, type(exc).__name__)
            return None

    def _waiting_families(self, rows: Sequence[Any]) -> Iterator[Metric]:
        depth: dict[tuple[str, str], int] = {(k, s): 0 for k in self.kinds for s in WAITING}
        oldest: datetime | None = None
        for kind, state, n, first in rows:
            depth[(kind, state)] = n
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
        age = 0.0 if oldest is None else max(0.0, (self.clock() - oldest).total_seconds())
        yield waiting
        yield dead
        yield GaugeMetricFamily(
            f"{PREFIX}outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox message (0 when none is pending)",
            value=age,
        )

    def _delivered_families(self, rows: Sequence[Any]) -> Iterator[Metric]:
        delivered: dict[str, int] = dict.fromkeys(self.kinds, 0)
        sent: dict[str, int] = dict.fromkeys(self.purposes, 0)
        for kind, purpose, n in rows:
            delivered[kind] = delivered.get(kind, 0) + n
            if purpose:
                sent[purpose] += n
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
        yield done
        yield emails
