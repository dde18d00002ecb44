"""Where an item belongs (stage, moment, issue fingerprint): pure, against the example journey."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from app.core.text import normalise
from app.journey.schemas import Journey
from app.routing.grouping import GroupingIndex

# Moves to app.routing.placement: this import is the only line that changes.
from app.routing.placement import (
    Decision,
    ItemFacts,
    bounded,
    decide,
    decide_manually,
    fingerprint,
    group,
    index_key,
    route,
    scope,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "journey.yaml"
JOURNEY = Journey.model_validate(yaml.safe_load(EXAMPLE.read_text()))


def facts(text: str | None = None, **kw: Any) -> ItemFacts:
    values: dict[str, Any] = {
        "text": text,
        "source": "app",
        "touchpoint": None,
        "persona": None,
        "score": None,
        "scale": None,
    }
    values.update(kw)
    return ItemFacts(**values)


@dataclass(frozen=True)
class Guess:
    stage: str
    moment: str | None
    confidence: float
    version: str = "m-1"


@dataclass
class FakeModel:
    guess: Guess
    asked: list[str]

    def predict(self, text: str) -> Guess:
        self.asked.append(text)
        return self.guess


def model(stage: str, confidence: float, moment: str | None = None) -> FakeModel:
    return FakeModel(Guess(stage, moment, confidence), [])


# --- names ----------------------------------------------------------------------------------------


def test_fingerprint_scope_and_index_key_spell_missing_parts_as_a_dash() -> None:
    assert fingerprint("pay", "first-bill", "invoice-email") == "pay/first-bill/invoice-email"
    assert fingerprint("pay", None, None) == "pay/-/-"
    assert fingerprint("pay", None, "support-csat") == "pay/-/support-csat"
    assert scope("use", "recipe") == "use/recipe"
    assert scope("use", None) == "use/-"
    assert index_key("pay", "pay/-/-") == "pay\tpay/-/-"


def test_bounded_keeps_short_fingerprints_and_hashes_long_ones() -> None:
    assert bounded("order-42") == "order-42"
    exact = "x" * 200
    assert bounded(exact) == exact
    long = "y" * 201
    out = bounded(long)
    assert len(out) == 200
    assert out == "y" * 183 + "#" + hashlib.sha256(long.encode()).hexdigest()[:16]


@given(st.text(max_size=600), st.integers(min_value=17, max_value=300))
def test_bounded_never_exceeds_the_limit_and_is_identity_below_it(fp: str, limit: int) -> None:
    out = bounded(fp, limit)
    assert len(out) <= limit
    if len(fp) <= limit:
        assert out == fp
    else:
        assert len(out) == limit and out.startswith(fp[: limit - 17])
    assert bounded(fp, limit) == out  # deterministic


@given(st.text(min_size=1, max_size=50), st.text(min_size=1, max_size=50))
def test_long_fingerprints_with_a_common_prefix_stay_apart(a: str, b: str) -> None:
    prefix = "order-" + "0" * 300
    if a != b:
        assert bounded(prefix + a) != bounded(prefix + b)


# --- route: touchpoint, rule, model ---------------------------------------------------------------


def test_a_rule_decides_before_a_known_touchpoint() -> None:
    # "charged twice" matches the double-charge rule: the rule wins over where it was written.
    d, why = route(facts("I was charged twice", touchpoint="box-review"), JOURNEY)
    assert why == {}
    assert d is not None and (d.stage, d.moment, d.method) == ("pay", "first-bill", "rule")
    assert d.fingerprint == "pay/first-bill/box-review"
    # Without a matching rule, the touchpoint places it.
    d, _ = route(facts("The herbs were wilted", touchpoint="box-review"), JOURNEY)
    assert d == Decision(
        stage="use",
        moment="ingredient-quality",
        fingerprint="use/ingredient-quality/box-review",
        method="touchpoint",
        detail={"touchpoint": "box-review"},
    )


def test_a_touchpoint_without_a_moment_places_at_the_stage() -> None:
    d = decide(facts(touchpoint="support-csat"), JOURNEY)
    assert d is not None
    assert (d.stage, d.moment, d.fingerprint) == ("get-help", None, "get-help/-/support-csat")


def test_an_unknown_touchpoint_falls_through_to_the_rules_and_is_kept_in_the_fingerprint() -> None:
    d, why = route(facts("They charged twice for one box!", touchpoint="kiosk"), JOURNEY)
    assert why == {}
    assert d is not None
    assert (d.stage, d.moment, d.method) == ("pay", "first-bill", "rule")
    assert d.fingerprint == "pay/first-bill/kiosk"
    assert d.detail == {"rule": "double-charge", "rule_fingerprint": "double-charge:double-charge"}


def test_rules_apply_in_order_and_a_rule_without_fingerprint_records_none() -> None:
    d = decide(facts("I want a refund, then I will cancel"), JOURNEY)
    assert d is not None
    assert (d.stage, d.moment, d.method) == ("get-help", "refund", "rule")  # refund comes before cancel
    assert d.detail == {"rule": "refund"}
    assert d.fingerprint == "get-help/refund/-"


def test_rule_fingerprint_from_metadata_and_missing_placeholder() -> None:
    courier = {"source": "zendesk", "metadata": {"tag": "late-delivery", "order_id": 42}}
    d = decide(facts("where is it", **courier), JOURNEY)
    assert d is not None and d.detail == {
        "rule": "courier-per-order",
        "rule_fingerprint": "courier-per-order:order-42",
    }
    no_order = decide(facts("where is it", source="zendesk", metadata={"tag": "late-delivery"}), JOURNEY)
    assert no_order is not None
    assert no_order.detail == {"rule": "courier-per-order"}  # the rule still places; no per-order group
    # metadata from customers can be long: the rule fingerprint is bounded
    huge = decide(
        facts("x", source="zendesk", metadata={"tag": "late-delivery", "order_id": "9" * 500}), JOURNEY
    )
    assert huge is not None
    assert len(huge.detail["rule_fingerprint"]) == 200
    assert huge.detail["rule_fingerprint"].startswith("courier-per-order:order-999")


def test_without_touchpoint_rule_or_model_the_item_waits_in_triage() -> None:
    d, why = route(facts("The soup was lovely"), JOURNEY)
    assert d is None and "triage" in why["reason"]
    assert decide(facts("The soup was lovely"), JOURNEY) is None


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_the_model_is_not_asked_about_an_item_without_text(text: str | None) -> None:
    m = model("use", 0.99)
    d, why = route(facts(text), JOURNEY, m)
    assert d is None and "triage" in why["reason"]
    assert m.asked == []


def test_a_confident_model_places_the_item_and_explains_why() -> None:
    m = model("use", 0.912345, "recipe")
    d, why = route(facts("The sauce burnt at step three", touchpoint="kiosk"), JOURNEY, m)
    assert why == {} and m.asked == ["The sauce burnt at step three"]
    assert d == Decision(
        stage="use",
        moment="recipe",
        fingerprint="use/recipe/kiosk",
        method="model",
        detail={"model_version": "m-1", "confidence": 0.9123, "threshold": 0.6},
    )


def test_the_threshold_itself_is_confident_enough_just_below_is_not() -> None:
    at = decide(facts("hmm"), JOURNEY, model("use", 0.6))
    assert at is not None and at.method == "model"
    d, why = route(facts("hmm"), JOURNEY, model("use", 0.5999))
    assert d is None
    assert why["predicted_stage"] == "use" and why["threshold"] == 0.6 and why["confidence"] == 0.5999
    assert "below the threshold" in why["reason"]


def test_a_model_moment_that_is_not_in_the_stage_is_dropped_and_an_unknown_stage_goes_to_triage() -> None:
    d = decide(facts("hmm"), JOURNEY, model("use", 0.9, "first-bill"))  # first-bill belongs to pay
    assert d is not None and (d.stage, d.moment, d.fingerprint) == ("use", None, "use/-/-")
    d, why = route(facts("hmm"), JOURNEY, model("teleport", 0.99))
    assert d is None and why["predicted_stage"] == "teleport"


def test_a_rule_is_preferred_to_the_model() -> None:
    m = model("use", 0.99)
    d = decide(facts("I was double charged"), JOURNEY, m)
    assert d is not None and d.method == "rule" and m.asked == []


def test_decide_manually_records_who_and_keeps_the_touchpoint() -> None:
    d = decide_manually(facts(touchpoint="kiosk"), "pay", "card-update", actor="amara")
    assert d == Decision("pay", "card-update", "pay/card-update/kiosk", "triage", {"by": "amara"})
    assert decide_manually(facts(), "pay", None, actor="x", method="correction").method == "correction"


# --- group: which issue in the stage ---------------------------------------------------------------

FISH_FP = "use/ingredient-quality/box-review"


@pytest.fixture
def index() -> GroupingIndex:
    idx = GroupingIndex(JOURNEY.routing.grouping)
    where = scope("use", "ingredient-quality")
    for text in ("The fish smelled bad when I opened it", "fish smelled off again this week"):
        idx.add_item(index_key("use", FISH_FP), text, stage=where)
    idx.add_item(
        index_key("pay", "pay/first-bill/-"),
        "charged twice",
        "double-charge:double-charge",
        stage="pay/first-bill",
    )
    return idx


def model_decision(stage: str = "use", moment: str | None = "ingredient-quality") -> Decision:
    return Decision(stage, moment, fingerprint(stage, moment, None), "model", {"model_version": "m-1"})


def test_without_an_index_or_text_the_decision_keeps_its_fingerprint(index: GroupingIndex) -> None:
    d = model_decision()
    for grouped in (group(d, "fish smelled bad", None), group(d, None, index), group(d, "  ", index)):
        assert grouped.fingerprint == d.fingerprint
        assert grouped.detail == {"model_version": "m-1", "grouping": {"method": "fingerprint"}}
    ruled = Decision(
        "pay", "first-bill", "pay/first-bill/-", "rule", {"rule": "r", "rule_fingerprint": "r:1"}
    )
    assert group(ruled, None, None).fingerprint == "r:1"


def test_touchpoint_items_group_per_touchpoint_unless_the_journey_groups_them_by_text(
    index: GroupingIndex,
) -> None:
    d, _ = route(facts("fish smelled bad", touchpoint="box-review"), JOURNEY)
    assert d is not None
    kept = group(d, "the fish smelled bad", index)
    assert kept.fingerprint == FISH_FP and kept.detail["grouping"] == {"method": "touchpoint"}
    other = replace(d, fingerprint="use/ingredient-quality/recipe-rating")
    assert group(other, "the fish smelled bad", index).fingerprint == "use/ingredient-quality/recipe-rating"
    by_text = group(other, "the fish smelled bad", index, touchpoints_by_text=True)
    assert by_text.fingerprint == FISH_FP and by_text.detail["grouping"]["method"] == "similarity"


def test_similar_text_joins_the_open_issue_and_says_why(index: GroupingIndex) -> None:
    grouped = group(model_decision(), "the fish smelled bad", index)
    assert grouped.fingerprint == FISH_FP
    assert (grouped.stage, grouped.moment, grouped.method) == ("use", "ingredient-quality", "model")
    why = grouped.detail["grouping"]
    assert why["method"] == "similarity" and why["settings_version"] == JOURNEY.routing.grouping.version
    assert why["score"] >= JOURNEY.routing.grouping.threshold
    assert "smell" in " ".join(why["shared_terms"])
    assert grouped.detail["model_version"] == "m-1"  # what route recorded is kept


def test_issues_in_another_moment_are_never_joined(index: GroupingIndex) -> None:
    grouped = group(model_decision("use", "recipe"), "the fish smelled bad", index)
    assert grouped.fingerprint.startswith("sim:use/recipe:")


def test_new_text_gets_a_deterministic_fingerprint_of_its_normalised_text(index: GroupingIndex) -> None:
    text = "Portions are  far too SMALL"
    grouped = group(model_decision(), text, index)
    digest = hashlib.sha256(normalise(text).encode()).hexdigest()[:16]
    assert grouped.fingerprint == f"sim:use/ingredient-quality:{digest}"
    assert grouped.detail["grouping"]["method"] == "new" and "best_score" in grouped.detail["grouping"]
    # the same words arriving twice at once open one issue, not two
    assert group(model_decision(), "portions are far too small", index).fingerprint == grouped.fingerprint


def test_a_rule_fingerprint_decides_alone(index: GroupingIndex) -> None:
    known = Decision(
        "pay",
        "first-bill",
        "pay/first-bill/-",
        "rule",
        {"rule": "double-charge", "rule_fingerprint": "double-charge:double-charge"},
    )
    grouped = group(known, "my card got billed twice", index)
    assert grouped.fingerprint == "pay/first-bill/-"  # the issue that holds the fingerprint
    assert grouped.detail["grouping"] == {
        "method": "fingerprint",
        "fingerprint": "double-charge:double-charge",
        "settings_version": JOURNEY.routing.grouping.version,
    }
    fresh = replace(known, detail={"rule": "double-charge", "rule_fingerprint": "double-charge:other"})
    # similar text does not pull a rule's item into another issue: its fingerprint opens its own
    assert group(fresh, "charged twice", index).fingerprint == "double-charge:other"


@given(st.text(max_size=80), st.sampled_from([None, "recipe", "ingredient-quality"]), st.booleans())
def test_grouping_never_changes_stage_moment_or_method(text: str, moment: str | None, by_text: bool) -> None:
    idx = GroupingIndex(JOURNEY.routing.grouping)
    idx.add_item(index_key("use", FISH_FP), "fish smelled bad", stage=scope("use", "ingredient-quality"))
    for d in (model_decision("use", moment), replace(model_decision("use", moment), method="touchpoint")):
        grouped = group(d, text, idx, touchpoints_by_text=by_text)
        assert (grouped.stage, grouped.moment, grouped.method) == (d.stage, d.moment, d.method)
        assert grouped.fingerprint
        assert "grouping" in grouped.detail
