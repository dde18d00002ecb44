"""The four labelled data sets of shared/data, loaded one way for every routing benchmark."""

from __future__ import annotations

import csv
import random
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

Row = tuple[str, str]  # (text, category)

PRAISE = "__praise__"


@dataclass
class Dataset:
    name: str
    train: list[Row]
    test: list[Row]
    stage_of: dict[str, str]
    notes: list[str] = field(default_factory=list)
    # Praise items (text) added to the test stream, with the stage they arrive in.
    praise: list[tuple[str, str]] = field(default_factory=list)


# name -> (train, test or None, stage map, text column, label column)
DATASETS: dict[str, tuple[str, str | None, str, str, str]] = {
    "banking77": ("banking77/train.csv", "banking77/dev.csv", "label_to_stage.csv", "text", "category"),
    "bitext": (
        "bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv",
        None,
        "label_to_stage.csv",
        "instruction",
        "intent",
    ),
    "cfpb_complaints": (
        "cfpb_complaints/train.csv",
        "cfpb_complaints/dev.csv",
        "cfpb_complaints/label_stage_map.csv",
        "text",
        "category",
    ),
    "mams_restaurant": (
        "mams_restaurant/train.csv",
        "mams_restaurant/dev.csv",
        "mams_restaurant/label_stage_map.csv",
        "text",
        "category",
    ),
}
# MAMS aspect → the stage its praise sentences arrive in (the same map as its labels).
MAMS_RAW_PRAISE = "mams_restaurant/raw/test.xml"


def read_rows(path: str | Path, text_col: str, label_col: str) -> list[Row]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [(r[text_col], r[label_col]) for r in csv.DictReader(handle) if r[text_col].strip()]


def split(rows: list[Row], seed: int, share: float = 0.2) -> tuple[list[Row], list[Row]]:
    by_label: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    rng = random.Random(seed)
    train: list[Row] = []
    test: list[Row] = []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        cut = max(1, round(len(group) * share))
        test += group[:cut]
        train += group[cut:]
    return train, test


def read_stage_map(path: str | Path) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {r["label"]: r["stage"] for r in csv.DictReader(handle)}


def mams_praise(path: str | Path, stage_of: dict[str, str]) -> list[tuple[str, str]]:
    """Sentences of the raw XML with a positive aspect and no negative one, in that aspect's stage.

    The labelled CSVs hold only sentences criticising one aspect, so none of these is in them.
    """
    out = []
    for sentence in ET.parse(path).getroot():
        aspects = [(a.get("category", ""), a.get("polarity")) for a in sentence.iter("aspectCategory")]
        polarities = {p for _, p in aspects}
        text = sentence.findtext("text") or ""
        if "positive" in polarities and "negative" not in polarities and text.strip():
            first = next(c for c, p in aspects if p == "positive")
            out.append((text, stage_of.get(first, next(iter(stage_of.values())))))
    return out


def _cap(rows: list[Row], cap: int | None, seed: int) -> list[Row]:
    if cap is None or len(rows) <= cap:
        return rows
    return random.Random(seed).sample(rows, cap)


def load_dataset(
    name: str, root: str | Path, *, seed: int = 0, train_cap: int | None = None, test_cap: int | None = None
) -> Dataset:
    train_path, test_path, stages, text_col, label_col = DATASETS[name]
    root = Path(root)
    rows = read_rows(root / train_path, text_col, label_col)
    if test_path is None:
        train, test = split(rows, seed)
    else:
        train, test = rows, read_rows(root / test_path, text_col, label_col)
    notes = []
    if train_cap is not None and len(train) > train_cap:
        notes.append(f"train subsampled to {train_cap} of {len(train)} (seed {seed})")
    if test_cap is not None and len(test) > test_cap:
        notes.append(f"test subsampled to {test_cap} of {len(test)} (seed {seed})")
    data = Dataset(
        name, _cap(train, train_cap, seed), _cap(test, test_cap, seed), read_stage_map(root / stages)
    )
    data.notes = notes
    if name == "mams_restaurant":
        data.praise = mams_praise(root / MAMS_RAW_PRAISE, data.stage_of)
    return data
