"""A plain (not editable) install carries what it reads: `seam db upgrade` and `seam demo` work away from
the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seam built as a wheel and installed on its own into a directory away from the checkout."""
    tmp = tmp_path_factory.mktemp("installed")
    wheels = tmp / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("seam-*.whl")
    target = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def _seam(site: Path, cwd: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "SEAM_DATABASE_URL": f"sqlite:///{db}"}
    env["SEAM_EMBEDDING"] = "off"  # the demo's grouping on TF-IDF: the encoder is not what is tested
    # Run from an empty directory, so neither the checkout nor its alembic.ini or examples can be found.
    code = (
        "import app, sys; assert app.__file__.startswith(sys.argv[1]), app.__file__; "
        "sys.argv = ['seam', *sys.argv[2:]]; from app.cli import main; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(site), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_a_built_wheel_upgrades_an_empty_database(site: Path, tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    run = _seam(site, tmp_path, db, "db", "upgrade")
    assert run.returncode == 0, run.stderr[-2000:]
    tables = set(inspect(create_engine(f"sqlite:///{db}")).get_table_names())
    assert {"feedback_items", "experience_issues", "alembic_version"} <= tables


def test_a_built_wheel_loads_the_demo(site: Path, tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    run = _seam(site, tmp_path, db, "demo", "--no-serve")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Demo API key (admin)" in run.stdout
    with create_engine(f"sqlite:///{db}").connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journey_versions")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM feedback_items")).scalar_one() >= 300
