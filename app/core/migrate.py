"""Runs Alembic from code, so `seam db upgrade` and the tests use the very same migrations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

# The migrations ship inside the package, so an installed (not editable) Seam can upgrade a database.
SCRIPTS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def check(engine: Engine) -> None:
    """Raises if the models and the migrations disagree (alembic's own drift check)."""
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)


@lru_cache(maxsize=1)
def heads() -> tuple[str, ...]:
    """The revisions this code's migrations end at; read once per process (it parses every script)."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


@dataclass(frozen=True)
class SchemaState:
    database: tuple[str, ...]
    code: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return self.database == self.code

    def describe(self) -> str:
        found = ", ".join(self.database) or "no revision (never migrated)"
        return (
            f"The database's schema is at {found}; this release's migrations end at {', '.join(self.code)}. "
            "Run `seam db upgrade` with this release (or deploy the release that made the database)."
        )


def schema_state(conn: Connection) -> SchemaState:
    database = MigrationContext.configure(conn).get_current_heads()
    return SchemaState(tuple(sorted(database)), heads())
