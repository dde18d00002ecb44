"""Online placement, emerging groups and offline consolidation (pure, vectors only)."""

from __future__ import annotations

import random

import numpy as np
from sklearn.metrics import adjusted_rand_score

from app.routing.consolidate import ConsolidationPlan, Group, GroupBook, Item, consolidate, place


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def _topics(n_per: int, seed: int = 0) -> list[tuple[str, np.ndarray, int]]:
    """Three well separated topics in 8 dimensions, with noise."""
    rng = np.random.default_rng(seed)
    out = []
    for topic in range(3):
        base = np.zeros(8)
        base[topic] = 1.0
        for i in range(n_per):
            out.append((f"t{topic}-{i:02d}", _unit(list(base + rng.normal(0, 0.15, 8))), topic))
    return out


def test_praise_never_joins_a_complaint_group() -> None:
    book = GroupBook({"s": 0.5})
    v = _unit([1, 0, 0])
    for i in range(3):
        book.add(Item(f"c{i}", "s", v, "complaint"))
    praise_group = book.add(Item("p0", "s", v, "praise"))
    assert praise_group != book.assignment()["c0"]
    assert book.groups[praise_group].polarity == "praise"
    book.add(Item("p1", "s", v, "praise"))
    book.add(Item("p2", "s", v, "praise"))
    book.consolidate()
    complaint_members = {m for g in book.groups.values() if g.polarity == "complaint" for m in g.members}
    assert complaint_members == {"c0", "c1", "c2"}
    # Even an open complaint *issue* with the identical vector does not take praise.
    issue = Group("i1", "s", "issue", "complaint")
    issue.add("c9", v)
    assert place(Item("p3", "s", v, "praise"), [issue], 0.0).group_id is None


def test_consolidation_merges_emerging_duplicates_and_only_proposes_issue_merges() -> None:
    v = _unit([1, 0.1, 0])
    emerging = [Group(f"e{i}", "s", "emerging") for i in range(3)]
    vectors = {}
    for i, g in enumerate(emerging):
        vectors[f"x{i}"] = v
        g.add(f"x{i}", v)
    issue_a, issue_b = Group("A", "s", "issue"), Group("B", "s", "issue")
    for k in range(3):
        issue_a.add(f"a{k}", _unit([0, 1, 0.05]), ["card", "arriv"])
        issue_b.add(f"b{k}", _unit([0, 1, -0.05]), ["card", "deliv"])
    plan = consolidate([*emerging, issue_a, issue_b], vectors, {"s": 0.8})
    assert isinstance(plan, ConsolidationPlan)
    assert len(plan.clusters) == 1
    assert plan.clusters[0].members == ("x0", "x1", "x2")
    assert plan.clusters[0].promote and plan.clusters[0].into_issue is None
    assert len(plan.proposals) == 1
    proposal = plan.proposals[0]
    assert {proposal.keep, proposal.merge} == {"A", "B"}
    assert proposal.similarity > 0.8 and proposal.shared_terms == ("card",)
    # Proposed, not applied: both issues are untouched.
    assert issue_a.members == ["a0", "a1", "a2"] and issue_b.members == ["b0", "b1", "b2"]


def test_emerging_items_fold_into_a_matching_issue() -> None:
    issue = Group("I", "s", "issue")
    for k in range(3):
        issue.add(f"i{k}", _unit([1, 0, 0]))
    stray = Group("e1", "s", "emerging")
    stray.add("x", _unit([1, 0.05, 0]))
    plan = consolidate([issue, stray], {"x": _unit([1, 0.05, 0])}, {"s": 0.9})
    assert plan.clusters[0].into_issue == "I"


def test_online_plus_consolidation_is_nearly_order_independent() -> None:
    items = _topics(12)

    books: list[GroupBook] = []

    def run(seed: int) -> dict[str, str]:
        order = items[:]
        random.Random(seed).shuffle(order)
        book = GroupBook({"s": 0.6})
        for n, (item_id, vector, _) in enumerate(order):
            book.add(Item(item_id, "s", vector))
            if n == len(order) // 3:
                book.consolidate()
        book.consolidate()
        books.append(book)
        return book.assignment()

    a, b = run(1), run(2)
    ids = [i for i, _, _ in items]
    assert adjusted_rand_score([a[i] for i in ids], [b[i] for i in ids]) >= 0.95
    truth = [t for _, _, t in items]
    assert adjusted_rand_score(truth, [a[i] for i in ids]) >= 0.95
    assert [sorted(g.kind for g in book.groups.values()) for book in books] == [["issue"] * 3] * 2


def test_place_respects_stage_and_threshold() -> None:
    g = Group("g", "s1", "emerging")
    g.add("a", _unit([1, 0]))
    assert place(Item("b", "s2", _unit([1, 0])), [g], 0.1).group_id is None
    assert place(Item("b", "s1", _unit([0, 1])), [g], 0.1).group_id is None
    hit = place(Item("b", "s1", _unit([1, 0.1])), [g], 0.9)
    assert hit.group_id == "g" and hit.kind == "emerging" and hit.score > 0.9
