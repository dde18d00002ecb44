"""Which issues insight figures count: the active ones and the closed ones (confirmed, declined). Issues
still gathering evidence, and merged ones (their items live on in the issue they joined), are left out."""

from __future__ import annotations

from app.issues.lifecycle import ACTIVE

CLOSED = frozenset({"confirmed", "declined"})
COUNTED = ACTIVE | CLOSED
