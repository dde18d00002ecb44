"""A customer's export holds what Seam holds about them, and nothing of anyone else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import TEST_SECRET, auth
from tests.support.customers import EMAIL, OTHER_EMAIL, OTHER_REF, PHRASE, REF, Seeded

World = tuple[TestClient, str, Seeded]


def _export(client: TestClient, key: str, ref: str) -> dict[str, Any]:
    resp = client.post("/api/v1/customers/export", json={"customer_ref": ref}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


def _cli(engine: Engine, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SEAM_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SEAM_SECRET_KEY": TEST_SECRET,
        "SEAM_EMBEDDING": "off",
    }
    return subprocess.run(
        [sys.executable, "-m", "app", "customers", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_export_holds_their_items_issues_notices_answers_and_messages(world: World) -> None:
    client, key, seeded = world
    out = _export(client, key, REF)
    texts = [i["text"] for i in out["items"]]
    assert len(texts) == 3 and sum(PHRASE in t for t in texts) == 2
    assert any(t.startswith("The fix did not work for me") for t in texts)  # her answer, as feedback
    survey = next(i for i in out["items"] if i["external_id"] == "resp-1")
    assert survey["score"] == 1 and survey["metadata"]["customer_email"] == EMAIL
    assert survey["issue_id"] == seeded.first_issue and survey["placement"]
    assert {i["id"] for i in out["issues"]} == {seeded.first_issue, seeded.second_issue}
    assert {i["state"] for i in out["issues"]} == {"confirmed"}
    assert sorted(n["issue_id"] for n in out["notices"]) == [seeded.first_issue, seeded.second_issue]
    assert [(a["issue_id"], a["answer"]) for a in out["answers"]] == [(seeded.first_issue, "no")]
    (delivery,) = out["inbox_deliveries"]
    assert delivery["body"]["data"]["customer_ref"] == REF
    emails = [m for m in out["outbox_messages"] if m["kind"] == "email"]
    assert {m["state"] for m in emails} == {"done", "pending"}  # the first notice sent, the second queued
    assert all(m["payload"]["to_email"] == EMAIL for m in emails)
    assert "idempotency_records" in out["elsewhere"]
    # Nothing of the other customer on the same issue.
    dumped = json.dumps(out)
    assert OTHER_REF not in dumped and OTHER_EMAIL not in dumped


def test_an_unknown_or_erased_customer_exports_empty(world: World) -> None:
    client, key, _ = world
    empty = _export(client, key, "cus_nobody")
    assert [empty[k] for k in ("items", "issues", "notices", "answers", "inbox_deliveries")] == [[]] * 5
    assert (
        client.post("/api/v1/customers/erase", json={"customer_ref": REF}, headers=auth(key)).status_code
        == 200
    )
    after = _export(client, key, REF)
    assert after["items"] == [] and after["outbox_messages"] == [] and after["elsewhere"] == {}


def test_the_cli_exports_and_erases(world: World, engine: Engine) -> None:
    client, key, _ = world
    printed = _cli(engine, "export", REF)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)["items"] == _export(client, key, REF)["items"]

    refused = _cli(engine, "erase", REF, stdin="n\n")
    assert refused.returncode == 1
    assert len(_export(client, key, REF)["items"]) == 3  # nothing erased without the confirmation

    erased = _cli(engine, "erase", REF, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["items"] == 3
    assert REF not in erased.stderr  # the summary line does not repeat the reference
    again = _cli(engine, "erase", REF, "--yes")
    assert json.loads(again.stdout)["found"] == 0
    assert _cli(engine, "export", "  ").returncode == 2
