"""The published development SEAM_SECRET_KEY in production, and rotating the real one.

Before: the development key was refused outside SQLite by every process (`Settings.refuse_unsafe`), but
a list of keys did not exist, so a leaked key could not be rotated out without losing every stored
credential."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.connections import service as connections
from app.connections.models import Integration
from app.core.crypto import DecryptionError, decrypt, encrypt
from app.core.settings import DEVELOPMENT_SECRET
from app.sources.receiver import Verifier
from tests.support.api import TEST_SECRET, auth, make_key

ROOT = Path(__file__).resolve().parents[2]


def _seam(
    env_updates: dict[str, str | None], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEAM_SECRET_KEY"}
    env.update({k: v for k, v in env_updates.items() if v is not None})
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"], ["scheduler"], ["db", "upgrade"]])
@pytest.mark.parametrize(
    "secret",
    [None, DEVELOPMENT_SECRET, f"{DEVELOPMENT_SECRET},another-key"],
    ids=["unset", "dev", "dev-first"],
)
def test_no_process_starts_on_postgresql_with_the_development_key(
    pg_engine: Engine, command: list[str], secret: str | None
) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    proc = _seam({"SEAM_DATABASE_URL": url, "SEAM_SECRET_KEY": secret}, *command)
    assert proc.returncode == 2, proc.stderr
    assert "SEAM_SECRET_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_image_and_the_readme_set_the_key() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "SEAM_SECRET_KEY=" not in dockerfile.replace("-e SEAM_SECRET_KEY=", "")  # no baked-in value
    readme = (ROOT / "README.md").read_text()
    runs = [line for line in readme.splitlines() if "docker run" in line]
    assert runs and all("SEAM_SECRET_KEY" in line for line in runs)


def test_several_keys_newest_encrypts_every_one_decrypts() -> None:
    old = encrypt("token", "old-key")
    both = "new-key,old-key"
    assert decrypt(old, both) == "token"
    fresh = encrypt("token", both)
    assert decrypt(fresh, "new-key") == "token"
    with pytest.raises(DecryptionError):
        decrypt(fresh, "old-key")


def test_seam_secrets_rotate_reencrypts_every_stored_credential(
    client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    admin = make_key(engine, ["admin"])
    body = {
        "name": "jira",
        "vendor": "jira",
        "base_url": "http://127.0.0.1:9",
        "email": "bot@example.com",
        "api_token": "api-token-xyz",
        "webhook_secret": "webhook-secret-xyz",
    }
    created = client.post("/api/v1/integrations", json=body, headers=auth(admin))
    assert created.status_code == 201, created.text
    source = client.post(
        "/api/v1/sources",
        json={"name": "typeform", "kind": "typeform", "secret": "typeform-secret-xyz"},
        headers=auth(admin),
    )
    assert source.status_code == 201, source.text
    url = engine.url.render_as_string(hide_password=False)
    new = "a-new-long-random-key-for-rotation-tests"
    proc = _seam({"SEAM_DATABASE_URL": url, "SEAM_SECRET_KEY": f"{new},{TEST_SECRET}"}, "secrets", "rotate")
    assert proc.returncode == 0, proc.stderr
    assert "1 integrations, 1 sources" in proc.stderr
    with Session(engine) as session:
        row = session.get(Integration, created.json()["id"])
        assert row is not None
        assert connections.webhook_secret(row, new).get_secret_value() == "webhook-secret-xyz"
        assert decrypt(row.api_token_enc, new) == "api-token-xyz"
        with pytest.raises(DecryptionError):
            decrypt(row.api_token_enc, TEST_SECRET)
        secret_enc = session.connection().exec_driver_sql("SELECT secret_encrypted FROM sources").scalar()
        assert decrypt(str(secret_enc), new) == "typeform-secret-xyz"
    # Without the old key, nothing can be re-encrypted: the command says so and changes nothing.
    stranger = _seam({"SEAM_DATABASE_URL": url, "SEAM_SECRET_KEY": "yet-another-key-x"}, "secrets", "rotate")
    assert stranger.returncode == 2 and "cannot be decrypted" in stranger.stderr


def test_a_held_verifier_never_prints_its_secret() -> None:
    """A source's decrypted secret is held in memory for fast acks; its repr (a log line, a traceback's
    locals) must not show it."""
    held = Verifier("typeform", "whsec-do-not-print", source_id=3, ciphertext="gAAAA")
    assert "whsec-do-not-print" not in repr(held) and "whsec-do-not-print" not in str(held)
    assert held.secret == "whsec-do-not-print"
