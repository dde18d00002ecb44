"""A plain (not editable) install carries its migrations: `seam db upgrade` works away from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect

REPO = Path(__file__).resolve().parents[2]


def test_a_built_wheel_upgrades_an_empty_database(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("seam-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    db = tmp_path / "empty.db"
    env = {**os.environ, "PYTHONPATH": str(site), "SEAM_DATABASE_URL": f"sqlite:///{db}"}
    # Run from an empty directory, so neither the checkout nor its alembic.ini can be found.
    code = (
        "import app, sys; assert app.__file__.startswith(sys.argv[1]), app.__file__; "
        "sys.argv = ['seam', 'db', 'upgrade']; from app.cli import main; main()"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(site)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    tables = set(inspect(create_engine(f"sqlite:///{db}")).get_table_names())
    assert {"feedback_items", "experience_issues", "alembic_version"} <= tables
