"""The served OpenAPI document says that no string holds a NUL character.

PostgreSQL cannot store one, so the API refuses it everywhere: 400 in a URL (`app.core.body_limit`),
422 in a body (`app.core.types_api.ApiModel`). Without this, the document would call such requests
valid. A string with its own pattern or enum says what it accepts already."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

NO_NUL = r"^[^\x00]*$"


def forbid_nul(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "enum", "const"} & node.keys():
            node["pattern"] = NO_NUL
        for value in node.values():
            forbid_nul(value)
    elif isinstance(node, list):
        for value in node:
            forbid_nul(value)


def install(app: FastAPI) -> None:
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            forbid_nul(document.get("paths"))
            forbid_nul(document.get("components"))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
