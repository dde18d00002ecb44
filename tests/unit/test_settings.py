"""The published development secret is refused outside SQLite, naming the variable to set."""

from __future__ import annotations

import pytest

from app.core.settings import DEVELOPMENT_SECRET, Settings, UnsafeSettings


def test_development_secret_is_refused_on_postgres() -> None:
    settings = Settings(database_url="postgresql://db/seam", secret_key=DEVELOPMENT_SECRET)
    with pytest.raises(UnsafeSettings, match="SEAM_SECRET_KEY"):
        settings.refuse_unsafe()


def test_development_secret_serves_the_sqlite_demo_and_a_real_secret_serves_postgres() -> None:
    Settings(database_url="sqlite:///demo.db", secret_key=DEVELOPMENT_SECRET).refuse_unsafe()
    Settings(database_url="postgresql://db/seam", secret_key="a-long-random-secret").refuse_unsafe()
