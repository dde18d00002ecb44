"""`POST /api/v1/customers/export` and `/erase`: admin keys only. POST, so the reference is in the body
and never in a URL, an access log or a proxy's cache."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.deps import get_session
from app.core.problems import PROBLEM_RESPONSES
from app.core.settings import Settings
from app.privacy import erase, export
from app.privacy.schemas import CustomerExport, CustomerIn, ErasureOut

router = APIRouter(prefix="/api/v1/customers", tags=["privacy"], responses=PROBLEM_RESPONSES)


@router.post("/export", response_model=CustomerExport)
def export_customer(
    body: CustomerIn,
    _: Principal = Depends(require("admin")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Everything Seam holds about this customer reference."""
    return export.export(session, body.customer_ref)


@router.post("/erase", response_model=ErasureOut)
def erase_customer(
    body: CustomerIn,
    request: Request,
    principal: Principal = Depends(require("admin")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Anonymises the customer's items and removes their reference, addresses and texts everywhere else,
    in one transaction. Repeating it is harmless: the second answer says 0 found."""
    settings: Settings = request.app.state.settings
    secret = settings.secret_key.get_secret_value()
    report = erase.erase(session, body.customer_ref, secret, principal.actor)
    session.commit()
    return report.as_dict()
