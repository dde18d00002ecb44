"""Integration and contribution endpoints. Thin: parse, authenticate, call the service, commit once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.connections import service as connections
from app.connections.models import Integration
from app.connections.schemas import IntegrationIn, IntegrationOut, IntegrationPage, IntegrationPatch
from app.core import links
from app.core.deps import get_session
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.issues import service as issues
from app.journey import service as journeys
from app.sync import service
from app.sync.models import Contribution
from app.sync.schemas import ContributionIn, ContributionOut, ContributionPage

router = APIRouter(prefix="/api/v1", tags=["sync"], responses=PROBLEM_RESPONSES)


def integration_out(request: Request, row: Integration) -> dict[str, Any]:
    base = request.app.state.settings.public_url.rstrip("/")
    return {
        "id": row.id,
        "name": row.name,
        "vendor": row.vendor,
        "base_url": row.base_url,
        "options": row.options,
        "targets": row.targets,
        "enabled": row.enabled,
        "has_webhook_secret": row.webhook_secret_enc is not None,
        "webhook_url": f"{base}/webhooks/{row.vendor}/{row.id}",
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def contribution_out(row: Contribution, vendor: str) -> dict[str, Any]:
    return {**row.model_dump(exclude={"requested_by"}), "vendor": vendor}


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.allow_private_network)


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())


@router.post(
    "/integrations",
    response_model=IntegrationOut,
    status_code=201,
    responses=links.answered(
        201,
        "Created.",
        GetIntegration=links.to(
            "/api/v1/integrations/{integration_id}",
            "GET",
            "The integration just made.",
            integration_id="$response.body#/id",
        ),
        PatchIntegration=links.to(
            "/api/v1/integrations/{integration_id}",
            "PATCH",
            "Change it.",
            integration_id="$response.body#/id",
        ),
        DeleteIntegration=links.to(
            "/api/v1/integrations/{integration_id}",
            "DELETE",
            "Delete it.",
            integration_id="$response.body#/id",
        ),
    ),
)
def create_integration(
    body: IntegrationIn,
    request: Request,
    _: Principal = Depends(require("admin")),
    session: Session = Depends(get_session),
) -> Any:
    """Credentials (email, API token, webhook secret) are stored encrypted and never returned."""
    row = connections.create_integration(
        session,
        body,
        journeys.current_or_none(session),
        allow_private=_allow_private(request),
        secret=_secret(request),
    )
    session.commit()
    return integration_out(request, row)


@router.get("/integrations", response_model=IntegrationPage)
def list_integrations(
    request: Request, _: Principal = Depends(require("manage")), session: Session = Depends(get_session)
) -> Any:
    return {"items": [integration_out(request, r) for r in connections.list_integrations(session)]}


@router.get("/integrations/{integration_id}", response_model=IntegrationOut)
def get_integration(
    integration_id: RowId,
    request: Request,
    _: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    return integration_out(request, connections.get_integration(session, integration_id))


@router.patch("/integrations/{integration_id}", response_model=IntegrationOut)
def update_integration(
    integration_id: RowId,
    body: IntegrationPatch,
    request: Request,
    _: Principal = Depends(require("admin")),
    session: Session = Depends(get_session),
) -> Any:
    row = connections.update_integration(
        session,
        integration_id,
        body,
        journeys.current_or_none(session),
        allow_private=_allow_private(request),
        secret=_secret(request),
    )
    session.commit()
    return integration_out(request, row)


@router.delete("/integrations/{integration_id}", status_code=204)
def delete_integration(
    integration_id: RowId, _: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> Response:
    service.delete_integration(session, integration_id)
    session.commit()
    return Response(status_code=204)


@router.post(
    "/issues/{issue_id}/contributions",
    response_model=ContributionOut,
    status_code=201,
    responses={200: {"model": ContributionOut, "description": "The team already contributes"}},
)
def request_contribution(
    issue_id: RowId,
    body: ContributionIn,
    response: Response,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Asks a team for its part of the fix; its ticket is created in the background (outbox)."""
    row, created = service.request_contribution(
        session,
        journeys.current(session),
        issue_id,
        body.team,
        integration_id=body.integration_id,
        required=body.required,
        actor=principal.as_actor(),
    )
    session.commit()
    if not created:
        response.status_code = 200
    return contribution_out(row, service.vendors_of(session, [row])[row.integration_id])


@router.get("/issues/{issue_id}/contributions", response_model=ContributionPage)
def list_contributions(
    issue_id: RowId, _: Principal = Depends(require("read")), session: Session = Depends(get_session)
) -> Any:
    issues.get(session, issue_id)
    rows = service.contributions_of(session, issue_id)
    vendors = service.vendors_of(session, rows)
    return {"items": [contribution_out(r, vendors[r.integration_id]) for r in rows]}
