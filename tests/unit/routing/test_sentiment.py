"""Praise detection from score and wording."""

from __future__ import annotations

import pytest

from app.routing.sentiment import classify, is_praise, score_polarity


@pytest.mark.parametrize(
    ("text", "praise"),
    [
        ("The waitress was lovely and the food delicious.", True),
        ("Great app, transfers are fast and easy", True),
        ("The food was not good.", False),
        ("Friendly staff but the wait was forever", False),
        ("Why was I charged twice?", False),
        ("I would like to know how to order a card", False),
        ("My card has not arrived", False),
        ("", False),
    ],
)
def test_wording(text: str, praise: bool) -> None:
    assert is_praise(text) is praise


def test_scores_on_their_scales() -> None:
    assert score_polarity(10, "nps") == "praise"
    assert score_polarity(7, "nps") == "neutral"
    assert score_polarity(3, "nps") == "complaint"
    assert score_polarity(5, "csat") == "praise"
    assert score_polarity(2, "csat") == "complaint"
    assert score_polarity(7, "ces") == "praise"
    assert score_polarity(1, "ces") == "complaint"
    assert score_polarity(None, None) is None


def test_score_and_text_together() -> None:
    # A detractor is a complaint however kind the words.
    assert classify("Lovely staff", 2, "nps").polarity == "complaint"
    # A promoter with a complaint in the text still reports a problem worth grouping.
    assert classify("9/10 but the app logs me out", 9, "nps").polarity == "complaint"
    assert classify(None, 10, "nps").polarity == "praise"
    assert classify("ok", 10, "nps").basis == "score+text"
    assert classify("nothing to add", 8, "nps").polarity == "complaint"
    assert classify("The room", 8, "nps").polarity == "neutral"
