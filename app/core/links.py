"""OpenAPI links: how one operation's answer feeds the next (the id a create returns names the thing to
read or change; a page's `next_cursor` is the next page's `cursor`). Clients can follow them, and
schemathesis' stateful phase runs these sequences."""

from __future__ import annotations

from typing import Any


def to(path: str, method: str, description: str, **parameters: str) -> dict[str, Any]:
    """A link to the operation `method path`, its parameters taken from the answer (runtime
    expressions such as `$response.body#/id`)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {
        "operationRef": f"#/paths/{pointer}/{method.lower()}",
        "parameters": parameters,
        "description": description,
    }


def answered(status: int, description: str, **links: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry for `status` carrying `links`, to merge into a route's `responses`."""
    return {status: {"description": description, "links": links}}
