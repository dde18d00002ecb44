"""Typeform ``form_response`` webhooks (contracts.md §C; example: examples/typeform_form_response.json).

Signature: ``Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>``, no timestamp, so
dedupe is the only replay defence. Delivery id: ``event_id`` (kept across Typeform's retries); the
item's upsert key is ``form_response.token`` (one per response).

Answers name their question by ``field.id``; the stable ``ref`` lives in ``definition.fields`` and
is often absent from the answer itself (as in Typeform's own example), so before mapping each
answer gets ``ref`` and ``title`` from the definition, and ``value`` (the answer by its type:
``choice`` -> label, ``choices`` -> labels). Paths can then say
``form_response.answers[ref=nps_score].number`` or ``...[ref=comment].value``.

Default mapping (override per source, e.g. another question ref):
  text      the answer with ref ``comment``, else the first long-text answer
  score     the answer with ref ``nps_score``, else the first ``nps`` question; scale NPS
  customer  hidden field ``customer_id``; email: hidden ``email``, else the first email answer
  persona / touchpoint   hidden fields ``persona`` / ``touchpoint`` (else the source's default)
  occurred_at            ``form_response.submitted_at``
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integrations import signatures

from .base import Delivery, FeedbackDraft, FieldMapping
from .mapping import body_digest_id, first_str, parse_json_object, resolve_draft

KIND = "typeform"

DEFAULT_MAPPING = FieldMapping(
    external_id=("form_response.token",),
    occurred_at=("form_response.submitted_at", "form_response.landed_at"),
    text=("form_response.answers[ref=comment].value", "form_response.answers[field.type=long_text].text"),
    score=("form_response.answers[ref=nps_score].number", "form_response.answers[field.type=nps].number"),
    scale="nps",
    customer_ref=("form_response.hidden.customer_id",),
    customer_email=("form_response.hidden.email", "form_response.answers[type=email].email"),
    persona=("form_response.hidden.persona",),
    touchpoint=("form_response.hidden.touchpoint",),
    metadata={
        "form_id": ("form_response.form_id",),
        "form_title": ("form_response.definition.title",),
        "hidden": ("form_response.hidden",),
        "landed_at": ("form_response.landed_at",),
    },
)


def parse_body(body: bytes) -> dict[str, Any]:
    return parse_json_object(body)


def verify(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime, *, token: str | None = None
) -> None:
    signatures.verify_typeform(body, headers, secret)


def delivery_id(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> str:
    return first_str(payload, "event_id", "form_response.token") or body_digest_id(body)


def describe(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> Delivery:
    event_type = first_str(payload, "event_type") or "unknown"
    return Delivery(
        kind=KIND,
        delivery_id=delivery_id(headers, body, payload),
        event_type=event_type,
        external_id=first_str(payload, "form_response.token"),
        # Partial responses (form_response_partial) are re-sent complete later under the same token.
        action="map" if event_type == "form_response" else "ignore",
    )


def _answer_value(answer: Mapping[str, Any]) -> Any:
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label", value.get("other"))
    if kind == "choices" and isinstance(value, dict):
        return value.get("labels")
    return value


def normalise(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with each answer's ``ref``, ``title`` and ``value`` filled in from the definition."""
    form = payload.get("form_response")
    if not isinstance(form, dict) or not isinstance(form.get("answers"), list):
        return dict(payload)
    fields: dict[str, Mapping[str, Any]] = {}
    definition = form.get("definition")
    if isinstance(definition, dict) and isinstance(definition.get("fields"), list):
        fields = {f["id"]: f for f in definition["fields"] if isinstance(f, dict) and "id" in f}
    answers = []
    for answer in form["answers"]:
        if not isinstance(answer, dict):
            answers.append(answer)
            continue
        raw_field = answer.get("field")
        field: Mapping[str, Any] = raw_field if isinstance(raw_field, dict) else {}
        known = fields.get(field.get("id", ""), {})
        answers.append(
            {
                **answer,
                "ref": field.get("ref", known.get("ref")),
                "title": known.get("title"),
                "value": _answer_value(answer),
            }
        )
    return {**payload, "form_response": {**form, "answers": answers}}


def to_drafts(payload: Mapping[str, Any], mapping: FieldMapping = DEFAULT_MAPPING) -> list[FeedbackDraft]:
    return [resolve_draft(normalise(payload), mapping, source=KIND)]
