"""The README's settings table and the settings class name the same variables, both ways."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
# Read straight from the environment where they are used, not through `Settings`: the encoder's switches
# (app/routing/embedding.py, read before any settings exist) and the tests' PostgreSQL server.
OUTSIDE_SETTINGS = {
    "SEAM_EMBEDDING": REPO / "app/routing/embedding.py",
    "SEAM_EMBEDDING_MODEL": REPO / "app/routing/embedding.py",
    "SEAM_EMBEDDING_TOKENIZER": REPO / "app/routing/embedding.py",
    "SEAM_TEST_POSTGRES_URL": REPO / "tests/support/databases.py",
}


def _table_variables() -> set[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `SEAM_")]
    names: set[str] = set()
    for row in rows:
        first_cell = row.split("|")[1]
        names |= set(re.findall(r"`(SEAM_[A-Z0-9_]+)`", first_cell))
    return names


def _settings_variables() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def test_every_setting_has_a_row_in_the_readme() -> None:
    missing = _settings_variables() - _table_variables()
    assert not missing, f"settings without a row in the README's table: {sorted(missing)}"


def test_every_row_in_the_readme_is_a_setting() -> None:
    unknown = _table_variables() - _settings_variables() - set(OUTSIDE_SETTINGS)
    assert not unknown, f"README rows that no setting reads: {sorted(unknown)}"


def test_the_variables_read_outside_settings_are_really_read_and_documented() -> None:
    for name, where in OUTSIDE_SETTINGS.items():
        assert f'"{name}"' in where.read_text(encoding="utf-8"), (name, where)
    assert set(OUTSIDE_SETTINGS) <= _table_variables()
