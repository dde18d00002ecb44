"""Shared test helpers: where the real vendor examples live, and local payload fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# /work/shared sits beside the repo (/work/main); the examples are the vendors' own payloads.
EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "examples"
PAYLOADS = Path(__file__).resolve().parent / "payloads"


def example_bytes(name: str) -> bytes:
    path = EXAMPLES / name
    if not path.is_file():  # fail loudly: a silently skipped vendor test proves nothing
        raise FileNotFoundError(f"vendor example payload missing: {path}")
    return path.read_bytes()


def payload_bytes(name: str) -> bytes:
    path = PAYLOADS / name
    if not path.is_file():
        raise FileNotFoundError(f"test payload missing: {path}")
    return path.read_bytes()


def load(raw: bytes) -> Any:
    return json.loads(raw)
