"""The API process freezes its startup objects out of the collector's generations, once."""

from __future__ import annotations

import gc
import threading

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


def test_a_paused_collection_resumes_when_the_last_pause_ends() -> None:
    assert gc.isenabled()
    with heap.collection_paused():
        assert not gc.isenabled()
        with heap.collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_pause_resumes_even_when_its_work_fails() -> None:
    try:
        with heap.collection_paused():
            raise RuntimeError("the digest run failed")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_pauses_overlapping_in_two_threads_resume_after_both() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with heap.collection_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    worker = threading.Thread(target=first)
    worker.start()
    assert first_in.wait(5)
    with heap.collection_paused():
        second_in.set()
        assert first_out.wait(5)
        assert not gc.isenabled()  # the first thread's pause ended, this one's has not
    worker.join(5)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with heap.collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
