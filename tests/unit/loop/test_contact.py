"""Which address a customer's fix notice goes to."""

from __future__ import annotations

from app.loop.customers import contact_of


def test_a_survey_sources_address_is_used() -> None:
    # Survey webhooks keep a respondent's ref and put the address under customer_email.
    assert contact_of("resp_8812", {"customer_email": "ana@example.com"}) == "ana@example.com"


def test_an_explicit_email_wins_and_a_ref_that_is_an_address_serves() -> None:
    assert contact_of("c1", {"email": "b@example.com", "customer_email": "a@example.com"}) == "b@example.com"
    assert contact_of("ana@example.com", {}) == "ana@example.com"


def test_no_address_or_a_refusal_means_no_contact() -> None:
    assert contact_of("resp_1", {"customer_email": "not an address"}) is None
    assert contact_of("resp_1", {"customer_email": "ana@example.com", "contact": "no"}) is None
