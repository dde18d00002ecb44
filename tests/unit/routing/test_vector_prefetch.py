"""A batch scored in one product (`VectorIndex.prefetch`) places every item exactly where placing it
alone would: items of the batch that join, open or leave groups between placements are seen."""

from __future__ import annotations

import numpy as np
import pytest

from app.routing.vector_index import PREFETCH_ROWS, VectorIndex

DIM = 32
SCOPES = ("pay/-", "deliver/-")


def _index(rng: np.random.Generator, centres: np.ndarray) -> VectorIndex:
    index = VectorIndex(default_threshold=0.6)
    for g in range(2 * PREFETCH_ROWS + 300):
        # Groups around a few centres, so items of the batch have real neighbours to join.
        v = centres[g % len(centres)] + 0.35 * rng.standard_normal(DIM)
        index.add_item(f"g{g}", "card declined", stage=SCOPES[g % 2], vector=v)
    return index


def _run(
    index: VectorIndex, batch: list[tuple[str, np.ndarray]], *, prefetch: bool
) -> list[tuple[str | None, float]]:
    """Place each item, add it where it went (or to a new group), and now and then close a group, as
    a batch's ingest does between placements."""
    if prefetch:
        index.prefetch(batch)
        assert all(scope._batch for scope in index._scopes.values())  # both scopes are large enough
    out = []
    for n, (where, v) in enumerate(batch):
        p = index.place("card declined", where, vector=v)
        out.append((p.issue_id, round(p.score, 5)))
        index.add_item(p.issue_id or f"new{n}", "card declined", stage=where, vector=v)
        if n % 7 == 3:
            index.close(f"g{n * 11}")  # a group leaves (a merge or a closed issue), rows move
    index.release()
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prefetched_placements_equal_one_by_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, DIM))
    batch = [(SCOPES[n % 2], centres[n % 12] + 0.35 * rng.standard_normal(DIM)) for n in range(80)]
    # Complaints no group holds yet, each heard twice: the second joins the group the first opened.
    novel = [rng.standard_normal(DIM) * 3 for _ in range(6)]
    batch += [(SCOPES[n % 2], v) for n, v in enumerate(novel)]
    batch += [(SCOPES[n % 2], v + 0.2 * rng.standard_normal(DIM)) for n, v in enumerate(novel)]
    batch += batch[:5]  # the same text twice in one batch
    alone = _run(_index(np.random.default_rng(seed), centres), batch, prefetch=False)
    together = _run(_index(np.random.default_rng(seed), centres), batch, prefetch=True)
    assert together == alone
    joined = [key for key, _ in alone if key is not None]
    # The batch both joined existing groups and groups it opened itself.
    assert any(k.startswith("g") for k in joined) and any(k.startswith("new") for k in joined)


def test_a_released_batch_is_not_used_again() -> None:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((12, DIM))
    index = _index(rng, centres)
    v = centres[0] + 0.1 * rng.standard_normal(DIM)
    index.prefetch([("pay/-", v), ("pay/-", v + 0.01)])
    index.release()
    # A group added after the release, right on the item: one product over the rows finds it.
    index.add_item("late", "card declined", stage="pay/-", vector=v)
    assert index.place("card declined", "pay/-", vector=v).issue_id == "late"


def test_groups_changed_after_the_product_are_scored_as_they_are_now() -> None:
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((12, DIM))
    index, fresh = _index(np.random.default_rng(5), centres), _index(np.random.default_rng(5), centres)
    v = centres[0] + 0.1 * rng.standard_normal(DIM)
    first = index.place("card declined", "pay/-", vector=v).issue_id
    assert first is not None
    index.prefetch([("pay/-", v), ("pay/-", v + 0.01)])
    assert index._scopes["pay/-"]._batch  # the batch's product is in use
    # The group it would join leaves (its row is taken by another group), and another moves onto v.
    for i in (index, fresh):
        i.close(first)
        i.add_item("g0", "card declined", vector=v * 40)
    placed = index.place("card declined", "pay/-", vector=v)
    assert placed.issue_id != first
    assert (placed.issue_id, round(placed.score, 5)) == (
        (alone := fresh.place("card declined", "pay/-", vector=v)).issue_id,
        round(alone.score, 5),
    )
