"""One signed-webhook receiver for every vendor: verify, store once, answer at once.

A router supplies the vendor-specific parts (how to load the verifier config, how to check the
signature and name the delivery); this module owns what must not differ between vendors: the 401
for a bad signature, storage in the inbox with its outbox "process" row, and the acknowledgement.
Processing happens after the response, so the vendor gets its 2xx fast.

A router may also hand over what it holds in memory (`known`): the configuration with the SQL condition
under which it is still the stored one. Then the acknowledgement reads nothing before its write, and
the write checks that condition in its own statement; if it no longer holds, the router forgets what it
held and the delivery goes the whole way again (load, verify, store).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine

from app.auth.ratelimit import MemoryLimiter, bucket_of
from app.core import metrics
from app.core.problems import problem_response
from app.inbox import acknowledge
from app.inbox.acknowledge import Still
from integrations.base import WebhookSignatureError

log = logging.getLogger("seam.webhooks")

Config = TypeVar("Config")

RESULTS = ("accepted", "duplicate", "ignored", "refused", "limited")
RECEIVERS = ("survey", "jira", "zendesk")
# Counted at the answer: the delivery's row is committed before an `accepted` is sent.
ACKS = metrics.counter(
    "webhook_acks",
    "Webhook deliveries answered, by receiver kind and answer: accepted, duplicate, ignored, refused "
    "(bad signature, unknown receiver, unreadable payload) or limited (429)",
    ("receiver", "result"),
    known=[(r, a) for r in RECEIVERS for a in RESULTS],
)


class WebhookAck(BaseModel):
    status: Literal["accepted", "duplicate", "ignored"]


@dataclass(frozen=True)
class Refusal:
    """An answer other than a bad signature: no such receiver (404), a secret that cannot be read
    (401), a payload the vendor should not resend (400)."""

    status: int
    detail: str


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: the vendor's id for it (a retry has the same one) and the headers
    processing reads again, kept with the body; every other header is dropped."""

    id: str
    keep_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Known(Generic[Config]):
    """A configuration held in memory, and the condition under which it is still the stored one."""

    config: Config
    still: Still


def signature_refused(request: Request, exc: WebhookSignatureError) -> Response:
    """401 problem+json. The reason and message name the header at fault, never a secret."""
    return problem_response(
        401,
        f"Signature check failed ({exc.reason}): {exc.message}",
        request=request,
        slug="bad-signature",
        headers={"WWW-Authenticate": "Signature"},
    )


def _refused(request: Request, refusal: Refusal) -> Response:
    headers = {"WWW-Authenticate": "Signature"} if refusal.status == 401 else None
    return problem_response(refusal.status, refusal.detail, request=request, headers=headers)


def store(
    engine: Engine,
    channel: str,
    delivery: Delivery,
    body: bytes,
    headers: Mapping[str, str],
    process_kind: str,
    still: Still | None = None,
) -> acknowledge.Outcome:
    """Stores a verified delivery with its processing message (see `acknowledge.store_delivery`)."""
    # SQLite writers in this process already queue on the engine's write slot (app.core.db).
    return acknowledge.store_delivery(
        engine,
        channel,
        delivery.id,
        body,
        headers=headers,
        keep_headers=delivery.keep_headers,
        process_kind=process_kind,
        still=still,
    )


async def handle(
    request: Request,
    *,
    receiver: str,
    channel: str,
    load: Callable[[], Config | Refusal],
    verify: Callable[[Config, bytes, Mapping[str, str]], Awaitable[Delivery | Refusal | None]],
    process_kind: str,
    known: Callable[[], Known[Config] | None] | None = None,
    forget: Callable[[], object] | None = None,
) -> Response:
    """Receives one signed delivery: 202 accepted, 200 duplicate for a vendor's retry of a delivery
    already stored (nothing new is queued; vendors treat any 2xx as delivered), 202 ignored, 401 bad
    signature, else a Refusal.

    ``receiver`` names the kind of receiver in metrics (`survey`, `jira`...): never an id, which would
    make a series per source. ``load`` runs in a worker thread and returns what the signature is
    checked against. ``verify`` raises WebhookSignatureError for a bad signature; it returns None for
    a genuine delivery about nothing we keep, which is acknowledged and not stored.

    ``known`` returns the configuration held in memory, if any (no I/O); ``forget`` drops it when the
    store finds it changed.
    """
    result, response = await _respond(request, channel, load, verify, process_kind, known, forget)
    ACKS.labels(receiver, result).inc()
    return response


Answer = tuple[str, Response]


async def _respond(
    request: Request,
    channel: str,
    load: Callable[[], Config | Refusal],
    verify: Callable[[Config, bytes, Mapping[str, str]], Awaitable[Delivery | Refusal | None]],
    process_kind: str,
    known: Callable[[], Known[Config] | None] | None,
    forget: Callable[[], object] | None,
) -> Answer:
    limiter: MemoryLimiter = request.app.state.webhook_limiter
    address = request.client.host if request.client else "unknown"
    wait = limiter.hit(bucket_of(f"webhook:{channel}", address))
    if wait is not None:
        return "limited", problem_response(
            429,
            "Too many deliveries to this URL; retry later.",
            request=request,
            headers={"Retry-After": str(wait)},
        )
    body = await request.body()
    held = known() if known is not None else None
    if held is not None:
        answer = await _answer(request, channel, held.config, body, verify, process_kind, held.still)
        if not isinstance(answer, str):
            return answer
        if answer == "stale" and forget is not None:
            forget()
    config = await run_in_threadpool(load)
    if isinstance(config, Refusal):
        return "refused", _refused(request, config)
    answer = await _answer(request, channel, config, body, verify, process_kind, None)
    assert not isinstance(answer, str)  # without a condition the store is never stale
    return answer


async def _answer(
    request: Request,
    channel: str,
    config: Config,
    body: bytes,
    verify: Callable[[Config, bytes, Mapping[str, str]], Awaitable[Delivery | Refusal | None]],
    process_kind: str,
    still: Still | None,
) -> Answer | Literal["stale", "unverified"]:
    """Verifies and stores. Under a held configuration (`still`), nothing is answered when the
    signature does not match it (`unverified`: a secret set since may have signed it) or the store
    found it changed (`stale`); the caller then loads the stored one."""
    try:
        delivery = await verify(config, body, request.headers)
    except WebhookSignatureError as exc:
        if still is not None:
            return "unverified"
        log.info("%s: delivery refused (%s)", channel, exc.reason)
        return "refused", signature_refused(request, exc)
    if isinstance(delivery, Refusal):
        return "refused", _refused(request, delivery)
    if delivery is None:
        return "ignored", JSONResponse({"status": "ignored"}, status_code=202)
    engine = request.app.state.engine
    outcome = await run_in_threadpool(
        store, engine, channel, delivery, body, request.headers, process_kind, still
    )
    if outcome == "stale":
        return "stale"
    if outcome == "stored":
        return "accepted", JSONResponse({"status": "accepted"}, status_code=202)
    return "duplicate", JSONResponse({"status": "duplicate"}, status_code=200)
