"""/api/v1/sources through the public API: configure, test a mapping, and never give a secret back."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.main import create_app
from app.sources.models import Source
from tests.integration.sources.helpers import (
    ALL_SECRETS,
    SECRETS,
    SM_API_TOKEN,
    counts,
    example_bytes,
    payload_bytes,
    sign,
)
from tests.support.api import auth, make_key, settings_for
from tests.support.live import serve
from tests.support.outbox import drain


class Recorder:
    """Every response body the test saw, to prove no secret was ever in one."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: list[str] = []

    def __call__(self, method: str, url: str, **kw: Any) -> httpx.Response:
        resp = self.client.request(method, url, **kw)
        self.seen.append(resp.text)
        return resp

    def assert_no_secret(self) -> None:
        for text in self.seen:
            for secret in ALL_SECRETS:
                assert secret not in text


@pytest.fixture
def api(client: TestClient) -> Recorder:
    return Recorder(client)


def test_crud_never_returns_secrets(api: Recorder, admin_key: str, engine: Engine) -> None:
    h = auth(admin_key)
    created = api(
        "POST",
        "/api/v1/sources",
        json={
            "kind": "surveymonkey",
            "name": "Checkout survey",
            "secret": SECRETS["surveymonkey"],
            "api_token": SM_API_TOKEN,
            "default_touchpoint": "checkout-survey",
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["webhook_url"] == f"http://127.0.0.1:8000/webhooks/{body['id']}"
    assert body["has_api_token"] is True and body["api_base_url"] is None
    assert body["effective_mapping"]["scale"] == "nps" and body["quarantined"] == 0
    assert "secret" not in body and "api_token" not in body
    sid = body["id"]
    assert api("GET", f"/api/v1/sources/{sid}", headers=h).json()["name"] == "Checkout survey"
    assert [s["id"] for s in api("GET", "/api/v1/sources", headers=h).json()["items"]] == [sid]
    patched = api(
        "PATCH",
        f"/api/v1/sources/{sid}",
        json={"secret": "sm_client_Yq8&rotated", "default_touchpoint": None, "mapping": {"scale": "ces"}},
        headers=h,
    )
    assert patched.status_code == 200, patched.text
    assert (
        patched.json()["default_touchpoint"] is None and patched.json()["effective_mapping"]["scale"] == "ces"
    )
    # Stored encrypted: the plain secret is nowhere in the row.
    with Session(engine) as s:
        row = s.execute(select(Source)).scalar_one()
        assert SECRETS["surveymonkey"] not in row.secret_encrypted and "rotated" not in row.secret_encrypted
        assert row.api_token_encrypted and SM_API_TOKEN not in row.api_token_encrypted
    # The rotated secret is the one that verifies now.
    event = example_bytes("surveymonkey_response_completed.json")
    old = api("POST", f"/webhooks/{sid}", content=event, headers=sign("surveymonkey", event))
    new = api(
        "POST",
        f"/webhooks/{sid}",
        content=event,
        headers=sign("surveymonkey", event, secret="sm_client_Yq8&rotated"),
    )
    assert (old.status_code, new.status_code) == (401, 202)
    assert api("DELETE", f"/api/v1/sources/{sid}", headers=h).status_code == 204
    assert api("GET", f"/api/v1/sources/{sid}", headers=h).status_code == 404
    api.assert_no_secret()


@pytest.mark.parametrize(
    "body,field",
    [
        ({"kind": "surveymonkey", "secret": "no-ampersand", "api_token": "t"}, "secret"),
        ({"kind": "surveymonkey", "secret": SECRETS["surveymonkey"]}, "api_token"),
        ({"kind": "standard", "secret": "not whsec"}, "secret"),
        (
            {
                "kind": "qualtrics",
                "secret": "short",
                "api_token": "t",
                "api_base_url": "https://x.qualtrics.com",
            },
            "secret",
        ),
        ({"kind": "qualtrics", "secret": SECRETS["qualtrics"], "api_token": "t"}, "api_base_url"),
        ({"kind": "typeform", "secret": "s", "api_base_url": "https://api.typeform.com"}, "api_base_url"),
        (
            {"kind": "typeform", "secret": "s", "mapping": {"score": "answers[", "scale": "nps"}},
            "mapping.score",
        ),
        ({"kind": "typeform", "secret": "s", "mapping": {"colour": "x"}}, "mapping.colour"),
        ({"kind": "hotjar", "secret": "s"}, "kind"),
    ],
)
def test_invalid_sources_are_refused_by_field_without_echoing_secrets(
    api: Recorder, admin_key: str, body: dict[str, Any], field: str, engine: Engine
) -> None:
    resp = api("POST", "/api/v1/sources", json={"name": "x", **body}, headers=auth(admin_key))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in resp.json()["errors"]]
    assert body["secret"] not in resp.text or len(body["secret"]) < 2
    api.assert_no_secret()
    with Session(engine) as s:
        assert s.execute(select(Source)).first() is None


def test_private_base_urls_are_refused_unless_allowed(engine: Engine, admin_key: str) -> None:
    app = create_app(settings_for(engine, allow_private_network=False), engine)
    with TestClient(app) as client:
        resp = client.post(
            "/api/v1/sources",
            json={
                "kind": "surveymonkey",
                "name": "x",
                "secret": SECRETS["surveymonkey"],
                "api_token": "t",
                "api_base_url": "http://127.0.0.1:8080",
            },
            headers=auth(admin_key),
        )
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "api_base_url"


def test_scopes(client: TestClient, admin_key: str, engine: Engine) -> None:
    reader, manager = make_key(engine, ["read"]), make_key(engine, ["manage"])
    new = {"kind": "typeform", "name": "x", "secret": "s"}
    assert client.post("/api/v1/sources", json=new, headers=auth(manager)).status_code == 403
    sid = client.post("/api/v1/sources", json=new, headers=auth(admin_key)).json()["id"]
    assert client.get("/api/v1/sources", headers=auth(reader)).status_code == 200
    assert client.get(f"/api/v1/sources/{sid}/quarantine", headers=auth(reader)).status_code == 403
    assert client.get(f"/api/v1/sources/{sid}/quarantine", headers=auth(manager)).status_code == 200
    assert (
        client.patch(f"/api/v1/sources/{sid}", json={"name": "y"}, headers=auth(manager)).status_code == 403
    )
    assert client.get("/api/v1/sources").status_code == 401


SAMPLES = [
    ("typeform", example_bytes("typeform_form_response.json"), "typeform", None),
    ("delighted", example_bytes("delighted_survey_response.json"), "delighted", 9.0),
    ("zendesk", payload_bytes("zendesk_csat_trigger.json"), "zendesk", 1.0),
    ("zendesk", example_bytes("zendesk_ticket_status_changed.json"), "zendesk-contact", None),
    ("standard", payload_bytes("standard_feedback_created.json"), "standard", 2.0),
    ("surveymonkey", payload_bytes("surveymonkey_response_details.json"), "surveymonkey", 3.0),
    ("qualtrics", payload_bytes("qualtrics_response.json"), "qualtrics", 4.0),
]


@pytest.mark.parametrize("kind,sample,source,score", SAMPLES, ids=[f"{s[0]}-{s[2]}" for s in SAMPLES])
def test_mapping_test_shows_the_item_and_stores_nothing(
    client: TestClient,
    admin_key: str,
    engine: Engine,
    kind: str,
    sample: bytes,
    source: str,
    score: float | None,
) -> None:
    extra = {"api_token": "t", "api_base_url": "https://example.qualtrics.com"} if kind == "qualtrics" else {}
    if kind == "surveymonkey":
        extra = {"api_token": "t"}
    new = {"kind": kind, "name": kind, "secret": SECRETS[kind], "default_persona": "family", **extra}
    sid = client.post("/api/v1/sources", json=new, headers=auth(admin_key)).json()["id"]
    resp = client.post(
        f"/api/v1/sources/{sid}/test", json={"payload": json.loads(sample)}, headers=auth(admin_key)
    )
    assert resp.status_code == 200, resp.text
    (item,) = resp.json()["items"]
    assert (item["source"], item["score"]) == (source, score)
    assert item["kind"] == ("contact" if source.endswith("-contact") else "feedback")
    assert item["persona"] in ("family", "small-business", "frequent-buyer")
    assert counts(engine) == (0, 0, 0)


def test_mapping_test_reports_what_it_cannot_read(client: TestClient, admin_key: str) -> None:
    sid = client.post(
        "/api/v1/sources", json={"kind": "delighted", "name": "d", "secret": "k"}, headers=auth(admin_key)
    ).json()["id"]
    payload = json.loads(example_bytes("delighted_survey_response.json"))
    payload["event_data"]["score"] = 11
    resp = client.post(f"/api/v1/sources/{sid}/test", json={"payload": payload}, headers=auth(admin_key))
    assert resp.status_code == 422
    assert resp.json()["errors"] == [
        {"field": "payload.event_data.score", "message": "score: 11 is outside the nps range 0-10"}
    ]
    payload["event_type"] = "unsubscribe.created"
    resp = client.post(f"/api/v1/sources/{sid}/test", json={"payload": payload}, headers=auth(admin_key))
    assert resp.json() == {"action": "ignore", "event_type": "unsubscribe.created", "items": []}
    bad = client.post(
        f"/api/v1/sources/{sid}/test",
        json={"payload": payload, "mapping": {"text": 5}},
        headers=auth(admin_key),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("mapping.text")


def test_over_real_http_the_ack_comes_first_and_the_item_after(engine: Engine, admin_key: str) -> None:
    app = create_app(settings_for(engine), engine)
    body = payload_bytes("standard_feedback_created.json")
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        created = http.post(
            "/api/v1/sources",
            json={"kind": "standard", "name": "hj", "secret": SECRETS["standard"]},
            headers=auth(admin_key),
        )
        sid = created.json()["id"]
        assert http.head(f"/webhooks/{sid}").status_code == 200
        resp = http.post(f"/webhooks/{sid}", content=body, headers=sign("standard", body, msg_id="msg_live"))
        assert resp.status_code == 202 and resp.json() == {"status": "accepted"}
        assert counts(engine) == (1, 1, 0)
        drain(engine)
        listed = http.get("/api/v1/feedback", headers=auth(admin_key)).json()["items"]
    assert [i["external_id"] for i in listed] == ["hj-resp-8842"]


def test_concurrent_retries_of_one_delivery_store_it_once(engine: Engine, admin_key: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    app = create_app(settings_for(engine), engine)
    body = example_bytes("delighted_survey_response.json")
    headers = sign("delighted", body)
    with serve(app) as base, httpx.Client(base_url=base, timeout=20) as http:
        sid = http.post(
            "/api/v1/sources",
            json={"kind": "delighted", "name": "d", "secret": SECRETS["delighted"]},
            headers=auth(admin_key),
        ).json()["id"]

        def send(_: int) -> int:
            with httpx.Client(base_url=base, timeout=20) as own:
                return own.post(f"/webhooks/{sid}", content=body, headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(send, range(8)))
    assert statuses == [200] * 7 + [202]
    assert counts(engine) == (1, 1, 0)
    drain(engine)
    assert counts(engine)[2] == 1
