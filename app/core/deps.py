"""Request-scoped dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlmodel import Session

from app.core.db import reader

# Methods that never change state: their transactions only read (on SQLite: no write lock).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
