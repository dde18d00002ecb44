"""requirements.lock (what the image installs, with --require-hashes) holds every dependency that
pyproject.toml's [project] names, at a version its specifier allows, each pinned with hashes: a
dependency added or raised without `scripts/lock` fails here, not in a build."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
# `name==version \` at the start of a line; the hashes follow on continuation lines.
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;]+)")


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(d) for d in project["dependencies"]]


def _locked() -> dict[str, tuple[Version, int]]:
    """Each pinned package's version and how many hashes it carries."""
    locked: dict[str, tuple[Version, int]] = {}
    current: str | None = None
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        pin = PIN.match(line)
        if pin:
            current = canonicalize_name(pin.group(1))
            locked[current] = (Version(pin.group(2)), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = locked[current]
            locked[current] = (version, hashes + 1)
        elif line and not line.startswith(" "):
            current = None
    return locked


def test_every_dependency_is_locked_at_a_version_it_allows() -> None:
    locked = _locked()
    missing = [str(r) for r in _declared() if canonicalize_name(r.name) not in locked]
    assert not missing, f"not in requirements.lock (run scripts/lock): {missing}"
    outside = {
        r.name: str(locked[canonicalize_name(r.name)][0])
        for r in _declared()
        if not r.specifier.contains(locked[canonicalize_name(r.name)][0], prereleases=True)
    }
    assert not outside, f"locked outside pyproject's range (run scripts/lock): {outside}"


def test_every_pin_carries_hashes() -> None:
    locked = _locked()
    assert len(locked) > len(_declared())  # their own dependencies are pinned too
    unhashed = sorted(name for name, (_, hashes) in locked.items() if hashes == 0)
    assert not unhashed, f"pinned without a hash, which --require-hashes refuses: {unhashed}"


def test_the_image_installs_from_the_lock_and_serves_without_migrating() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert '"serve"' in cmd and "upgrade" not in cmd
