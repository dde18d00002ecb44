"""Finding one customer inside stored values: whole tokens only, structure kept, quotes cut."""

from __future__ import annotations

from app.privacy.matching import Needles, names, quotes, scrub, unquote
from app.privacy.pseudonyms import audit_digest, pseudonym

NEEDLES = Needles(
    ref="cus_1",
    addresses=frozenset({"ana@example.com"}),
    texts=frozenset({"The box came soaked through twice", "Too slow"}),
)


def test_a_reference_matches_as_a_whole_token_only() -> None:
    assert names({"after": {"customer_ref": "cus_1"}}, NEEDLES)
    assert names("mail to ANA@example.com failed", NEEDLES)
    assert not names({"customer_ref": "cus_12"}, NEEDLES)
    assert not names("xana@example.com.au", NEEDLES)
    assert not names(["Too slow"], NEEDLES)  # a short text is nobody's in particular
    assert names(b'{"text": "The box came soaked through twice"}', NEEDLES)


def test_scrub_keeps_the_structure_and_takes_out_only_them() -> None:
    alias = pseudonym("cus_1", "k")
    value = {
        "customer_ref": "cus_1",
        "to_email": "ana@example.com",
        "note": "cus_1 said: The box came soaked through twice. Other: cus_12",
        "n": 3,
    }
    assert scrub(value, NEEDLES, alias) == {
        "customer_ref": alias,
        "to_email": "",
        "note": f"{alias} said: . Other: cus_12",
        "n": 3,
    }


def test_a_title_loses_the_quote_of_their_words() -> None:
    title = 'Use: Delivery day: "The box came soaked..."'
    assert quotes(title, NEEDLES)
    assert unquote(title, NEEDLES, "erased:x") == "Use: Delivery day"
    assert not quotes('Use: Delivery day: "Late again"', NEEDLES)


def test_pseudonyms_are_stable_keyed_and_apart_from_the_audit_digest() -> None:
    assert pseudonym("cus_1", "k") == pseudonym("cus_1", "k, old")  # the newest key names it
    assert pseudonym("cus_1", "k") != pseudonym("cus_1", "other")
    assert pseudonym("cus_1", "k").removeprefix("erased:") not in audit_digest("cus_1", "k")
    assert "cus_1" not in pseudonym("cus_1", "k")
