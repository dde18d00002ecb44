"""Digests that differ only in whom they greet (a run's leadership scorecards, a team's digest to each
member) are rendered once per distinct content and greet each recipient by name: the result is exactly
what rendering each one alone gives."""

from __future__ import annotations

from typing import Any

from app.digests.model import Person
from app.digests.render import Renderer, render
from tests.unit.digests import samples

NAMES = ["Dana Okafor", "Sam O'Brien & <Partners>", "Ana \u00c1lvarez"]


def _to_each(first: Any) -> list[Any]:
    # Built as the job builds them: a new digest per recipient from the same snapshot objects (the
    # model copies the lists it is given, and keeps their items).
    fields = {name: getattr(first, name) for name in type(first).model_fields}
    return [
        type(first)(**{**fields, "recipient": Person(name=n, email=f"p{i}@boxwise.example")})
        for i, n in enumerate(NAMES)
    ]


def _same_as_alone(renderer: Renderer, digests: list[Any]) -> None:
    for digest in digests:
        alone = render(digest)
        shared = renderer.render(digest)
        assert (shared.subject, shared.html, shared.text) == (alone.subject, alone.html, alone.text)
        # The charts the HTML names by cid travel with it (tests/integration/loop/test_digest_images.py
        # receives them over SMTP).
        assert shared.charts == alone.charts


def test_each_leader_gets_exactly_their_own_rendering() -> None:
    same = _to_each(samples.leadership_digest())
    other = samples.leadership_digest(
        stages=[samples.stage("renew", "Renew", "Lee Park", [3, 1, -2, -9], open=1, overdue=1)]
    )
    renderer = Renderer()
    _same_as_alone(renderer, [*same, other, same[0]])
    assert "Hello Sam O&#39;Brien &amp; &lt;Partners&gt;," in renderer.render(same[1]).html
    assert "Hello Sam O'Brien & <Partners>," in renderer.render(same[1]).text
    assert "Renew" in renderer.render(other).html and "Renew" not in renderer.render(same[2]).html
    assert len(renderer._shared) == 2


def test_each_team_member_gets_exactly_their_own_rendering() -> None:
    same = _to_each(samples.team_digest())
    other = _to_each(samples.team_digest(team_key="billing", team_name="Billing"))
    renderer = Renderer()
    _same_as_alone(renderer, [*same, *other, same[1]])
    assert "Hello Ana \u00c1lvarez," in renderer.render(other[2]).text
    assert "Billing" in renderer.render(other[0]).html and "Billing" not in renderer.render(same[0]).html
    assert len(renderer._shared) == 2


def test_owner_digests_are_rendered_each_alone() -> None:
    renderer = Renderer()
    _same_as_alone(renderer, _to_each(samples.owner_digest()))
    assert renderer._shared == {}
