import json

import numpy as np
import pytest

from app.journey.grouping import GroupingSettings
from app.routing.embedding import load_default_embedder
from app.routing.grouping import GroupingIndex


def open_with(index: GroupingIndex, issue: str, stage: str, *texts: str) -> None:
    for text in texts:
        index.add_item(issue, text, stage=stage)


@pytest.fixture
def index() -> GroupingIndex:
    idx = GroupingIndex()
    idx.observe(["hello there", "my account", "general question about the app"] * 5)
    open_with(
        idx, "late-card", "get_card", "my card has not arrived", "card still not delivered after two weeks"
    )
    open_with(idx, "declined", "pay", "card payment declined at the shop", "payment was declined again")
    return idx


def test_similar_text_joins_the_issue_and_explains_why(index: GroupingIndex) -> None:
    placement = index.place("my new card has still not arrived", "get_card")
    assert placement.issue_id == "late-card"
    assert placement.reason == "similarity"
    assert placement.score >= index.settings.threshold
    assert "arriv" in placement.shared_terms


def test_unrelated_text_opens_a_new_issue(index: GroupingIndex) -> None:
    placement = index.place("the interest rate on savings is too low", "get_card")
    assert placement.issue_id is None
    assert placement.reason == "new"


def test_other_stages_are_never_candidates(index: GroupingIndex) -> None:
    assert index.place("card payment declined", "get_card").issue_id != "declined"
    assert index.place("card payment declined", "pay").issue_id == "declined"


def test_fingerprint_wins_over_similarity(index: GroupingIndex) -> None:
    index.add_item("order-9", "parcel for order 9 is late", "order:9", stage="get_card")
    placement = index.place("my card has not arrived", "get_card", fingerprint="order:9")
    assert (placement.issue_id, placement.reason, placement.score) == ("order-9", "fingerprint", 1.0)


def test_merge_moves_terms_fingerprints_and_closes_the_source(index: GroupingIndex) -> None:
    index.add_item("dup", "where is my card, it never arrived", "fp-1", stage="get_card")
    index.merge("dup", "late-card")
    assert "dup" not in index
    assert index.size("late-card") == 3
    assert index.place("anything", "get_card", fingerprint="fp-1").issue_id == "late-card"
    assert index.place("card never arrived", "get_card").issue_id == "late-card"
    with pytest.raises(ValueError, match="different stages"):
        index.merge("declined", "late-card")


def test_split_removes_the_item_and_an_empty_issue_closes(index: GroupingIndex) -> None:
    index.add_item("odd", "savings interest rate too low", stage="get_card")
    assert index.place("interest rate on savings", "get_card").issue_id == "odd"
    index.remove_item("odd", "savings interest rate too low")
    assert "odd" not in index
    assert index.place("interest rate on savings", "get_card").issue_id is None


def test_close_stops_offering_the_issue(index: GroupingIndex) -> None:
    index.close("late-card")
    assert index.place("my card has not arrived", "get_card").issue_id is None


def test_new_issue_needs_a_stage() -> None:
    with pytest.raises(ValueError, match="stage"):
        GroupingIndex().add_item("x", "text")


def test_state_round_trip_places_the_same(index: GroupingIndex) -> None:
    state = json.loads(json.dumps(index.to_state()))
    restored = GroupingIndex.from_state(state)
    for text, stage in [("card not arrived", "get_card"), ("declined payment", "pay"), ("rates", "pay")]:
        assert restored.place(text, stage) == index.place(text, stage)


def test_rebuild_from_rows_matches_incremental(index: GroupingIndex) -> None:
    rebuilt = GroupingIndex.rebuild(
        [
            ("a", "get_card", "my card has not arrived", None),
            ("a", "get_card", "card still not delivered after two weeks", None),
        ]
    )
    assert rebuilt.place("card not delivered", "get_card").issue_id == "a"


def test_settings_version_changes_with_any_field() -> None:
    assert GroupingSettings().version == GroupingSettings().version
    assert GroupingSettings(threshold=0.5).version != GroupingSettings().version


def test_placement_reads_a_bounded_number_of_postings() -> None:
    """With thousands of open issues sharing words, one placement touches only a few."""
    settings = GroupingSettings()
    idx = GroupingIndex(settings)
    for n in range(5000):
        idx.add_item(f"i{n}", f"my card payment failed at shop {n} again", stage="pay")
    idx.place("card payment failed at the shop", "pay")
    cost = idx.last_cost
    assert cost.postings_read <= settings.max_query_terms * settings.postings_per_term
    assert cost.postings_read < len(idx) / 20
    assert cost.candidates_scored <= settings.max_candidates


class FakeEmbedder:
    name = "fake"

    def embed(self, texts: list[str]) -> np.ndarray:
        # Two topics on two axes: enough to check the blend without a real model.
        rows = [[1.0, 0.0] if "card" in t else [0.0, 1.0] for t in texts]
        return np.array(rows, dtype=np.float32)


def test_embedding_blend_uses_its_own_threshold() -> None:
    idx = GroupingIndex(embedder=FakeEmbedder())
    assert idx.threshold == idx.settings.embedding_threshold
    idx.add_item("c", "card not arrived", stage="s")
    assert idx.place("card still not arrived", "s").issue_id == "c"
    idx.remove_item("c", "card not arrived")
    assert len(idx) == 0


def test_default_embedder_is_optional() -> None:
    embedder = load_default_embedder()
    if embedder is None:
        # The base install ships no encoder: grouping must then run on TF-IDF alone, with its own threshold.
        idx = GroupingIndex(embedder=None)
        assert idx.threshold == idx.settings.threshold
        idx.add_item("c", "card not arrived", stage="s")
        assert idx.place("my card has still not arrived", "s").issue_id == "c"
        return
    vectors = embedder.embed(["my card has not arrived", "where is my new card", "I was charged twice"])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_per_stage_thresholds_override_the_constant() -> None:
    strict = GroupingIndex(stage_thresholds={"s": 0.99})
    loose = GroupingIndex()
    for idx in (strict, loose):
        idx.add_item("c", "card not arrived", stage="s")
    assert strict.threshold_for("s") == 0.99 and strict.threshold_for("other") == strict.threshold
    assert loose.place("my card has still not arrived", "s").issue_id == "c"
    assert strict.place("my card has still not arrived", "s").issue_id is None
