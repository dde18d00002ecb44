import pytest
from pydantic import ValidationError

from app.journey.rules import RoutableItem, Rule, first_match


def item(text: str = "", **kw: object) -> RoutableItem:
    return RoutableItem(text=text, **kw)  # type: ignore[arg-type]


def test_first_match_wins_in_order() -> None:
    rules = [
        Rule(id="vip", persona=["vip"], stage="get_help"),
        Rule(id="card", contains_any=["card"], stage="get_card"),
    ]
    assert first_match(rules, item("my card", persona="vip")).id == "vip"  # type: ignore[union-attr]
    assert first_match(rules, item("my card", persona="student")).id == "card"  # type: ignore[union-attr]
    assert first_match(rules, item("my transfer", persona="student")) is None


def test_words_match_case_insensitively_on_word_boundaries() -> None:
    rule = Rule(id="r", contains_any=["card", "top up"], stage="s")
    assert rule.matches(item("My CARD is late"))
    assert rule.matches(item("cannot Top  Up my account"))
    assert not rule.matches(item("discarded the postcard"))


def test_contains_all_needs_every_word_and_apostrophes_are_ignored() -> None:
    rule = Rule(id="r", contains_all=["card", "hasn't"], stage="s")
    assert rule.matches(item("The card hasnt come"))
    assert rule.matches(item("card hasn't arrived"))
    assert not rule.matches(item("the card came"))


def test_source_touchpoint_metadata_and_score_conditions() -> None:
    rule = Rule(
        id="r",
        source=["survey"],
        touchpoint=["checkout"],
        metadata={"plan": ["gold", "silver"], "region": "eu"},
        score_min=0,
        score_max=6,
        stage="buy",
    )
    good = item(
        "x", source="survey", touchpoint="checkout", score=3, metadata={"plan": "gold", "region": "eu"}
    )
    assert rule.matches(good)
    assert not rule.matches(item("x", source="email", touchpoint="checkout", score=3, metadata=good.metadata))
    assert not rule.matches(
        item("x", source="survey", touchpoint="checkout", score=9, metadata=good.metadata)
    )
    assert not rule.matches(
        item("x", source="survey", touchpoint="checkout", score=None, metadata=good.metadata)
    )
    assert not rule.matches(
        item(
            "x", source="survey", touchpoint="checkout", score=3, metadata={"plan": "bronze", "region": "eu"}
        )
    )


def test_metadata_numbers_match_their_string_form() -> None:
    rule = Rule(id="r", metadata={"store": 12}, stage="s")
    assert rule.matches(item(metadata={"store": "12"}))
    assert not rule.matches(item(metadata={}))


def test_regex_is_case_insensitive_and_fingerprint_fills_metadata() -> None:
    rule = Rule(id="late", regex=r"order\s+#?\d+", fingerprint="order-{order_id}", stage="delivery")
    found = item("ORDER #123 is late", metadata={"order_id": 123})
    assert rule.matches(found)
    assert rule.fingerprint_for(found) == "late:order-123"
    assert rule.fingerprint_for(item("order 1")) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "has no condition"),
        ({"regex": "(unclosed"}, "regex"),
        ({"score_min": 9, "score_max": 1}, "score_min"),
        ({"contains_any": []}, "contains_any"),
        ({"contains_all": ["  "]}, "contains_all"),
        ({"source": []}, "source"),
        ({"metadata": {"plan": []}}, "plan"),
        ({"contains_any": ["x"], "fingerprint": "{}"}, "fingerprint"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        Rule(id="bad", stage="s", **fields)  # type: ignore[arg-type]
    assert message in str(err.value)
