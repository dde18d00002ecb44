"""Builds the FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy import Engine, text

from app import wiring
from app.auth import deps as auth_deps
from app.auth.ratelimit import MemoryLimiter
from app.auth.router import router as keys_router
from app.core import admission, heap, logs, logsafety, metrics, openapi_strings, problems
from app.core.admission import AdmissionGate
from app.core.body_limit import BodyLimitMiddleware
from app.core.db import make_engine
from app.core.db_metrics import PoolCollector, scrape_engine
from app.core.direct_routes import DirectRoutes
from app.core.http_metrics import RequestMetricsMiddleware
from app.core.migrate import schema_state
from app.core.replica import StickyWrites
from app.core.settings import Settings, get_settings
from app.core.strict_query import refuse_unknown_query
from app.digests.router import router as digests_router
from app.digests.scorecard_router import router as scorecard_router
from app.feedback.router import router as feedback_router
from app.insights.router import router as insights_router
from app.intake.router import router as intake_router
from app.issues.curation_router import router as curation_router
from app.issues.router import router as issues_router
from app.journey.router import router as journey_router
from app.loop.router import router as loop_router
from app.outbox.metrics import OutboxCollector
from app.outbox.router import router as outbox_router
from app.outbox.worker import InProcessWorker
from app.privacy.router import router as privacy_router
from app.routing.embedding import encoder_status
from app.routing.router import router as routing_router
from app.sources.receiver import DIRECT_ROUTES
from app.sources.receiver import router as sources_webhooks_router
from app.sources.router import router as sources_router
from app.sync.router import router as sync_router
from app.sync.webhooks import router as sync_webhooks_router
from app.web import setup as web

log = logging.getLogger("seam")
METRICS_PATH = "/metrics"


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, replica_engine: Engine | None = None
) -> FastAPI:
    """`replica_engine`: reads that tolerate lag go there (default: one made from
    SEAM_DATABASE_REPLICA_URL, when set)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = (
            InProcessWorker(app.state.engine, settings, wiring.HANDLERS, wiring.VENDOR_KEYS)
            if settings.runs_inprocess_worker
            else None
        )
        if worker:
            worker.start()
        # Everything built so far lives as long as the process: out of the collector's full passes.
        heap.freeze_startup_objects()
        try:
            yield
        finally:
            if worker:
                worker.close()
            if getattr(app.state, "scrape_engine", None) is not None:
                app.state.scrape_engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        # A misspelt filter gets 422 naming it, never an unfiltered answer.
        dependencies=[Depends(refuse_unknown_query)],
        # Served by app.web.docs with assets of our own: no CDN.
        docs_url=None,
        redoc_url=None,
        title="Seam",
        version="0.1.0",
        description="Turns customer feedback into confirmed fixes, stage by stage of the customer journey.",
    )
    logsafety.install()
    app.state.settings = settings
    app.state.auth_failures = MemoryLimiter(settings.rate_auth_failures_per_minute)
    app.state.webhook_limiter = MemoryLimiter(settings.rate_webhooks_per_minute)
    app.state.engine = wiring.start_process(settings, engine)
    if replica_engine is None and settings.database_replica_url:
        replica_engine = make_engine(settings.database_replica_url, pool_size=settings.db_pool_size)
    app.state.replica_engine = replica_engine
    problems.install(app)
    auth_deps.install(app)
    # Innermost, so every middleware below applies to the webhook acknowledgements it answers directly.
    app.add_middleware(DirectRoutes, routes=DIRECT_ROUTES, handlers=app.exception_handlers)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        AdmissionGate, limit=admission.limit_for(settings.db_pool_size), wait_s=settings.busy_wait_s
    )
    if replica_engine is not None:
        app.add_middleware(StickyWrites, sticky_s=settings.replica_sticky_s)
    app.add_middleware(problems.UnhandledErrors)
    # Outside the gate and the error handler, so the 503s and 500s they answer are counted.
    app.add_middleware(RequestMetricsMiddleware, skip=(METRICS_PATH,))
    # Added last, so it is the outermost of ours: even an unhandled error's log line has the request id.
    app.add_middleware(logs.RequestIdMiddleware)

    _health(app)
    _metrics(app, settings)
    _routers(app)
    web.install(app)
    openapi_strings.install(app)
    return app


def _health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        responses={503: {"description": "Database unreachable, or its schema not at this release's head"}},
    )
    def readyz() -> Any:
        try:
            with app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                schema = schema_state(conn)
        except Exception:
            log.warning("readiness check: database unreachable")
            return problems.problem_response(503, "The database is unreachable.")
        migrations = {"database": list(schema.database), "code": list(schema.code)}
        # A replica of a new release must not take traffic before `seam db upgrade` ran (nor an old one
        # after it): its queries would meet columns it does not know.
        if not schema.at_head:
            log.warning("readiness check: schema not at head (%s)", migrations)
            return problems.problem_response(503, schema.describe(), migrations=migrations)
        encoder = encoder_status()
        # Ready either way; an install without its encoder groups by TF-IDF only, and says so here.
        return {
            "status": "ready",
            "migrations": migrations,
            "grouping": {"index": "vectors" if encoder["loaded"] else "tfidf", "encoder": encoder},
        }


def _metrics(app: FastAPI, settings: Settings) -> None:
    """GET /metrics for Prometheus, behind SEAM_METRICS_TOKEN; without a token there is no such route
    (404), so the figures are never served by accident."""
    if settings.metrics_token is None:
        return
    token = settings.metrics_token.get_secret_value()
    app.state.scrape_engine = scrape_engine(app.state.engine)
    exposition = metrics.Exposition(
        [
            PoolCollector(app.state.engine),
            OutboxCollector(app.state.scrape_engine, wiring.HANDLERS, wiring.EMAIL_PURPOSES),
        ]
    )

    @app.get(METRICS_PATH, include_in_schema=False)
    def scrape(request: Request) -> Response:
        if not metrics.token_matches(request.headers.get("authorization"), token):
            return problems.problem_response(
                401,
                "GET /metrics needs `Authorization: Bearer` with SEAM_METRICS_TOKEN.",
                request=request,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(exposition.render(), media_type=metrics.CONTENT_TYPE)


def _routers(app: FastAPI) -> None:
    for router in (
        keys_router,
        journey_router,
        curation_router,
        intake_router,
        feedback_router,
        issues_router,
        outbox_router,
        routing_router,
        loop_router,
        insights_router,
        digests_router,
        scorecard_router,
        sources_router,
        sources_webhooks_router,
        sync_router,
        sync_webhooks_router,
        privacy_router,
    ):
        app.include_router(router)
