"""The API process freezes its startup objects out of the collector's generations, once."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from app.core import heap


def test_startup_freezes_the_objects_built_to_start_and_only_once(client: TestClient) -> None:
    # `client` has run the application's startup.
    frozen = gc.get_freeze_count()
    # The app's modules, models and routes alone are tens of thousands of objects.
    assert frozen > 10_000
    heap.freeze_startup_objects()
    # A second startup adds nothing to the frozen set (which can shrink: a frozen object whose last
    # reference goes is still freed).
    assert gc.get_freeze_count() <= frozen
