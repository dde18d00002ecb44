"""Signed webhook receivers: ``POST /webhooks/{source_id}`` (Qualtrics: ``/webhooks/{source_id}/{token}``).

The request does three things and nothing else, so the vendor gets its 2xx fast:

1. verify the vendor's signature over the raw bytes, exactly as the vendor signs (see
   ``integrations.signatures``); a bad, missing or stale signature gets 401 problem+json and
   nothing is stored. An unknown, disabled or unreadable source gets the very same 401, and the
   answer never names the vendor's header: the URLs do not tell which sources exist or what they
   are (the reason is logged for whoever sets the source up);
2. store the raw delivery in the inbox under the vendor's delivery id (Typeform/SurveyMonkey/
   Delighted ``event_id``, Zendesk envelope ``id`` or invocation id, Qualtrics ``ResponseID``,
   Standard Webhooks ``webhook-id``): a vendor's retry is the same row and queues nothing;
3. answer 202 (200 for a delivery already stored). The item is made after the response by
   ``app.sources.processing``.

A body that cannot be parsed is still stored (under a digest of its bytes) once it is verified,
so processing quarantines it with the reason instead of losing it. ``HEAD /webhooks/{source_id}``
answers 200 for SurveyMonkey's probe of a new URL, whatever the id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, bindparam, exists, select
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.crypto import DecryptionError, decrypt
from app.core.db import reader
from app.core.direct_routes import DirectRoute
from app.core.pagination import MAX_ID, RowId, row_id
from app.core.problems import PROBLEM_RESPONSES
from app.core.settings import Settings
from app.inbox import receiver
from app.inbox.acknowledge import Still
from app.inbox.receiver import Delivery, Known, WebhookAck
from app.sources import service
from app.sources.models import Source
from app.sources.service import PROCESS_KIND
from integrations import signatures
from integrations.base import WebhookSignatureError
from integrations.surveys import KINDS, MappingError, zendesk
from integrations.surveys.mapping import body_digest_id

log = logging.getLogger("seam.webhooks")

# Headers processing reads again (delivery ids); signatures are not kept.
KEEP_HEADERS: dict[str, tuple[str, ...]] = {
    "standard": (signatures.SW_ID_HEADER, signatures.SW_TIMESTAMP_HEADER),
    "zendesk": (zendesk.INVOCATION_HEADER, "x-zendesk-webhook-id", signatures.ZENDESK_TIMESTAMP_HEADER),
    "surveymonkey": (signatures.SURVEYMONKEY_APIKEY_HEADER,),
}
MAX_DELIVERY_ID = 300
# Bodies up to this size are verified on the event loop: an HMAC over a few kilobytes costs less than
# the hand-off to a worker thread. Larger ones (a survey with long answers) go to a thread.
INLINE_VERIFY_BYTES = 64 * 1024
_COLS = Source.__table__.c  # type: ignore[attr-defined]
_SOURCE = select(_COLS.kind, _COLS.enabled, _COLS.secret_encrypted).where(_COLS.id == bindparam("id"))
# One clause for every source, so the acknowledgement's statement is compiled once.
_STILL = exists().where(
    _COLS.id == bindparam("still_source", type_=_COLS.id.type),
    _COLS.enabled.is_(True),
    _COLS.kind == bindparam("still_kind", type_=_COLS.kind.type),
    _COLS.secret_encrypted == bindparam("still_secret", type_=_COLS.secret_encrypted.type),
)
MAX_TOKEN = 200
Token = Annotated[
    str, Path(min_length=1, max_length=MAX_TOKEN, description="Qualtrics: the source's URL token.")
]


BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The vendor's payload, byte for byte as signed.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    }
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookAck, "description": "Already received (the vendor's retry); nothing new stored"},
    202: {"model": WebhookAck, "description": "Stored; the feedback item is made after this response"},
    401: PROBLEM_RESPONSES[401],
    # Only a path that is no source URL at all (the id is not a number); an unknown id gets 401.
    404: PROBLEM_RESPONSES[404],
    413: PROBLEM_RESPONSES[413],
    422: PROBLEM_RESPONSES[422],
}

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def delivery_key(kind: str, headers: Mapping[str, str], body: bytes) -> str:
    """The vendor's delivery id, or a digest of the body when the body cannot be read."""
    module = KINDS[kind]
    try:
        found = module.delivery_id(headers, body, module.parse_body(body))
    except MappingError:
        return body_digest_id(body)
    if not found or len(found) > MAX_DELIVERY_ID or "\x00" in found:
        return body_digest_id(body)
    return found


