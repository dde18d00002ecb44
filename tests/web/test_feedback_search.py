"""`/feedback`: a person finds what customers said by their words, with where each item went."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.core.settings import Settings
from app.feedback.search import words_of
from tests.web.helpers import ingest, item, sign_in


def _found(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-item="(\d+)"', html)]


def test_every_word_must_appear_in_any_case(web: TestClient, web_settings: Settings) -> None:
    sign_in(web, web_settings, "vic")
    froze = web.get("/feedback", params={"q": "FROZE checkout"})
    assert froze.status_code == 200
    assert len(_found(froze.text)) == 3
    # Each found item links to the issue it joined.
    assert len(set(re.findall(r'href="/issues/(\d+)"', froze.text))) == 1
    assert _found(web.get("/feedback", params={"q": "froze promo"}).text) == []
    assert 'id="no-results"' in web.get("/feedback", params={"q": "froze promo"}).text
    assert len(_found(web.get("/feedback", params={"q": "promo"}).text)) == 2


def test_wildcards_are_plain_characters(web: TestClient, web_settings: Settings, engine: Engine) -> None:
    ingest(engine, [item(90, "code 50_off was refused"), item(91, "code 50Xoff was refused")])
    sign_in(web, web_settings, "vic")
    assert len(_found(web.get("/feedback", params={"q": "50_off"}).text)) == 1
    # Nothing to look for: the page asks for words instead of listing everything.
    html = web.get("/feedback", params={"q": "%"}).text
    assert _found(html) == [] and "Type a few words" in html


def test_filters_and_pages(web: TestClient, web_settings: Settings, engine: Engine) -> None:
    # Arriving oldest last, and two at the same moment: the page orders by when they happened.
    rain = [
        item(
            100 + n,
            f"The courier left my box in the rain, week {n}",
            occurred_at=f"2026-{1 + n // 5:02d}-0{1 + n % 5}T10:00:00Z",
        )
        for n in range(55)
    ]
    ingest(engine, list(reversed(rain)))
    sign_in(web, web_settings, "vic")
    first = web.get("/feedback", params={"q": "courier rain"})
    ids = _found(first.text)
    assert len(ids) == 50 and ids == sorted(ids)
    assert re.search(r"week 54\b", first.text) and not re.search(r"week 4\b", first.text)
    older = re.search(r'id="older" href="([^"]+)"', first.text)
    assert older
    rest = _found(web.get(older.group(1).replace("&amp;", "&")).text)
    assert len(rest) == 5 and set(rest).isdisjoint(ids)
    assert re.search(r"week 4\b", web.get(older.group(1).replace("&amp;", "&")).text)
    # Items in triage have no stage: a stage filter leaves them out.
    assert _found(web.get("/feedback", params={"q": "courier", "stage": "buy"}).text) == []
    assert len(_found(web.get("/feedback", params={"q": "froze", "stage": "buy"}).text)) == 3


def test_bad_input_is_refused_and_signed_out_asks_to_sign_in(web: TestClient, web_settings: Settings) -> None:
    assert web.get("/feedback?q=froze", follow_redirects=False).status_code in (302, 303)
    sign_in(web, web_settings, "vic")
    assert web.get("/feedback", params={"q": "x" * 201}).status_code == 422
    assert web.get("/feedback", params={"stage": "nowhere"}).status_code == 422
    # The form sends empty fields for "any": they filter nothing.
    assert len(_found(web.get("/feedback", params={"q": "froze", "stage": "", "source": ""}).text)) == 3


def test_words_of_keeps_apostrophes_and_unicode() -> None:
    assert words_of("Didn't   get my CAFÉ au lait, didn't!") == ["didn't", "get", "my", "café", "au", "lait"]
    assert words_of("%_%") == ["_"]
