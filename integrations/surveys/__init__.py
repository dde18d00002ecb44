"""Survey webhooks, vendor side: verify, describe, map. Pure; no ``app`` imports, no database.

How the service uses a kind (``KINDS[source.kind]``)::

    kind.verify(body, headers, secret, now, token=url_token)    # WebhookSignatureError -> 401
    payload = kind.parse_body(body)                              # MappingError -> quarantine
    delivery = kind.describe(headers, body, payload)             # dedupe on delivery.delivery_id
    if delivery.action == "fetch":                               # SurveyMonkey, Qualtrics
        payload = await FETCHERS[kind.KIND](client, delivery.fetch, api_credential)
    drafts = kind.to_drafts(payload, mapping)                    # MappingError -> quarantine

``mapping`` is ``kind.DEFAULT_MAPPING.with_overrides(source.mapping)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from . import delighted, qualtrics, standard, surveymonkey, typeform, zendesk
from .base import (
    Delivery,
    FeedbackDraft,
    FetchError,
    FetchRef,
    FieldMapping,
    MappingError,
    SurveyKind,
)
from .mapping import resolve_draft

KINDS: dict[str, SurveyKind] = {
    typeform.KIND: typeform,
    surveymonkey.KIND: surveymonkey,
    delighted.KIND: delighted,
    qualtrics.KIND: qualtrics,
    zendesk.KIND: zendesk,
    standard.KIND: standard,
}

Fetcher = Callable[[httpx.AsyncClient, FetchRef, str], Awaitable[dict[str, Any]]]
FETCHERS: dict[str, Fetcher] = {
    surveymonkey.KIND: surveymonkey.fetch,
    qualtrics.KIND: qualtrics.fetch,
}

__all__ = [
    "FETCHERS",
    "KINDS",
    "Delivery",
    "FeedbackDraft",
    "FetchError",
    "FetchRef",
    "FieldMapping",
    "MappingError",
    "SurveyKind",
    "resolve_draft",
]
