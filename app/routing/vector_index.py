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
# Below this many groups in a scope, one product per item costs little, and a batch's product saves
# less than it costs.
PREFETCH_ROWS = 1024


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
    """The groups of one stage and moment as rows of one matrix, so placing is one product.

    Each row is a facet's mean vector (sum / size), so a row's product with an item's vector is the
    item's average cosine to the facet's members. float32: the product reads every row per placement,
    and at tens of thousands of groups it is bound by memory, not arithmetic (half the bytes of
    float64, half the time); cosines need no more than its seven digits."""

    def __init__(self, dim: int) -> None:
        self.keys: list[str] = []
        self.row: dict[str, int] = {}
        self.means = np.zeros((0, dim), dtype=np.float32)
        # A batch's products with the rows as they were (`prefetch`): vector bytes -> row of `_scores`.
        # Rows changed since are set to -inf there and scored afresh; rows added since, too.
        self._batch: dict[bytes, int] = {}
        self._scores = np.zeros((0, 0), dtype=np.float32)
        self._batch_rows = 0
        self._changed: set[int] = set()

    def prefetch(self, vectors: np.ndarray) -> None:
        """Scores a batch's (centred, float32) vectors against every row in one matrix product. One
        product per placement reads the whole matrix each time, which bounds placing at memory speed
        once a scope holds thousands of groups; a batch's product reads it once."""
        n = len(self.keys)
        self._scores = vectors @ self.means[:n].T
        self._batch = {v.tobytes(): j for j, v in enumerate(vectors)}
        self._batch_rows = n
        self._changed = set()

    @property
    def holds_batch(self) -> bool:
        return self._batch_rows > 0

    def release(self) -> None:
        self._batch, self._changed, self._batch_rows = {}, set(), 0
        self._scores = np.zeros((0, 0), dtype=np.float32)

    def _touched(self, i: int) -> None:
        if i < self._batch_rows and i not in self._changed:
            self._changed.add(i)
            self._scores[:, i] = -np.inf

    def set(self, key: str, vector_sum: np.ndarray, size: int) -> None:
        i = self.row.get(key)
        if i is None:
            i = self.row[key] = len(self.keys)
            self.keys.append(key)
            if i >= len(self.means):
                grow = max(8, len(self.means))
                self.means = np.vstack([self.means, np.zeros((grow, self.means.shape[1]), np.float32)])
        self.means[i] = vector_sum / max(size, 1)
        self._touched(i)

    def drop(self, key: str) -> None:
        i = self.row.pop(key, None)
        if i is None:
            return
        last = len(self.keys) - 1
        if i != last:
            moved = self.keys[last]
            self.keys[i] = moved
            self.row[moved] = i
            self.means[i] = self.means[last]
        self.keys.pop()
        self.means[last] = 0.0
        self._touched(i)
        self._touched(last)

    def best(self, vector: np.ndarray) -> tuple[str | None, float]:
        """The row with the highest product with `vector` (centred, float32) and that product."""
        n = len(self.keys)
        if n == 0:
            return None, 0.0
        j = self._batch.get(vector.tobytes()) if self._batch else None
        if j is None:
            scores = self.means[:n] @ vector
            i = int(np.argmax(scores))
            return self.keys[i], float(scores[i])
        kept = min(n, self._batch_rows)
        i, top = -1, -np.inf
        if kept:
            i = int(np.argmax(self._scores[j, :kept]))
            top = float(self._scores[j, i])
        fresh = [r for r in self._changed if r < n] + list(range(self._batch_rows, n))
        if fresh:
            exact = self.means[fresh] @ vector
            k = int(np.argmax(exact))
            if float(exact[k]) > top:
                i, top = fresh[k], float(exact[k])
        return (self.keys[i], top) if i >= 0 else (None, 0.0)


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
    def prefetch(self, batch: list[tuple[str, np.ndarray]]) -> None:
        """A batch's (scope, raw vector) pairs about to be placed one by one: each large scope scores
        them all in one product. Placing stays exact: what the batch changes is scored afresh."""
        by_scope: dict[str, list[np.ndarray]] = {}
        for where, vector in batch:
            by_scope.setdefault(where, []).append(vector)
        for where, vs in by_scope.items():
            scope = self._scopes.get(where)
            if scope is not None and len(vs) > 1 and len(scope.keys) >= PREFETCH_ROWS:
                scope.prefetch(np.stack([self.centred(v).astype(np.float32) for v in vs]))

    def release(self) -> None:
        """The batch is placed: its products are dropped."""
        for scope in self._scopes.values():
            if scope.holds_batch:
                scope.release()

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
        row, score = scope.best(self.centred(vector).astype(np.float32))
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
