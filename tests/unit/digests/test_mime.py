from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from app.digests.render import render
from app.notify.messages import Rendered
from integrations.smtp.mime import HeaderInjectionError, address, build_message
from tests.unit.digests.samples import HOSTILE, owner_digest

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SENDER = address("Seam", "seam@boxwise.example", "From")


def _build(rendered: Rendered, **kw: object) -> EmailMessage:
    args: dict[str, object] = {
        "sender": SENDER,
        "to": address("Ravi Menon", "ravi.menon@boxwise.example"),
        "now": NOW,
        "msgid_domain": "seam.boxwise.example",
        "dedupe_key": "digest:ravi:2026-W48",
    }
    args.update(kw)
    return build_message(rendered, **args)  # type: ignore[arg-type]


def test_message_has_text_then_html_and_survives_the_wire() -> None:
    rendered = render(owner_digest(verbatims=[]))
    msg = _build(rendered)
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())  # type: ignore[attr-defined]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == rendered.text
    assert parts[1].get_content() == rendered.html
    assert parsed["Subject"] == rendered.subject
    assert parsed["From"] == "Seam <seam@boxwise.example>"
    assert parsed["To"] == "Ravi Menon <ravi.menon@boxwise.example>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Seam-Key"] == "digest:ravi:2026-W48"
    assert parsed["Message-ID"].endswith("@seam.boxwise.example>")
    assert parsed["Date"] == "Mon, 23 Nov 2026 08:00:00 +0000"


def test_non_ascii_names_and_subjects_are_encoded() -> None:
    rendered = Rendered(subject="Seam weekly: Café & crème, 2 open", html="<p>x</p>", text="x\n")
    msg = _build(rendered, to=address("Zoë Ærøskøbing", "zoe@boxwise.example"))
    raw = msg.as_bytes()
    assert b"=?utf-8?" in raw  # RFC 2047 encoded words, not raw 8-bit headers
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Seam weekly: Café & crème, 2 open"
    assert parsed["To"].addresses[0].display_name == "Zoë Ærøskøbing"


@pytest.mark.parametrize(
    "bad",
    ["Weekly\r\nBcc: everyone@evil.example", "Weekly\nX-Evil: 1", "Weekly\rX: 1", "nul\x00byte"],
)
def test_header_with_line_breaks_is_refused(bad: str) -> None:
    with pytest.raises(HeaderInjectionError, match="Subject"):
        _build(Rendered(subject=bad, html="<p>x</p>", text="x"))
    with pytest.raises(HeaderInjectionError):
        address(bad, "ravi@boxwise.example")
    with pytest.raises(HeaderInjectionError):
        _build(Rendered(subject="ok", html="", text=""), dedupe_key=bad)
    with pytest.raises(HeaderInjectionError):
        _build(Rendered(subject="ok", html="", text=""), extra_headers={"List-Id": bad})


def test_addresses_and_header_names_are_checked() -> None:
    with pytest.raises(HeaderInjectionError):
        address("Ravi", "ravi@boxwise.example\r\nBcc: x@evil.example")
    with pytest.raises(HeaderInjectionError):
        address("Ravi", "not-an-address")
    with pytest.raises(HeaderInjectionError):
        address("Ravi", "a@b@c")
    with pytest.raises(HeaderInjectionError, match="header name"):
        _build(Rendered(subject="ok", html="", text=""), extra_headers={"Bcc: x@evil.example\r\nX": "1"})


def test_hostile_digest_becomes_a_clean_message() -> None:
    rendered = render(owner_digest(stage_name=HOSTILE[0] + "\r\nBcc: x@evil.example"))
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    parsed = message_from_bytes(_build(rendered).as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"].startswith("Seam weekly: <script>alert(1)</script> Bcc: x@evil.example")


def test_charts_travel_as_related_png_parts_named_by_their_cid() -> None:
    from app.notify.delivery import inline_images

    rendered = render(owner_digest(verbatims=[]))
    assert rendered.charts
    images = inline_images([c.model_dump(mode="json") for c in rendered.charts])
    parsed = message_from_bytes(_build(rendered, images=images).as_bytes(), policy=policy.default)
    plain, related = list(parsed.iter_parts())  # type: ignore[attr-defined]
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, *parts = list(related.iter_parts())
    assert html.get_content() == rendered.html
    assert [p["Content-ID"] for p in parts] == [f"<{c.cid}>" for c in rendered.charts]
    for part, image in zip(parts, images, strict=True):
        assert part.get_content_type() == "image/png" and part.get_content() == image.content
        assert f'src="cid:{image.cid}"' in rendered.html
    # The same chart data draws the same bytes: a retried delivery sends the same message.
    assert inline_images([c.model_dump(mode="json") for c in rendered.charts]) == images


@pytest.mark.parametrize("cid", ["a@b>\r\nBcc: x@evil.example", "no-at-sign", "sp ace@seam", "<a@seam>"])
def test_a_content_id_that_is_not_one_is_refused(cid: str) -> None:
    from integrations.channels import InlineImage

    with pytest.raises(HeaderInjectionError):
        _build(render(owner_digest()), images=[InlineImage(cid=cid, content=b"\x89PNG")])


def test_a_chart_holds_only_finite_numbers_of_matching_lengths() -> None:
    from pydantic import ValidationError

    from app.notify.charts import Chart

    good = {"cid": "t.pay@seam", "kind": "line", "title": "t", "labels": ["a", "b"], "values": [1.0, None]}
    assert Chart.model_validate(good).drawable
    for bad in (
        {"values": [float("nan"), 1.0]},
        {"values": [1.0]},
        {"lows": [1.0], "highs": [2.0, 3.0]},
        {"cid": "t@evil.example"},
    ):
        with pytest.raises(ValidationError):
            Chart.model_validate({**good, **bad})
