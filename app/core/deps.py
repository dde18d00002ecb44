"""Request-scoped dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.db import reader
from app.core.replica import READ_METHODS, wrote_recently


def get_session(request: Request) -> Iterator[Session]:
    """One session per request. It takes a connection only when first used, inside the endpoint's own
    thread, and gives it back when the request ends."""
    engine = request.app.state.engine
    bind = reader(engine) if request.method in READ_METHODS else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


def read_engine(request: Request) -> Engine:
    """The engine `read_session` would read from: for reads that open sessions of their own (a CSV
    export streams page by page, each page in a short session)."""
    replica = getattr(request.app.state, "replica_engine", None)
    sticky_s = request.app.state.settings.replica_sticky_s
    if replica is None or request.method not in READ_METHODS or wrote_recently(request.cookies, sticky_s):
        return request.app.state.engine
    return replica


def read_session(request: Request) -> Iterator[Session]:
    """For reads that tolerate a replica's lag (lists, the board, insights): the replica when one is
    configured, unless this client wrote within `SEAM_REPLICA_STICKY_S` (`app.core.replica`); otherwise
    exactly `get_session`."""
    engine = read_engine(request)
    if engine is request.app.state.engine:
        yield from get_session(request)
        return
    session = Session(reader(engine), expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
