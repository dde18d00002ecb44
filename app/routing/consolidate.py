"""Emerging groups, online placement and offline consolidation, on vectors only.

Two kinds of group live side by side in each stage: *issues* (people see them; the
engine never changes their membership on its own) and *emerging* groups (fewer items
than ``min_issue_size``, or not yet consolidated). Praise and complaints never meet: a
group has one polarity and an item is only compared with groups of its own.

- :func:`place` (online, per item): the group of the item's stage and polarity with the
  highest *average* cosine to its members (``vector · sum / size``), if that reaches the
  stage's threshold; else the caller opens an emerging group. The average, not the
  centroid cosine, so the online rule means the same as the offline average linkage.
- :func:`consolidate` (offline, periodic): re-clusters all emerging items of a stage by
  average-linkage agglomeration (which does not depend on arrival order), folds clusters
  into an issue when their average linkage to it reaches the threshold, promotes clusters
  of ``min_issue_size`` or more to issues, and *proposes* merges between issues with their
  evidence (similarity, shared terms). It returns a plan; it applies nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

GroupKind = Literal["issue", "emerging"]
Polarity = Literal["complaint", "praise"]


@dataclass
class Group:
    """What the service keeps per open group: the sum of its members' vectors, and their ids."""

    id: str
    stage: str
    kind: GroupKind
    polarity: Polarity = "complaint"
    vector_sum: np.ndarray | None = None
    members: list[str] = field(default_factory=list)
    terms: Counter[str] = field(default_factory=Counter)

    @property
    def size(self) -> int:
        return len(self.members)

    def add(self, item_id: str, vector: np.ndarray, terms: Iterable[str] = ()) -> None:
        self.members.append(item_id)
        v = np.asarray(vector, dtype=np.float64)
        self.vector_sum = v.copy() if self.vector_sum is None else self.vector_sum + v
        self.terms.update(terms)


@dataclass(frozen=True)
class Item:
    id: str
    stage: str
    vector: np.ndarray
    polarity: Polarity = "complaint"
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceResult:
    group_id: str | None
    score: float
    kind: GroupKind | None


@dataclass(frozen=True)
class ConsolidationSettings:
    min_issue_size: int = 3
    # Largest number of emerging items re-clustered item by item in one stage; past it the
    # emerging groups' centroids are clustered instead (memory is quadratic).
    max_items: int = 4000
    shared_terms_shown: int = 5


@dataclass(frozen=True)
class EmergingCluster:
    """Emerging items that belong together after consolidation."""

    stage: str
    polarity: Polarity
    members: tuple[str, ...]
    # The issue these items should join (its average linkage reached the threshold), if any.
    into_issue: str | None
    promote: bool
    score: float


@dataclass(frozen=True)
class MergeProposal:
    """Two issues that look like one problem; for a person to accept or reject."""

    stage: str
    keep: str
    merge: str
    similarity: float
    shared_terms: tuple[str, ...]


@dataclass(frozen=True)
class ConsolidationPlan:
    clusters: tuple[EmergingCluster, ...]
    proposals: tuple[MergeProposal, ...]


def average_similarity(vector: np.ndarray, group: Group) -> float:
    if group.vector_sum is None or not group.members:
        return 0.0
    return float(vector @ group.vector_sum) / group.size


def place(item: Item, groups: Iterable[Group], threshold: float) -> PlaceResult:
    """The best group of the item's stage and polarity above ``threshold``, issues before ties."""
    best: Group | None = None
    best_score = -1.0
    for group in groups:
        if group.stage != item.stage or group.polarity != item.polarity:
            continue
        score = average_similarity(item.vector, group)
        better = score > best_score or (score == best_score and best is not None and group.id < best.id)
        if better:
            best, best_score = group, score
    if best is None or best_score < threshold:
        return PlaceResult(None, max(best_score, 0.0), None)
    return PlaceResult(best.id, best_score, best.kind)


