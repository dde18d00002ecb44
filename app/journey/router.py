"""Journey endpoints: read the version in force, put a new one."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.deps import get_session
from app.core.errors import InvalidInput, NotFound, field_error
from app.core.problems import PROBLEM_RESPONSES
from app.journey import service as journeys
from app.journey.models import JourneyVersion
from app.journey.schemas import JourneyOut

router = APIRouter(prefix="/api/v1/journey", tags=["journey"], responses=PROBLEM_RESPONSES)


async def raw_body(request: Request) -> bytes:
    """Read in the event loop so the handler itself can stay synchronous, like the database session."""
    return await request.body()


def _out(row: JourneyVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "name": row.name,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "journey": row.document,
    }


@router.get("", response_model=JourneyOut)
def get_journey(_: Principal = Depends(require("read")), session: Session = Depends(get_session)) -> Any:
    row = journeys.current_row(session)
    if row is None:
        raise NotFound("No journey has been applied yet.")
    return _out(row)


@router.put(
    "",
    response_model=JourneyOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
def put_journey(
    request: Request,
    body: bytes = Depends(raw_body),
    principal: Principal = Depends(require("admin")),
    session: Session = Depends(get_session),
) -> Any:
    """Validates a journey (JSON, or YAML as application/yaml) and stores it as a new version."""
    raw = body.decode("utf-8", errors="replace")
    ctype = request.headers.get("content-type", "")
    if "yaml" in ctype:
        data = journeys.parse_text(raw)
    else:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput("The body is not valid JSON.", errors=[field_error("body", exc.msg)]) from exc
        if not isinstance(data, dict):
            raise InvalidInput(
                "The journey must be an object.", errors=[field_error("body", "expected an object")]
            )
    row = journeys.apply(session, data, actor=principal.actor, source_text=raw if "yaml" in ctype else None)
    session.commit()
    return _out(row)
