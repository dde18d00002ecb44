"""Hostile CSV files given to `seam import feedback`: every one is reported, none crashes the import.

Before: latin-1 or UTF-16 files, a JSON-array metadata cell, deep JSON and a field over the CSV module's
131,072-character limit each ended the import with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEADER = "source,external_id,text,metadata,meta.plan\n"
GOOD = "survey,g-1,The box arrived late,,basic\n"


def _seam(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEAM_DATABASE_URL": f"sqlite:///{db}"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "import.db"
    assert _seam(path, "db", "upgrade").returncode == 0
    return path


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr


def test_a_utf16_file_is_read(db: Path, tmp_path: Path) -> None:
    csv = tmp_path / "utf16.csv"
    csv.write_text(HEADER + "survey,u-1,Café was closed,,\n", encoding="utf-16")
    proc = _seam(db, "import", "feedback", str(csv))
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert "created 1" in proc.stdout


def test_a_latin1_file_is_refused_with_a_reason(db: Path, tmp_path: Path) -> None:
    csv = tmp_path / "latin1.csv"
    csv.write_bytes((HEADER + "survey,l-1,Café fermé,,\n").encode("latin-1"))
    proc = _seam(db, "import", "feedback", str(csv))
    _no_traceback(proc)
    assert proc.returncode == 2
    assert "UTF-8" in proc.stderr and "line 2" in proc.stderr


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ('"[1, 2]"', "metadata"),
        ('"' + "[" * 5000 + "]" * 5000 + '"', "metadata"),
        ('"{""a"": ' * 40 + "1" + "}" * 40 + '"', "metadata"),
        ("not json", "metadata"),
    ],
    ids=["array", "deep-array", "deep-object", "not-json"],
)
def test_a_bad_metadata_cell_rejects_its_row_alone(db: Path, tmp_path: Path, cell: str, why: str) -> None:
    csv = tmp_path / "meta.csv"
    csv.write_text(HEADER + f"survey,m-1,Late box,{cell},pro\n" + GOOD, encoding="utf-8")
    proc = _seam(db, "import", "feedback", str(csv))
    _no_traceback(proc)
    assert proc.returncode == 3
    assert "line 2: rejected" in proc.stderr and why in proc.stderr
    assert "created 1" in proc.stdout


def test_a_field_over_the_csv_limit_rejects_its_row_alone(db: Path, tmp_path: Path) -> None:
    csv = tmp_path / "long.csv"
    csv.write_text(HEADER + "survey,x-1," + "a" * 200_000 + ",,\n" + GOOD, encoding="utf-8")
    proc = _seam(db, "import", "feedback", str(csv))
    _no_traceback(proc)
    assert proc.returncode == 3
    assert "line 2: rejected" in proc.stderr
    assert "created 1" in proc.stdout
