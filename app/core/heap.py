"""Keeps the cyclic garbage collector off the objects a process builds to start.

An API process holds about 330k long-lived objects once it has started (modules, models, SQLAlchemy's
metadata and compiled caches, FastAPI's routes). Each full collection walked all of them: 0.1-0.4 s in
which no request was answered, which was most of the webhook acknowledgement's p99 on PostgreSQL.
`gc.freeze()` moves them to a permanent generation the collector never walks; what requests create is
collected as before.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("seam")

_frozen = False


def freeze_startup_objects() -> None:
    """Collects once (so startup's garbage is freed, not frozen), then freezes what is left.

    Once per process: an object frozen is never collected, so freezing again after a second
    application was built and dropped (tests build many) would keep that one's cycles for good.
    """
    global _frozen
    if _frozen:
        return
    _frozen = True
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "startup objects frozen out of the collector: %d (%.0f ms)",
        gc.get_freeze_count(),
        1000 * (time.perf_counter() - started),
    )
