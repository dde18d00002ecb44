"""The live grouping index over sentence vectors: the online half of `app.routing.consolidate`.

An item joins the group (open issue or emerging group) of its stage and moment with the highest
*average* cosine to the group's members (``vector · sum / size``), if that reaches the stage's
threshold; otherwise the caller opens an emerging group. The average, not the centroid cosine,
so the online rule means what the offline average linkage of the consolidation pass means, and the
per-stage thresholds calibrated for one (`app.routing.thresholds`) hold for the other.

Vectors are centred on the company's mean feedback vector first (`represent.centre`): every text
shares a "customer has a problem" direction, and without it cosines crowd together.

The interface is the lexical `GroupingIndex`'s (place, add_item, remove_item, close, size), so the
service's index (`app.routing.index`) and `placement.group` use either. Rule fingerprints decide
alone, as there. Cost: one matrix-vector product over the scope's groups per placement.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from app.journey.grouping import GroupingSettings
from app.routing.grouping import Placement, PlacementCost
from app.routing.text import informative_terms

# The threshold a stage uses before its own feedback calibrated one: average cosine of centred MiniLM
# vectors, or of raw ones before any calibration gave a mean to centre on (raw cosines run higher:
# different problems of one company score 0.38-0.47 raw and 0.16-0.29 centred on the demo's texts).
DEFAULT_THRESHOLD = 0.35
RAW_DEFAULT_THRESHOLD = 0.5


@dataclass
class _Facet:
    size: int = 0
    vector_sum: np.ndarray | None = None


@dataclass
class _Group:
    """An open group, as one or more *facets*: the items it was formed with, and the items of each
    group a person merged into it. An item is compared with each facet on its own, so after a merge
    of two different complaints people called one problem, either kind of complaint still finds it
    (one average over both would suit neither)."""

    scope: str
    size: int = 0
    terms: Counter[str] = field(default_factory=Counter)
    fingerprints: set[str] = field(default_factory=set)
    facets: dict[str, _Facet] = field(default_factory=dict)


_SEP = "\x1f"


class _Scope:
    """The groups of one stage and moment as rows of one matrix, so placing is one product."""

    def __init__(self, dim: int) -> None:
        self.keys: list[str] = []
        self.row: dict[str, int] = {}
        self.sums = np.zeros((0, dim), dtype=np.float64)
        self.sizes = np.zeros(0, dtype=np.float64)

    def set(self, key: str, vector_sum: np.ndarray, size: int) -> None:
        i = self.row.get(key)
        if i is None:
            i = self.row[key] = len(self.keys)
            self.keys.append(key)
            if i >= len(self.sums):
                grow = max(8, len(self.sums))
                self.sums = np.vstack([self.sums, np.zeros((grow, self.sums.shape[1]))])
                self.sizes = np.concatenate([self.sizes, np.zeros(grow)])
        self.sums[i] = vector_sum
        self.sizes[i] = size

    def drop(self, key: str) -> None:
        i = self.row.pop(key, None)
        if i is None:
            return
        last = len(self.keys) - 1
        if i != last:
            moved = self.keys[last]
            self.keys[i] = moved
            self.row[moved] = i
            self.sums[i] = self.sums[last]
            self.sizes[i] = self.sizes[last]
        self.keys.pop()
        self.sums[last] = 0.0
        self.sizes[last] = 0.0

    def best(self, vector: np.ndarray) -> tuple[str | None, float]:
        n = len(self.keys)
        if n == 0:
            return None, 0.0
        scores = (self.sums[:n] @ vector) / np.maximum(self.sizes[:n], 1.0)
        i = int(np.argmax(scores))
        return self.keys[i], float(scores[i])


class VectorIndex:
    def __init__(
        self,
        settings: GroupingSettings | None = None,
        *,
        mean: np.ndarray | None = None,
        stage_thresholds: dict[str, float] | None = None,
        default_threshold: float | None = None,
    ) -> None:
        self.settings = settings or GroupingSettings()
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.stage_thresholds = dict(stage_thresholds or {})
        if default_threshold is None:
            default_threshold = RAW_DEFAULT_THRESHOLD if mean is None else DEFAULT_THRESHOLD
        self.default_threshold = default_threshold
        self._groups: dict[str, _Group] = {}
        self._scopes: dict[str, _Scope] = {}
        self._fingerprints: dict[tuple[str, str], str] = {}
        self.last_cost = PlacementCost(0, 0)

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._groups)

    def __contains__(self, key: object) -> bool:
        return key in self._groups

    def size(self, key: str) -> int:
        return self._groups[key].size

    def threshold_for(self, scope: str) -> float:
        """A fixed threshold from the journey, else the stage's calibrated one, else the default."""
        if self.settings.vector_threshold is not None:
            return self.settings.vector_threshold
        return self.stage_thresholds.get(scope.split("/", 1)[0], self.default_threshold)

    def centred(self, vector: np.ndarray) -> np.ndarray:
        v = np.asarray(vector, dtype=np.float64)
        if self.mean is not None:
            v = v - self.mean
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 1e-12 else v

    # -- placing ---------------------------------------------------------------------------
    def place(
        self, text: str, stage: str, fingerprint: str | None = None, *, vector: np.ndarray | None = None
    ) -> Placement:
        """``stage`` is the scope (stage/moment) as for `GroupingIndex.place`."""
        if fingerprint is not None:
            owner = self._fingerprints.get((stage, fingerprint))
            if owner is not None:
                self.last_cost = PlacementCost(0, 0)
                return Placement(owner, 1.0, "fingerprint", [])
        scope = self._scopes.get(stage)
        if vector is None or scope is None:
            self.last_cost = PlacementCost(0, 0)
            return Placement(None, 0.0, "new", [])
        row, score = scope.best(self.centred(vector))
        self.last_cost = PlacementCost(0, len(scope.keys))
        key = row.split(_SEP, 1)[0] if row is not None else None
        if key is None or score < self.threshold_for(stage):
            return Placement(None, max(score, 0.0), "new", [])
        return Placement(key, score, "similarity", self._shared(text, self._groups[key]))

    def _shared(self, text: str, group: _Group) -> list[str]:
        terms = [t for t in dict.fromkeys(informative_terms(text)) if t in group.terms]
        terms.sort(key=lambda t: -group.terms[t])
        return terms[: self.settings.shared_terms_shown]

    # -- changing --------------------------------------------------------------------------
    def add_item(
        self,
        issue_id: str,
        text: str,
        fingerprint: str | None = None,
        *,
        stage: str | None = None,
        vector: np.ndarray | None = None,
        facet: str | None = None,
    ) -> None:
        """``facet``: which part of the group the item belongs to (the group it first joined, before
        any merge); the group's own by default."""
        group = self._groups.get(issue_id)
        if group is None:
            if stage is None:
                raise ValueError(f"group {issue_id!r} is not open here: give its scope to open it")
            group = self._groups[issue_id] = _Group(scope=stage)
        group.size += 1
        group.terms.update(set(informative_terms(text)))
        if fingerprint is not None:
            group.fingerprints.add(fingerprint)
            self._fingerprints[(group.scope, fingerprint)] = issue_id
        if vector is not None:
            v = self.centred(vector)
            name = facet or issue_id
            part = group.facets.setdefault(name, _Facet())
            part.size += 1
            part.vector_sum = v.copy() if part.vector_sum is None else part.vector_sum + v
            self._refresh(issue_id, group, name)

    def remove_item(
        self, issue_id: str, text: str, *, vector: np.ndarray | None = None, facet: str | None = None
    ) -> None:
        group = self._groups[issue_id]
        group.size -= 1
        group.terms.subtract(set(informative_terms(text)))
        if group.size <= 0:
            self.close(issue_id)
            return
        part = group.facets.get(facet or issue_id)
        if vector is not None and part is not None and part.vector_sum is not None:
            v = self.centred(vector)
            part.vector_sum = part.vector_sum - v
            part.size -= 1
            self._refresh(issue_id, group, facet or issue_id)

    def _refresh(self, key: str, group: _Group, facet: str) -> None:
        part = group.facets[facet]
        row = f"{key}{_SEP}{facet}"
        scope = self._scopes.get(group.scope)
        if part.vector_sum is None or part.size <= 0:
            if scope is not None:
                scope.drop(row)
            return
        if scope is None:
            # The scope's matrix takes the width of the first vector it holds: no encoder probe needed.
            scope = self._scopes[group.scope] = _Scope(len(part.vector_sum))
        scope.set(row, part.vector_sum, part.size)

    def close(self, issue_id: str) -> None:
        group = self._groups.pop(issue_id, None)
        if group is None:
            return
        scope = self._scopes.get(group.scope)
        if scope is not None:
            for facet in group.facets:
                scope.drop(f"{issue_id}{_SEP}{facet}")
        for fp in group.fingerprints:
            if self._fingerprints.get((group.scope, fp)) == issue_id:
                del self._fingerprints[(group.scope, fp)]
