"""Rate limits: fixed windows, counted in this process's memory or in the database.

Which one, and why:
- **In memory, per process** for failed authentication and for webhook receivers. These limits protect
  the process from floods; a key is 190+ bits of randomness, so there is nothing to guess and no
  cluster-wide count to keep. Counting in memory costs nothing per request, where a database write per
  failed request would make a flood cost more than it does now. With N replicas the effective limit is
  N times the setting.
- **In the database** (`rate_windows`) for sign-in links: each one sends an email, so the limit must hold
  across every replica, or a flood spread over them would still fill an inbox.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from app.auth.models import RateWindow
from app.core.clock import utcnow


def bucket_of(kind: str, value: str) -> str:
    """A bucket name that stores no personal data: addresses and emails are hashed."""
    digest = hashlib.sha256(value.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return f"{kind}:{digest}"


@dataclass
class MemoryLimiter:
    """At most `limit` hits per `window_s` seconds per bucket, in this process."""

    limit: int
    window_s: float = 60.0
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def blocked(self, bucket: str, now: float | None = None) -> int | None:
        """Seconds to wait if the bucket is over its limit, without counting a hit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            start, hits = self._windows.get(bucket, (now, 0))
            if now - start >= self.window_s or hits < self.limit:
                return None
            return max(1, math.ceil(self.window_s - (now - start)))

    def hit(self, bucket: str, now: float | None = None) -> int | None:
        """Counts one hit; seconds to wait if this one is over the limit, else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            start, hits = self._windows.get(bucket, (now, 0))
            if now - start >= self.window_s:
                start, hits = now, 0
            hits += 1
            self._windows[bucket] = (start, hits)
            if len(self._windows) > 100_000:  # a flood of distinct addresses must not grow memory forever
                self._forget_old(now)
            if hits <= self.limit:
                return None
            return max(1, math.ceil(self.window_s - (now - start)))

    def _forget_old(self, now: float) -> None:
        for bucket, (start, _) in list(self._windows.items()):
            if now - start >= self.window_s:
                del self._windows[bucket]


def hit_shared(
    session: Session, bucket: str, limit: int, window_s: int, now: datetime | None = None
) -> int | None:
    """Counts one hit in the database (in the caller's transaction); seconds to wait if over the limit."""
    now = now or utcnow()
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % window_s, tz=UTC)
    values = {"bucket": bucket, "window_start": start, "hits": 1}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(RateWindow).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["bucket", "window_start"], set_={"hits": col(RateWindow.hits) + 1}
    )
    session.execute(stmt)
    hits = session.execute(
        select(col(RateWindow.hits)).where(
            col(RateWindow.bucket) == bucket, col(RateWindow.window_start) == start
        )
    ).scalar_one()
    if hits <= limit:
        return None
    return max(1, int((start.timestamp() + window_s) - now.timestamp()))
