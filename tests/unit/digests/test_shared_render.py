"""A run's leadership scorecards are rendered once per distinct content and greet each leader by name:
the result is exactly what rendering each one alone gives."""

from __future__ import annotations

from app.digests.model import Person
from app.digests.render import Renderer, render
from tests.unit.digests import samples


def test_each_leader_gets_exactly_their_own_rendering() -> None:
    first = samples.leadership_digest()
    # Built from one snapshot, as the job builds them: the same stage, moment and insight objects.
    names = ["Dana Okafor", "Sam O'Brien & <Partners>", "Ana \u00c1lvarez"]
    same = [
        first.model_copy(update={"recipient": Person(name=n, email=f"p{i}@boxwise.example")})
        for i, n in enumerate(names)
    ]
    other = samples.leadership_digest(
        stages=[samples.stage("renew", "Renew", "Lee Park", [3, 1, -2, -9], open=1, overdue=1)]
    )
    renderer = Renderer()
    for digest in [*same, other, same[0]]:
        alone = render(digest)
        shared = renderer.render(digest)
        assert (shared.subject, shared.html, shared.text) == (alone.subject, alone.html, alone.text)
        # The charts the HTML names by cid travel with it (tests/integration/loop/test_digest_images.py
        # receives them over SMTP).
        assert shared.charts == alone.charts
    assert "Hello Sam O&#39;Brien &amp; &lt;Partners&gt;," in renderer.render(same[1]).html
    assert "Hello Sam O'Brien & <Partners>," in renderer.render(same[1]).text
    assert "Renew" in renderer.render(other).html and "Renew" not in renderer.render(same[2]).html
    assert len(renderer._scorecards) == 2
