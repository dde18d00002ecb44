"""Issue titles name the shared problem."""

from __future__ import annotations

from app.routing.titles import titles


def test_titles_name_the_shared_problem() -> None:
    groups = {
        "a": [
            "My card still has not arrived, it has been two weeks.",
            "The card has not arrived yet. Hello, thanks.",
            "Ordered a card ten days ago and it never arrived",
        ],
        "b": [
            "I was charged twice for one coffee",
            "There is a duplicate charge on my account, charged twice",
            "Why was I charged twice for the same payment?",
        ],
    }
    out = titles(groups)
    assert any("arriv" in k for k in out["a"].keyphrases[:2])
    assert any("charg" in k and "twice" in k for k in out["b"].keyphrases[:2])
    assert "arrived" in out["a"].text.lower()
    assert "charged twice" in out["b"].text.lower()
    assert "thanks" not in out["a"].text.lower()


def test_long_titles_are_shortened_on_a_word() -> None:
    long = "The card " + "really " * 40 + "never arrived."
    out = titles({"a": [long, long], "b": ["charged twice", "charged twice again"]})
    assert len(out["a"].text) <= 90 and out["a"].text.endswith("…")
