"""Curation as API: everything the pages do to issues is an operation here too, with the same
problem+json errors (rename, hand to another owner, comment, merge preview and undo, split)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict, Field
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.deps import get_session
from app.core.errors import InvalidInput, field_error
from app.core.pagination import MAX_ID, BodyRowId, RowId
from app.core.problems import PROBLEM_RESPONSES
from app.core.types_api import ApiModel
from app.issues import curation, reshape
from app.issues import queries as issue_queries
from app.issues.schemas import EventOut, IssueDetail
from app.journey import service as journeys

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)


class IssuePatch(ApiModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=300)
    owner: str | None = Field(default=None, min_length=1, max_length=100, description="A person's id.")


class CommentIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=curation.MAX_COMMENT)


class SplitIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BodyRowId] = Field(
        min_length=1, max_length=reshape.MAX_SPLIT, description="Items of this issue."
    )
    title: str | None = Field(default=None, max_length=300, description="The new issue's title.")


class MergePreviewOut(ApiModel):
    source: int
    into: int
    items_moving: int
    items_after: int
    customers_after: int
    teams_added: list[str]


@router.patch("/issues/{issue_id}", response_model=IssueDetail, tags=["issues"])
def patch_issue(
    issue_id: RowId,
    body: IssuePatch,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Rename the issue (`manage`) or hand it to another owner (`admin`, the CX lead's power)."""
    if body.title is None and body.owner is None:
        raise InvalidInput("Nothing to change.", errors=[field_error("body", "give title or owner")])
    actor = principal.as_actor()
    if body.owner is not None:
        if not principal.allows("admin"):
            raise InvalidInput(
                "Handing an issue to another owner needs the 'admin' scope.",
                errors=[field_error("owner", "needs the admin scope")],
            )
        curation.reassign(session, journeys.current(session), issue_id, body.owner, actor)
    if body.title is not None:
        curation.rename(session, issue_id, body.title, actor)
    session.commit()
    return issue_queries.detail(session, issue_id)


@router.post("/issues/{issue_id}/comments", response_model=EventOut, status_code=201, tags=["issues"])
def comment_issue(
    issue_id: RowId,
    body: CommentIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """A comment on the issue's timeline (an event of kind `comment`)."""
    event = curation.comment(session, issue_id, body.text, principal.as_actor())
    session.commit()
    return event.model_dump()


@router.get("/issues/{issue_id}/merge-preview", response_model=MergePreviewOut, tags=["issues"])
def merge_preview(
    issue_id: RowId,
    into: Annotated[int, Query(ge=1, le=MAX_ID)],
    _: Principal = Depends(require("read")),
    session: Session = Depends(get_session),
) -> Any:
    """What `POST /issues/{id}/merge` with this `into` would move; changes nothing."""
    p = reshape.merge_preview(session, issue_id, into)
    return {**p, "source": issue_id, "into": into}


@router.post("/issues/{issue_id}/unmerge", response_model=IssueDetail, tags=["issues"])
def unmerge_issue(
    issue_id: RowId,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Undo this issue's merge: its items come back from the issue that absorbed them, and it takes up
    its status again. 409 when it is not merged."""
    reshape.unmerge(session, issue_id, principal.as_actor())
    session.commit()
    return issue_queries.detail(session, issue_id)


@router.post("/issues/{issue_id}/split", response_model=IssueDetail, status_code=201, tags=["issues"])
def split_issue(
    issue_id: RowId,
    body: SplitIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """The chosen items become a new issue (same stage, moment, owner and teams); returns it."""
    new = reshape.split(session, issue_id, body.items, body.title, principal.as_actor())
    session.commit()
    return issue_queries.detail(session, new.id or 0)
