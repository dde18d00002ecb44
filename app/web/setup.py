"""Mounts the pages on the application: routers, static assets, page error handlers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.web import (
    admin_pages,
    auth_pages,
    board,
    docs,
    feedback_pages,
    handlers,
    insights_pages,
    issue_pages,
    links,
    proposal_pages,
    reshape_pages,
    scorecard_page,
    triage_pages,
)

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    handlers.install(app)
    # The docs' assets first: /static/docs is theirs, the rest of /static is the pages'.
    app.mount("/static/docs", StaticFiles(directory=str(docs.ASSETS)), name="docs-static")
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    people = (admin_pages, auth_pages, board, feedback_pages, insights_pages, issue_pages, triage_pages)
    for module in (*people, scorecard_page, proposal_pages, reshape_pages, links, docs):
        app.include_router(module.router)
