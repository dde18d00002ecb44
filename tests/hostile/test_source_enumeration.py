"""Finding which survey sources exist by probing their webhook URLs.

Before: an unknown source id got 404 while a known one got 401 naming the vendor's signature header,
so anyone could list the sources and learn which vendor each one is. Now every refusal at a source's
URL (unknown, disabled, of another kind, unsigned, forged) is the same 401 with the same body."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.integration.sources.helpers import counts as stored
from tests.integration.sources.helpers import create_source, example_bytes, sign

BODY = example_bytes("typeform_form_response.json")
VENDOR_HEADERS = ("typeform", "surveymonkey", "delighted", "zendesk", "webhook-signature", "x-hub")


def _answer(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, str, dict[str, Any]]:
    resp = client.post(path, content=BODY, headers=headers)
    body = resp.json()
    body.pop("instance", None)
    return resp.status_code, resp.headers.get("www-authenticate", ""), body


@pytest.mark.parametrize("signed", ["unsigned", "forged"])
def test_unknown_disabled_and_known_sources_answer_alike(
    client: TestClient, admin_key: str, engine: Engine, signed: str
) -> None:
    known = create_source(client, admin_key, "typeform")
    zendesk = create_source(client, admin_key, "zendesk")
    disabled = create_source(client, admin_key, "typeform", enabled=False)
    headers = {"Content-Type": "application/json"}
    if signed == "forged":
        headers = sign("typeform", BODY, secret="not-the-secret")

    reference = _answer(client, f"/webhooks/{known['id']}", headers)
    assert reference[0] == 401
    assert reference[2]["status"] == 401
    for path in (
        "/webhooks/999999",  # no such source
        f"/webhooks/{disabled['id']}",
        f"/webhooks/{zendesk['id']}",  # another vendor: no header of its own is named
        f"/webhooks/{known['id']}/some-token",  # a token URL of a source that is not Qualtrics
    ):
        assert _answer(client, path, headers) == reference, path
    detail = str(reference[2]).lower()
    for name in VENDOR_HEADERS:
        assert name not in detail
    assert stored(engine) == (0, 0, 0)


def test_a_genuine_delivery_is_still_accepted(client: TestClient, admin_key: str) -> None:
    source = create_source(client, admin_key, "typeform")
    resp = client.post(f"/webhooks/{source['id']}", content=BODY, headers=sign("typeform", BODY))
    assert resp.status_code == 202, resp.text


def test_the_url_probe_answers_alike_for_every_id(client: TestClient, admin_key: str) -> None:
    """Before: `HEAD /webhooks/{id}` answered 200 for an enabled source and 404 for any other id."""
    known = create_source(client, admin_key, "typeform")
    disabled = create_source(client, admin_key, "typeform", enabled=False)
    answers = {
        path: (resp.status_code, resp.content)
        for path in (f"/webhooks/{known['id']}", f"/webhooks/{disabled['id']}", "/webhooks/999999")
        for resp in [client.head(path)]
    }
    assert set(answers.values()) == {(200, b"")}, answers
