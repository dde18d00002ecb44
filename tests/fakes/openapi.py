"""Load the vendors' saved OpenAPI documents once per process and validate traffic against them.

Fixes applied to the documents (see shared/specs/README.md and contracts.md §B, §E):
- Zendesk YAML: a bare `=` is read by YAML 1.1 as `tag:yaml.org,2002:value`; construct it as a string.
- Zendesk `custom_fields.items` points at a field *definition* (`CustomFieldObject`, with readOnly/required
  keys), so a valid `[{"id": 1, "value": "x"}]` fails; replace it with `{id: integer, value: any}`.
- Both `servers` are rewritten to fixed fake hosts: openapi-core matches the request URL against them,
  and the stand-ins' real ports change per run, so we validate as if the request went to that host.
- Neither document passes strict spec validation, so `Config(spec_validator_cls=None)`.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SPECS_DIR = Path(os.environ.get("SEAM_SPECS_DIR", Path(__file__).resolve().parents[3] / "shared" / "specs"))
JIRA_SPEC_HOST = "https://jira.fake.test"
ZENDESK_SPEC_HOST = "https://zendesk.fake.test"


# The C loader parses the 1 MB document about ten times faster than the pure-Python one.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ZendeskLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    pass


_ZendeskLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))

_CUSTOM_FIELD_VALUE = {"type": "object", "properties": {"id": {"type": "integer"}, "value": {}}}


def _load(document: dict[str, Any], host: str) -> OpenAPI:
    document["servers"] = [{"url": host}]
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


@functools.cache
def jira_spec() -> OpenAPI:
    with open(SPECS_DIR / "jira-platform-swagger-v3.v3.json", "rb") as fh:
        return _load(json.load(fh), JIRA_SPEC_HOST)


@functools.cache
def zendesk_spec() -> OpenAPI:
    with open(SPECS_DIR / "zendesk-support-oas.yaml", "rb") as fh:
        document = yaml.load(fh, Loader=_ZendeskLoader)  # a (C)SafeLoader subclass
    schemas = document["components"]["schemas"]
    for name in ("TicketCreateInput", "TicketUpdateInput"):
        field = schemas[name]["properties"].get("custom_fields")
        if field is not None:
            field["items"] = dict(_CUSTOM_FIELD_VALUE)
    return _load(document, ZENDESK_SPEC_HOST)


def _describe(exc: Exception) -> list[str]:
    lines = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    for detail in getattr(cause, "schema_errors", None) or []:
        lines.append(f"  {getattr(detail, 'message', detail)}")
    return lines


def _mock_request(
    host: str, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
) -> MockRequest:
    content_type = headers.get("content-type", "application/json").split(";")[0].strip()
    return MockRequest(
        host,
        method.lower(),
        path,
        args=dict(query),
        headers=dict(headers),
        data=body or None,
        content_type=content_type,
    )


def request_errors(
    spec: OpenAPI,
    host: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[list[str], bool]:
    """Validation errors for one request (empty when valid) and whether it was a security failure."""
    from openapi_core.validation.request.exceptions import SecurityValidationError

    try:
        spec.validate_request(_mock_request(host, method, path, query, headers, body))
    except SecurityValidationError as exc:
        return _describe(exc), True
    except Exception as exc:  # openapi-core raises a family of errors; all are violations here
        return _describe(exc), False
    return [], False


def response_errors(
    spec: OpenAPI,
    host: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    status: int,
    response_body: bytes,
    content_type: str = "application/json",
) -> list[str]:
    request = _mock_request(host, method, path, query, headers, body)
    response = MockResponse(response_body, status_code=status, content_type=content_type)
    try:
        spec.validate_response(request, response)
    except Exception as exc:
        return _describe(exc)
    return []
