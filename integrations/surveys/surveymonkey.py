"""SurveyMonkey webhooks: a thin event, then a fetch of the answers (contracts.md §C).

Signature: ``Sm-Apikey: <client_id>`` and
``Sm-Signature: <base64 HMAC-SHA1("{client_id}&{client_secret}", raw body)>``.
The source's stored secret is that HMAC key, ``"{client_id}&{client_secret}"``, split at the first
``&`` (client ids have none). Bodies come as ``application/vnd.surveymonkey.response.v1+json``:
we parse the bytes and never look at the content type. SurveyMonkey probes a new URL with HEAD,
which the router must answer 200.

The event (example examples/surveymonkey_response_completed.json) carries no answers:
``response_completed`` / ``response_updated`` -> fetch
``GET /v3/surveys/{resources.survey_id}/responses/{object_id}/details?simple=true`` (``simple`` adds
question ``heading`` and answer ``simple_text``) and map that JSON. Delivery id: ``event_id``;
item upsert key: ``object_id`` (the response id), so completed-then-updated stays one item.

Before mapping, the fetched response gets a flat ``questions`` list (all pages) where each
question also has ``value`` (first answer's ``simple_text`` or ``text``), ``text`` (open-ended
text), ``has_text``, ``number`` (leading integer of the choice text, e.g. "9" or
"9 - Very likely"), and ``kind`` = ``"{family}/{subtype}"``.

Default mapping (question ids differ per survey, so most sources override ``score``/``text`` with
``questions[id=<question id>].number`` / ``.text``):
  text      first open-ended answer                  score  first ``matrix/rating`` question, NPS
  customer  custom variable ``customer_id``          email  ``email_address`` (contact collectors)
  persona / touchpoint   custom variables ``persona`` / ``touchpoint``
  occurred_at            ``date_modified``
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from integrations import signatures

from .base import Delivery, FeedbackDraft, FetchRef, FieldMapping, MappingError
from .fetch import get_json, path_segment
from .mapping import body_digest_id, first_str, parse_json_object, resolve_draft

KIND = "surveymonkey"
CONTENT_TYPE = "application/vnd.surveymonkey.response.v1+json"
FETCH_EVENTS = frozenset({"response_completed", "response_updated"})
_LEADING_INT = re.compile(r"^\s*(-?\d+)(?!\d)")

DEFAULT_MAPPING = FieldMapping(
    external_id=("id",),
    occurred_at=("date_modified", "date_created"),
    text=("questions[has_text=true].text",),
    score=("questions[kind=matrix/rating].number",),
    scale="nps",
    customer_ref=("custom_variables.customer_id",),
    customer_email=("email_address",),
    persona=("custom_variables.persona",),
    touchpoint=("custom_variables.touchpoint",),
    metadata={
        "survey_id": ("survey_id",),
        "collector_id": ("collector_id",),
        "response_status": ("response_status",),
        "custom_variables": ("custom_variables",),
        "analyze_url": ("analyze_url",),
    },
)


def parse_body(body: bytes) -> dict[str, Any]:
    return parse_json_object(body)


def split_secret(secret: str) -> tuple[str, str]:
    client_id, sep, client_secret = secret.partition("&")
    if not sep or not client_id or not client_secret:
        raise ValueError("SurveyMonkey secret must be '{client_id}&{client_secret}'")
    return client_id, client_secret


def verify(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime, *, token: str | None = None
) -> None:
    client_id, client_secret = split_secret(secret)
    signatures.verify_surveymonkey(body, headers, client_id, client_secret)


def delivery_id(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> str:
    return first_str(payload, "event_id") or body_digest_id(body)


def describe(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> Delivery:
    """Raises :class:`MappingError` when a response event lacks the ids needed to fetch it."""
    event_type = first_str(payload, "event_type") or "unknown"
    wanted = event_type in FETCH_EVENTS and first_str(payload, "object_type") in (None, "response")
    if not wanted:
        return Delivery(
            kind=KIND, delivery_id=delivery_id(headers, body, payload), event_type=event_type, action="ignore"
        )
    survey_id = first_str(payload, "resources.survey_id")
    response_id = first_str(payload, "object_id")
    if survey_id is None:
        raise MappingError("resources.survey_id", "survey_id: missing, so the response cannot be fetched")
    if response_id is None:
        raise MappingError("object_id", "response id: missing, so the response cannot be fetched")
    return Delivery(
        kind=KIND,
        delivery_id=delivery_id(headers, body, payload),
        event_type=event_type,
        external_id=response_id,
        action="fetch",
        fetch=FetchRef(survey_id=survey_id, response_id=response_id),
    )


async def fetch_surveymonkey_response(
    client: httpx.AsyncClient, survey_id: str, response_id: str, *, access_token: str | None = None
) -> dict[str, Any]:
    """The response with answers; ``client`` carries the base URL (https://api.surveymonkey.com)."""
    url = f"/v3/surveys/{path_segment(survey_id)}/responses/{path_segment(response_id)}/details"
    headers = {"Accept": "application/json"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    return await get_json(client, url, headers, params={"simple": "true"})


async def fetch(client: httpx.AsyncClient, ref: FetchRef, credential: str) -> dict[str, Any]:
    return await fetch_surveymonkey_response(client, ref.survey_id, ref.response_id, access_token=credential)


def _question(question: Mapping[str, Any], page_id: Any) -> dict[str, Any]:
    answers = question.get("answers")
    answers = [a for a in answers if isinstance(a, dict)] if isinstance(answers, list) else []
    open_text = next(
        (a["text"] for a in answers if "choice_id" not in a and isinstance(a.get("text"), str)), None
    )
    first = answers[0] if answers else {}
    value = first.get("simple_text", first.get("text"))
    match = _LEADING_INT.match(value) if isinstance(value, str) and "choice_id" in first else None
    return {
        **question,
        "page_id": page_id,
        "kind": f"{question.get('family')}/{question.get('subtype')}",
        "value": value,
        "text": open_text,
        "has_text": open_text is not None,
        "number": int(match.group(1)) if match else None,
    }


def normalise(response: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with a flat ``questions`` list across pages (see the module docstring)."""
    pages = response.get("pages")
    if not isinstance(pages, list):
        return dict(response)
    questions = []
    for page in pages:
        if isinstance(page, dict) and isinstance(page.get("questions"), list):
            questions += [_question(q, page.get("id")) for q in page["questions"] if isinstance(q, dict)]
    return {**response, "questions": questions}


def to_drafts(response: Mapping[str, Any], mapping: FieldMapping = DEFAULT_MAPPING) -> list[FeedbackDraft]:
    """Map a fetched ``/details`` response (not the thin event)."""
    return [resolve_draft(normalise(response), mapping, source=KIND)]
