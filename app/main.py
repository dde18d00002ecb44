"""Builds the FastAPI application."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, text

from app.core import problems
from app.core.body_limit import BodyLimitMiddleware
from app.core.db import make_engine
from app.core.settings import Settings, get_settings
from app.feedback.router import router as feedback_router
from app.issues.router import router as issues_router
from app.journey.router import router as journey_router

log = logging.getLogger("seam")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Seam",
        version="0.1.0",
        description="Turns customer feedback into confirmed fixes, stage by stage of the customer journey.",
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    problems.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "Database unreachable"}})
    def readyz() -> Any:
        try:
            with app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            log.warning("readiness check: database unreachable")
            return problems.problem_response(503, "The database is unreachable.")
        return {"status": "ready"}

    app.include_router(journey_router)
    app.include_router(feedback_router)
    app.include_router(issues_router)
    return app