@dataclass(frozen=True)
class Verifier:
    """What a source's deliveries are checked against; `kind` None for a URL that takes none (an
    unknown, disabled or unreadable source), which is refused exactly as a bad signature is."""

    kind: str | None
    # Out of the repr: a stray log line or traceback naming a Verifier must not print the secret.
    secret: str = field(repr=False)
    source_id: int = 0
    # The stored ciphertext the secret came from: the version a held Verifier is checked against.
    ciphertext: str = ""

    @cached_property
    def still(self) -> Still:
        """True while this is still the source as stored: enabled, of this kind, with this secret."""
        return Still(
            _STILL, {"still_source": self.source_id, "still_kind": self.kind, "still_secret": self.ciphertext}
        )


def refused() -> WebhookSignatureError:
    """Every refusal at a source's URL says this and only this (no header name, no vendor)."""
    return WebhookSignatureError("the delivery's signature could not be verified", reason="mismatch")


@lru_cache(maxsize=4096)
def _opened(source_id: int, secret_encrypted: str, secret_key: str) -> str:
    """A source's secret, decrypted once per stored value (DecryptionError is not cached).

    Keyed by the stored ciphertext, which is the secret's version: setting or re-encrypting a secret
    writes a new one (Fernet tokens carry a fresh IV), so the next delivery misses and decrypts the new
    value. The row itself is read on every delivery, so disabling a source takes effect at once.
    """
    return decrypt(secret_encrypted, secret_key)


def held(state: Any) -> dict[int, Verifier]:
    """This app's Verifiers of enabled sources, by source id: an acknowledgement verifies against the
    one held and its store checks, in the same statement, that it is still the stored one."""
    found: dict[int, Verifier] | None = getattr(state, "source_verifiers", None)
    if found is None:
        found = state.source_verifiers = {}
    return found


def known(state: Any, source_id: int, token: str | None) -> Known[Verifier] | None:
    verifier = held(state).get(source_id)
    if verifier is None or (token is not None and verifier.kind != "qualtrics"):
        return None
    return Known(verifier, verifier.still)


def load(
    engine: Engine,
    settings: Settings,
    source_id: int,
    token: str | None,
    keep: dict[int, Verifier] | None = None,
) -> Verifier:
    """The source's kind and decrypted secret (a refusing Verifier when its URL takes no delivery),
    kept in `keep` when the source takes deliveries. Runs in a worker thread."""
    # Only a read: on SQLite it must not queue for the write slot behind other deliveries' stores.
    with Session(reader(engine)) as session:
        # Core, not the ORM: a full Source load was the largest cost of an acknowledgement.
        source = session.execute(_SOURCE, {"id": source_id}).first()
    if source is None or not source.enabled or (token is not None and source.kind != "qualtrics"):
        return Verifier(None, "", source_id)
    try:
        secret = _opened(source_id, source.secret_encrypted, settings.secret_key.get_secret_value())
    except DecryptionError:
        log.error("source %s: webhook secret cannot be decrypted with SEAM_SECRET_KEY", source_id)
        return Verifier(None, "", source_id)
    verifier = Verifier(source.kind, secret, source_id, source.secret_encrypted)
    if keep is not None:
        keep[source_id] = verifier
    return verifier


