"""Merge (with a preview, and undo) and split, as pages. The preview is a GET that changes nothing; the
merge, the undo and the split are POST forms, checked like every other action (app.web.issue_pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.core.actor import Actor
from app.core.deps import get_session
from app.core.errors import DomainError
from app.core.pagination import BodyRowId, RowId
from app.issues import reshape
from app.issues import service as issues
from app.people.roles import ACT, Viewer
from app.web.context import signed_in, verify_csrf
from app.web.errors import Forbidden
from app.web.issue_pages import act, render_issue
from app.web.render import page

router = APIRouter(include_in_schema=False)
Guarded = [Depends(verify_csrf)]
IssueNo = Annotated[int, Query(ge=1, le=2**31 - 1)]


def _may_merge(who: Viewer, session: Session, source_id: int, into_id: int) -> None:
    # Both stages' owners answer for a merge: the items leave one and join the other.
    for issue_id in (source_id, into_id):
        issue = issues.get(session, issue_id)
        if not who.may(ACT, issue.stage, owner=issue.owner):
            raise Forbidden(
                f"{who.name}, a merge needs the owner or sponsor of both issues' stages (or the CX lead).",
                action="merge",
                target=f"EI-{source_id}>EI-{into_id}",
            )


@router.get("/issues/{issue_id}/merge", response_class=HTMLResponse)
def merge_preview(
    request: Request,
    issue_id: RowId,
    into: IssueNo,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    try:
        preview = reshape.merge_preview(session, issue_id, into)
    except DomainError as exc:
        return render_issue(request, session, who, issue_id, error=exc.detail, status=exc.status)
    return page(request, "merge_preview.html", {"p": preview}, who=who)


@router.post("/issues/{issue_id}/merge", dependencies=Guarded)
def merge(
    request: Request,
    issue_id: RowId,
    into: Annotated[int, Form(ge=1, le=2**31 - 1)],
    reason: Annotated[str | None, Form(max_length=4000)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    _may_merge(who, session, issue_id, into)

    def run(journey: object, actor: Actor, now: object) -> str:
        issues.merge(session, issue_id, into, (reason or "").strip() or None, actor)
        return f"/issues/{into}?done=merged&undo={issue_id}"

    return act(request, session, who, issue_id, ACT, "merge", run)


@router.post("/issues/{issue_id}/unmerge", dependencies=Guarded)
def unmerge(
    request: Request,
    issue_id: RowId,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request,
        session,
        who,
        issue_id,
        ACT,
        "unmerge",
        lambda j, a, now: reshape.unmerge(session, issue_id, a),
    )


@router.post("/issues/{issue_id}/split", dependencies=Guarded)
def split(
    request: Request,
    issue_id: RowId,
    items: Annotated[list[BodyRowId], Form(max_length=reshape.MAX_SPLIT)],
    title: Annotated[str | None, Form(max_length=300)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    def run(journey: object, actor: Actor, now: object) -> str:
        new = reshape.split(session, issue_id, items, title, actor)
        return f"/issues/{new.id}?done=split"

    return act(request, session, who, issue_id, ACT, "split", run)