def _average_clusters(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Flat clusters of average cosine similarity ≥ ``threshold`` (labels 1..k)."""
    if len(vectors) == 1:
        return np.ones(1, dtype=int)
    tree = linkage(np.asarray(vectors, dtype=np.float64), method="average", metric="cosine")
    labels: np.ndarray = fcluster(tree, t=1.0 - threshold, criterion="distance")
    return labels


def consolidate(
    groups: Sequence[Group],
    vectors: Mapping[str, np.ndarray],
    thresholds: Mapping[str, float],
    settings: ConsolidationSettings | None = None,
) -> ConsolidationPlan:
    """The consolidation plan for open ``groups``; ``vectors`` holds every emerging item's vector.

    ``thresholds`` is per stage (from :mod:`app.routing.thresholds`).
    """
    settings = settings or ConsolidationSettings()
    clusters: list[EmergingCluster] = []
    proposals: list[MergeProposal] = []
    scopes = sorted({(g.stage, g.polarity) for g in groups})
    for stage, polarity in scopes:
        threshold = thresholds[stage]
        here = [g for g in groups if g.stage == stage and g.polarity == polarity]
        issues = sorted((g for g in here if g.kind == "issue"), key=lambda g: g.id)
        emerging = sorted((g for g in here if g.kind == "emerging"), key=lambda g: g.id)
        clusters += _cluster_emerging(stage, polarity, emerging, issues, vectors, threshold, settings)
        proposals += _propose_merges(stage, issues, threshold, settings)
    return ConsolidationPlan(tuple(clusters), tuple(proposals))


def _cluster_emerging(
    stage: str,
    polarity: Polarity,
    emerging: list[Group],
    issues: list[Group],
    vectors: Mapping[str, np.ndarray],
    threshold: float,
    settings: ConsolidationSettings,
) -> list[EmergingCluster]:
    units: list[tuple[str, ...]] = []
    if sum(g.size for g in emerging) <= settings.max_items:
        # Item by item, sorted by id: the result does not depend on how items arrived.
        units = [(m,) for m in sorted(m for g in emerging for m in g.members)]
    else:
        units = [tuple(sorted(g.members)) for g in emerging]
    if not units:
        return []
    sums = np.stack([np.sum([vectors[m] for m in unit], axis=0) for unit in units])
    labels = _average_clusters(sums, threshold)
    out: list[EmergingCluster] = []
    for label in sorted(set(labels.tolist())):
        chosen = [i for i, lab in enumerate(labels) if lab == label]
        members = tuple(sorted(m for i in chosen for m in units[i]))
        total = sums[chosen].sum(axis=0)
        into, score = _best_issue(total, len(members), issues, threshold)
        promote = into is None and len(members) >= settings.min_issue_size
        out.append(EmergingCluster(stage, polarity, members, into, promote, score))
    return out


def _best_issue(
    total: np.ndarray, count: int, issues: list[Group], threshold: float
) -> tuple[str | None, float]:
    best_id, best = None, 0.0
    for issue in issues:
        if issue.vector_sum is None or not issue.size:
            continue
        score = float(total @ issue.vector_sum) / (count * issue.size)
        if score > best:
            best_id, best = issue.id, score
    return (best_id, best) if best >= threshold else (None, best)


def _propose_merges(
    stage: str, issues: list[Group], threshold: float, settings: ConsolidationSettings
) -> list[MergeProposal]:
    """Issue pairs whose average linkage reaches the threshold, most similar first."""
    usable = [g for g in issues if g.vector_sum is not None and g.size]
    if len(usable) < 2:
        return []
    sums = np.stack([np.asarray(g.vector_sum, dtype=np.float64) for g in usable])
    sizes = np.array([g.size for g in usable], dtype=np.float64)
    sim = (sums @ sums.T) / np.outer(sizes, sizes)
    pairs = []
    for i in range(len(usable)):
        for j in range(i + 1, len(usable)):
            if sim[i, j] >= threshold:
                pairs.append((float(sim[i, j]), i, j))
    pairs.sort(key=lambda p: (-p[0], usable[p[1]].id, usable[p[2]].id))
    out = []
    for score, i, j in pairs:
        # The larger issue keeps its identity; the other would fold into it.
        keep, other = (usable[i], usable[j]) if usable[i].size >= usable[j].size else (usable[j], usable[i])
        shared = sorted(
            keep.terms.keys() & other.terms.keys(), key=lambda t: -(keep.terms[t] + other.terms[t])
        )
        out.append(
            MergeProposal(stage, keep.id, other.id, score, tuple(shared[: settings.shared_terms_shown]))
        )
    return out


class GroupBook:
    """An in-memory book of open groups that applies :func:`place` and plans, for callers
    (the benchmark, tests, a worker) that keep state in memory; the service keeps the same
    fields in its tables."""

    def __init__(self, thresholds: Mapping[str, float], settings: ConsolidationSettings | None = None):
        self.thresholds = dict(thresholds)
        self.settings = settings or ConsolidationSettings()
        self.groups: dict[str, Group] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self._terms: dict[str, tuple[str, ...]] = {}
        self._opened = 0

    def add(self, item: Item) -> str:
        """Place one item online; returns the id of the group it joined or opened."""
        self.vectors[item.id] = np.asarray(item.vector, dtype=np.float64)
        self._terms[item.id] = item.terms
        result = place(item, self.groups.values(), self.thresholds[item.stage])
        if result.group_id is None:
            self._opened += 1
            group = Group(f"e{self._opened}", item.stage, "emerging", item.polarity)
            self.groups[group.id] = group
        else:
            group = self.groups[result.group_id]
        group.add(item.id, item.vector, item.terms)
        return group.id

    def consolidate(self) -> ConsolidationPlan:
        """Plan, then apply the emerging part (regroup, fold, promote); proposals are returned."""
        plan = consolidate(list(self.groups.values()), self.vectors, self.thresholds, self.settings)
        for gid in [g.id for g in self.groups.values() if g.kind == "emerging"]:
            del self.groups[gid]
        for cluster in plan.clusters:
            if cluster.into_issue is not None:
                target = self.groups[cluster.into_issue]
            else:
                self._opened += 1
                kind: GroupKind = "issue" if cluster.promote else "emerging"
                target = Group(f"{kind[0]}{self._opened}", cluster.stage, kind, cluster.polarity)
                self.groups[target.id] = target
            for member in cluster.members:
                target.add(member, self.vectors[member], self._terms[member])
        return plan

    def assignment(self) -> dict[str, str]:
        return {m: g.id for g in self.groups.values() for m in g.members}
