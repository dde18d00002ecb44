"""Source endpoints: configure, try a mapping, see and replay the quarantine. Thin; commits once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core import links, pagination
from app.core.deps import get_session
from app.core.errors import InvalidInput, field_error
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.core.settings import Settings
from app.inbox.models import InboundDelivery
from app.sources import service
from app.sources.convert import to_feedback
from app.sources.models import Source
from app.sources.schemas import (
    MappingTestIn,
    MappingTestOut,
    QuarantinePage,
    ReplayOut,
    SourceIn,
    SourceList,
    SourceOut,
    SourcePatch,
)
from integrations.surveys import KINDS, MappingError

router = APIRouter(prefix="/api/v1/sources", tags=["sources"], responses=PROBLEM_RESPONSES)
SourceId = RowId


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _out(request: Request, source: Source, quarantined: int) -> dict[str, Any]:
    assert source.id is not None
    base = _settings(request).public_url.rstrip("/")
    return {
        "id": source.id,
        "kind": source.kind,
        "name": source.name,
        "webhook_url": f"{base}/webhooks/{source.id}",
        "has_api_token": source.api_token_encrypted is not None,
        "api_base_url": source.api_base_url,
        "mapping": source.mapping,
        "effective_mapping": service.effective_mapping(source.kind, source.mapping).model_dump(mode="json"),
        "default_touchpoint": source.default_touchpoint,
        "default_persona": source.default_persona,
        "staff": source.staff,
        "enabled": source.enabled,
        "retention_days": source.retention_days,
        "quarantined": quarantined,
        "created_at": source.created_at,
        "updated_at": source.updated_at,
    }


def _one(request: Request, session: Session, source: Source) -> dict[str, Any]:
    assert source.id is not None
    return _out(request, source, service.quarantine_counts(session, [source.id])[source.id])


@router.post(
    "",
    status_code=201,
    response_model=SourceOut,
    responses=links.answered(
        201,
        "Created.",
        GetSource=links.to(
            "/api/v1/sources/{source_id}", "GET", "The source just made.", source_id="$response.body#/id"
        ),
        PatchSource=links.to(
            "/api/v1/sources/{source_id}", "PATCH", "Change it.", source_id="$response.body#/id"
        ),
        DeleteSource=links.to(
            "/api/v1/sources/{source_id}", "DELETE", "Delete it.", source_id="$response.body#/id"
        ),
    ),
)
def create_source(
    body: SourceIn,
    request: Request,
    _: Principal = Depends(require("admin")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    settings = _settings(request)
    source = service.create(
        session,
        body,
        secret_key=settings.secret_key.get_secret_value(),
        allow_private=settings.allow_private_network,
    )
    session.commit()
    return _out(request, source, 0)


@router.get("", response_model=SourceList)
def list_sources(
    request: Request, _: Principal = Depends(require("read")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    rows = service.list_sources(session)
    counts = service.quarantine_counts(session, [r.id for r in rows if r.id is not None])
    return {"items": [_out(request, r, counts.get(r.id or 0, 0)) for r in rows]}


@router.get("/{source_id}", response_model=SourceOut)
def get_source(
    source_id: SourceId,
    request: Request,
    _: Principal = Depends(require("read")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return _one(request, session, service.get(session, source_id))


@router.patch("/{source_id}", response_model=SourceOut)
def update_source(
    source_id: SourceId,
    body: SourcePatch,
    request: Request,
    _: Principal = Depends(require("admin")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    settings = _settings(request)
    source = service.update(
        session,
        source_id,
        body,
        secret_key=settings.secret_key.get_secret_value(),
        allow_private=settings.allow_private_network,
    )
    session.commit()
    return _one(request, session, source)


@router.delete("/{source_id}", status_code=204, response_class=Response)
def delete_source(
    source_id: SourceId, _: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> Response:
    service.delete_source(session, source_id)
    session.commit()
    return Response(status_code=204)


@router.post("/{source_id}/test", response_model=MappingTestOut)
def test_mapping(
    source_id: SourceId,
    body: MappingTestIn,
    _: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Runs a sample payload through the source's mapping (or the given overrides). Stores nothing."""
    source = service.get(session, source_id)
    cfg = service.config(source, None, overrides=body.mapping)
    kind = KINDS[source.kind]
    event_type: str | None = None
    try:
        if source.kind not in service.FETCHING_KINDS:  # thin kinds' samples are the fetched response
            delivery = kind.describe({}, b"", body.payload)
            event_type = delivery.event_type
            if delivery.action == "ignore":
                return {"action": "ignore", "event_type": event_type, "items": []}
        drafts = kind.to_drafts(body.payload, cfg.mapping)
        items = [(d.kind, to_feedback(d, cfg)) for d in drafts]
    except MappingError as exc:
        raise InvalidInput(
            f"The mapping cannot read this payload: {exc}",
            errors=[
                field_error("payload" if exc.field_path == "$" else f"payload.{exc.field_path}", exc.reason)
            ],
        ) from None
    return {
        "action": "map",
        "event_type": event_type,
        "items": [{"kind": k, **item.model_dump(mode="json")} for k, item in items],
    }


@router.get("/{source_id}/quarantine", response_model=QuarantinePage)
def list_quarantine(
    source_id: SourceId,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    _: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    rows = service.list_quarantine(session, source_id, pagination.decode(cursor), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [_quarantined(r) for r in rows],
        "next_cursor": pagination.encode(rows[-1].id or 0) if more and rows else None,
    }


def _quarantined(row: InboundDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "delivery_id": row.delivery_id,
        "state": row.state,
        "error": row.error,
        "attempts": row.attempts,
        "received_at": row.received_at,
        "processed_at": row.processed_at,
        "content_type": row.content_type,
        "body": bytes(row.body).decode("utf-8", errors="replace"),
    }


@router.post("/{source_id}/quarantine/replay", response_model=ReplayOut, status_code=202)
def replay_all(
    source_id: SourceId, _: Principal = Depends(require("manage")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    count = service.replay_all(session, source_id)
    session.commit()
    return {"replayed": count}


@router.post("/{source_id}/quarantine/{delivery_id}/replay", response_model=ReplayOut, status_code=202)
def replay_one(
    source_id: SourceId,
    delivery_id: RowId,
    _: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    service.replay(session, source_id, delivery_id)
    session.commit()
    return {"replayed": 1}
