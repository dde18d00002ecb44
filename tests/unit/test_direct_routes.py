"""Direct routes answer their requests past the router, and everything else as before."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from app.core.direct_routes import DirectRoute, DirectRoutes
from app.core.http_metrics import route_of
from app.core.problems import UnhandledErrors


class Handled(Exception):
    pass


class Unhandled(Exception):
    pass


def _app(direct_routes: bool = True) -> tuple[FastAPI, list[str]]:
    app = FastAPI()
    seen: list[str] = []

    @app.post("/things/{thing_id:int}")
    async def routed(thing_id: int) -> dict[str, str]:
        return {"by": "router"}

    async def direct(request: Request, params: Mapping[str, str]) -> Response:
        seen.append(route_of(request.scope))
        if params["thing_id"] == "7":
            raise Handled()
        if params["thing_id"] == "8":
            raise Unhandled()
        body = await request.body()
        return JSONResponse({"by": "direct", "id": int(params["thing_id"]), "body": body.decode()})

    @app.exception_handler(Handled)
    async def _handled(request: Request, exc: Handled) -> JSONResponse:
        return JSONResponse({"by": "handler"}, status_code=409)

    route = DirectRoute(
        "POST",
        re.compile(r"/things/(?P<thing_id>[0-9]+)"),
        direct,
        "/things/{thing_id}",
        lambda params: int(params["thing_id"]) < 100,
    )
    if direct_routes:
        app.add_middleware(DirectRoutes, routes=[route], handlers=app.exception_handlers)
    app.add_middleware(UnhandledErrors)
    return app, seen


@pytest.fixture
def client_and_seen() -> tuple[TestClient, list[str]]:
    app, seen = _app()
    return TestClient(app, raise_server_exceptions=False), seen


def test_a_matching_request_is_answered_directly_with_its_body_and_route_template(
    client_and_seen: tuple[TestClient, list[str]],
) -> None:
    client, seen = client_and_seen
    resp = client.post("/things/5", content=b"hello")
    assert resp.json() == {"by": "direct", "id": 5, "body": "hello"}
    assert seen == ["/things/{thing_id}"]  # what the metrics label it, as the routed endpoint would be


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/things/500"),  # the handler does not take this id
        ("POST", "/things/5/"),  # not the whole path
        ("PUT", "/things/5"),  # another method
    ],
)
def test_what_the_direct_route_does_not_take_goes_to_the_router(
    client_and_seen: tuple[TestClient, list[str]], method: str, path: str
) -> None:
    client, seen = client_and_seen
    resp = client.request(method, path, follow_redirects=False)
    routed = TestClient(_app(direct_routes=False)[0]).request(method, path, follow_redirects=False)
    assert seen == []
    assert (resp.status_code, resp.content) == (routed.status_code, routed.content)
    assert resp.status_code != 500


def test_an_exception_gets_the_applications_own_handler(
    client_and_seen: tuple[TestClient, list[str]],
) -> None:
    client, _ = client_and_seen
    resp = client.post("/things/7")
    assert (resp.status_code, resp.json()) == (409, {"by": "handler"})


def test_an_exception_without_a_handler_reaches_the_unhandled_error_answer(
    client_and_seen: tuple[TestClient, list[str]],
) -> None:
    client, _ = client_and_seen
    resp = client.post("/things/8")
    assert resp.status_code == 500
    assert resp.headers["content-type"].startswith("application/problem+json")
