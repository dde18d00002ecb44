"""Property-based run of schemathesis over the served OpenAPI document, every operation, with a valid key."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from app.main import create_app
from tests.support.api import auth, example_journey, make_key, settings_for

EXAMPLES = 25
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def api_schema(engine: Engine) -> Any:
    app = create_app(settings_for(engine), engine)
    key = make_key(engine, ["admin"], "schemathesis")
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        # Some data to find: a journey, placed and triaged items, an issue.
        client.put("/api/v1/journey", json=example_journey(), headers=auth(key))
        items = [
            {"source": "s", "external_id": str(n), "text": "late box", "touchpoint": "first-box-nps"}
            for n in range(3)
        ]
        items.append({"source": "s", "external_id": "t", "text": "no touchpoint"})
        client.post("/api/v1/feedback/batch", json={"items": items}, headers=auth(key))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.headers = auth(key)  # type: ignore[attr-defined]
    app.state.schemathesis_key = key
    return schema


OPERATIONS_EXPECTED = 13


def _summary(exc: Exception) -> str:
    """The failure's headline and reproduction, without the server's traceback."""
    lines = [line for line in str(exc).splitlines() if "File " not in line and not line.startswith("    ")]
    return "\n".join(lines[:25])


def test_api_conforms(api_schema: Any) -> None:
    # Operations are looped here rather than through schemathesis' pytest plugin, whose fixture
    # loader does not work with the pytest in use; each operation still gets its own Hypothesis run.
    key = api_schema.app.state.schemathesis_key
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= OPERATIONS_EXPECTED
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.call_and_validate(headers={**(case.headers or {}), **auth(key)}, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # An operation with no inputs has nothing to make invalid.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (
                Exception,
                BaseExceptionGroup,
            ) as exc:  # collect all operations' failures, then report them together
                failures[f"{operation.label} [{mode.value}]"] = _summary(exc)
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
