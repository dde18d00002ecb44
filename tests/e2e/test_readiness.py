"""`/readyz` says ready only when the database answers and its schema is at the code's migrations head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.core.migrate import heads


@contextmanager
def _version(engine: Engine, revision: str) -> Iterator[None]:
    """The database claims `revision` for the test's length, then is put back at head."""
    (head,) = heads()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": head})


def test_ready_at_head(client: TestClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["migrations"] == {"database": list(heads()), "code": list(heads())}


def test_a_database_behind_the_code_is_not_ready(client: TestClient, engine: Engine) -> None:
    with _version(engine, "0013"):
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert "0013" in body["detail"] and heads()[0] in body["detail"] and "seam db upgrade" in body["detail"]
    assert body["migrations"] == {"database": ["0013"], "code": list(heads())}


def test_a_database_ahead_of_the_code_is_not_ready(client: TestClient, engine: Engine) -> None:
    with _version(engine, "9999"):
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert "9999" in answer.json()["detail"]


def test_an_unmigrated_database_is_not_ready(client: TestClient, engine: Engine) -> None:
    (head,) = heads()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    try:
        answer = client.get("/readyz")
    finally:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": head})
    assert answer.status_code == 503
    assert answer.json()["migrations"]["database"] == []