def check(verifier: Verifier, token: str | None, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """Raises `refused()` unless the vendor signed these bytes; names the delivery."""
    if verifier.kind is None:
        raise refused()
    try:
        KINDS[verifier.kind].verify(body, headers, verifier.secret, utcnow(), token=token)
    except WebhookSignatureError as exc:
        # The vendor's own reason (which header, stale or forged) is for the log, not the caller.
        log.info("source %s: delivery refused (%s: %s)", verifier.source_id, exc.reason, exc.message)
        raise refused() from None
    return Delivery(delivery_key(verifier.kind, headers, body), KEEP_HEADERS.get(verifier.kind, ()))


async def _receive(request: Request, source_id: int, token: str | None) -> Response:
    state = request.app.state

    async def verify(verifier: Verifier, body: bytes, headers: Mapping[str, str]) -> Delivery:
        if len(body) <= INLINE_VERIFY_BYTES:
            return check(verifier, token, body, headers)
        # A worker thread: hashing and parsing a body of several megabytes would stall the loop.
        return await run_in_threadpool(check, verifier, token, body, headers)

    keep = held(state)
    return await receiver.handle(
        request,
        receiver="survey",
        channel=service.channel(source_id),
        load=partial(load, state.engine, state.settings, source_id, token, keep),
        verify=verify,
        process_kind=PROCESS_KIND,
        known=partial(known, state, source_id, token),
        forget=partial(keep.pop, source_id, None),
    )


def _takes(params: Mapping[str, str]) -> bool:
    """The routed endpoints' own bounds on their path (an id in the database's range, a token's
    length): anything else goes the routed way and gets its answer there."""
    token = params.get("token")
    return 1 <= row_id(params["source_id"]) <= MAX_ID and (token is None or 1 <= len(token) <= MAX_TOKEN)


async def _direct(request: Request, params: Mapping[str, str]) -> Response:
    return await _receive(request, int(params["source_id"]), params.get("token"))


# The acknowledgement answered past FastAPI's routing (see app.core.direct_routes): a survey wave is
# hundreds of deliveries a second. The routes below stay what the OpenAPI document describes.
DIRECT_ROUTES = (
    DirectRoute(
        "POST", re.compile(r"/webhooks/(?P<source_id>[0-9]+)"), _direct, "/webhooks/{source_id}", _takes
    ),
    DirectRoute(
        "POST",
        re.compile(r"/webhooks/(?P<source_id>[0-9]+)/(?P<token>[^/]+)"),
        _direct,
        "/webhooks/{source_id}/{token}",
        _takes,
    ),
)


@router.post("/{source_id:rowid}", status_code=202, responses=RESPONSES, openapi_extra=BODY_DOC)
async def receive(source_id: RowId, request: Request) -> Response:
    """A signed delivery from Typeform, SurveyMonkey, Delighted, Zendesk or a Standard Webhooks sender."""
    return await _receive(request, source_id, None)


@router.post("/{source_id:rowid}/{token}", status_code=202, responses=RESPONSES, openapi_extra=BODY_DOC)
async def receive_with_token(source_id: RowId, token: Token, request: Request) -> Response:
    """A Qualtrics event-subscription delivery: the token in the URL is the proof of origin."""
    return await _receive(request, source_id, token)


@router.head(
    "/{source_id:rowid}",
    response_class=Response,  # no body, so no content type is promised
    responses={
        200: {"description": "The URL takes deliveries"},
        404: PROBLEM_RESPONSES[404],  # a path that is not a number is not a source URL
        422: PROBLEM_RESPONSES[422],
    },
)
def probe(source_id: RowId) -> Response:
    """SurveyMonkey checks a new webhook URL with HEAD before it sends anything. Every id gets the same
    200, without a lookup: an answer that differed for unknown or disabled sources would tell which
    sources exist, as the POST's single 401 is careful not to."""
    return Response(status_code=200)
