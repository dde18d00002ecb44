"""`seam metrics import`, run as a real process against a SQLite file with the demo journey's metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.core.db import make_engine
from app.insights.models import MetricPoint
from tests.e2e.test_cli import seam

DEMO_JOURNEY = Path(__file__).resolve().parents[2] / "app" / "demo" / "journey.yaml"
GOOD = (
    "metric,at,source,value\n"
    "on-time-delivery,2026-11-02T00:00:00Z,logistics,91.5\n"
    "on-time-delivery,2026-11-09T00:00:00Z,logistics,93\n"
    "refund-cycle-time,2026-11-09T00:00:00Z,billing,4.5\n"
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "metrics.db"
    seam(path, "db", "upgrade")
    seam(path, "journey", "apply", str(DEMO_JOURNEY))
    return path


def _points(db: Path) -> list[tuple[str, str, float]]:
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        rows = session.execute(select(MetricPoint)).scalars().all()
        out = sorted((r.metric, r.source, r.value) for r in rows)
    engine.dispose()
    return out


def test_import_stores_points_once_and_updates_a_changed_value(db: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "points.csv"
    csv_file.write_text(GOOD, encoding="utf-8")
    assert seam(db, "metrics", "import", str(csv_file)).stdout.strip() == (
        "created 3, updated 0, unchanged 0, rejected 0"
    )
    # The same file again: one point per (metric, at, source), nothing new.
    assert seam(db, "metrics", "import", str(csv_file)).stdout.strip() == (
        "created 0, updated 0, unchanged 3, rejected 0"
    )
    csv_file.write_text(GOOD.replace(",93\n", ",94\n"), encoding="utf-8")
    assert "created 0, updated 1, unchanged 2" in seam(db, "metrics", "import", str(csv_file)).stdout
    assert _points(db) == [
        ("on-time-delivery", "logistics", 91.5),
        ("on-time-delivery", "logistics", 94.0),
        ("refund-cycle-time", "billing", 4.5),
    ]


def test_bad_rows_are_named_by_line_and_field_and_the_good_ones_stored(db: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "mixed.csv"
    csv_file.write_text(
        "metric,at,source,value\n"
        "on-time-delivery,2026-11-02T00:00:00Z,logistics,91.5\n"  # line 2: good
        "on-time-delivery,yesterday,logistics,90\n"  # line 3: bad time
        "no-such-metric,2026-11-02T00:00:00Z,logistics,1\n"  # line 4: undeclared metric
        "on-time-delivery,2026-11-09T00:00:00Z,marketing,90\n"  # line 5: not a contributor
        "on-time-delivery,2026-11-16T00:00:00Z,logistics,lots\n",  # line 6: not a number
        encoding="utf-8",
    )
    proc = seam(db, "metrics", "import", str(csv_file), check=False)
    assert proc.returncode == 3
    assert proc.stdout.strip() == "created 1, updated 0, unchanged 0, rejected 4"
    lines = proc.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["line 3", "line 4", "line 5", "line 6"]
    assert lines[0].startswith("line 3: rejected: at:")
    assert lines[1].startswith("line 4: rejected: metric:")
    assert lines[2].startswith("line 5: rejected: source:")
    assert lines[3].startswith("line 6: rejected: value:")
    assert _points(db) == [("on-time-delivery", "logistics", 91.5)]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            "metric,at,source,value\non-time-delivery,2026-11-02T00:00:00Z,logistics,9\xe91\n".encode(
                "latin-1"
            ),
            "not UTF-8 (byte 0xe9 on line 2)",
        ),
        (b"metric,at,source,value\n\x00,,,\n", "NUL character on line 2"),
        (
            b"metric,when,source,value\non-time-delivery,2026-11-02T00:00:00Z,logistics,9\n",
            "columns.at: missing",
        ),
    ],
)
def test_an_unreadable_file_is_refused_in_one_line(
    db: Path, tmp_path: Path, content: bytes, says: str
) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_bytes(content)
    proc = seam(db, "metrics", "import", str(csv_file), check=False)
    assert proc.returncode == 2
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert _points(db) == []
