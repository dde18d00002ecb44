"""Incremental grouping of feedback into open experience issues, one stage at a time.

An item joins the open issue whose term profile (IDF-weighted centroid of its items'
informative terms, optionally blended with a sentence-embedding centroid) is most similar,
if that similarity reaches ``GroupingSettings.threshold``; otherwise the caller opens a
new issue. Rule fingerprints win over similarity.

Cost: candidates come from an inverted index (term -> issues, most recently active
first). Only the rarest ``max_query_terms`` terms of the new item are looked up, each
posting list is read for at most ``postings_per_term`` issues, and only the best
``max_candidates`` are scored exactly. So one placement reads a bounded number of
postings however many issues are open; ``last_cost`` records how many, for tests.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

import numpy as np

from app.journey.grouping import GroupingSettings
from app.routing.embedding import Embedder
from app.routing.text import informative_terms


@dataclass(frozen=True)
class Placement:
    issue_id: str | None
    score: float
    reason: Literal["fingerprint", "similarity", "new"]
    shared_terms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlacementCost:
    postings_read: int
    candidates_scored: int


@dataclass
class _Issue:
    stage: str
    size: int = 0
    terms: Counter[str] = field(default_factory=Counter)
    fingerprints: set[str] = field(default_factory=set)
    vector_sum: np.ndarray | None = None
    # Norm of the term profile, computed when the issue changes (IDF drift in between is
    # ignored: it is small, and it keeps placement O(shared terms) instead of O(issue terms)).
    norm: float = 1.0


class GroupingIndex:
    def __init__(
        self,
        settings: GroupingSettings | None = None,
        *,
        embedder: Embedder | None = None,
        stage_thresholds: dict[str, float] | None = None,
    ) -> None:
        self.settings = settings or GroupingSettings()
        self.embedder = embedder
        # Per-stage thresholds calibrated from the company's own feedback (app.routing.thresholds);
        # stages without one use the settings' constant.
        self.stage_thresholds: dict[str, float] = dict(stage_thresholds or {})
        self._issues: dict[str, _Issue] = {}
        # stage -> term -> issues containing it, least recently active first (dicts keep order).
        self._postings: dict[str, dict[str, dict[str, None]]] = defaultdict(dict)
        self._fingerprints: dict[tuple[str, str], str] = {}
        self._df: Counter[str] = Counter()
        self._items = 0
        self.last_cost = PlacementCost(0, 0)

    @property
    def threshold(self) -> float:
        return self.settings.embedding_threshold if self.embedder is not None else self.settings.threshold

    def threshold_for(self, stage: str) -> float:
        return self.stage_thresholds.get(stage, self.threshold)

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._issues)

    def __contains__(self, issue_id: object) -> bool:
        return issue_id in self._issues

    def size(self, issue_id: str) -> int:
        return self._issues[issue_id].size

    def stage_of(self, issue_id: str) -> str:
        return self._issues[issue_id].stage

    def _idf(self, term: str) -> float:
        return math.log((1 + self._items) / (1 + self._df[term])) + 1.0

    def _terms(self, text: str) -> list[str]:
        return informative_terms(text, bigrams=self.settings.bigrams)

    # -- placing ---------------------------------------------------------------------------
    def place(
        self, text: str, stage: str, fingerprint: str | None = None, *, vector: np.ndarray | None = None
    ) -> Placement:
        """The open issue this item should join, or ``issue_id=None`` to open a new one.

        ``vector``: the item's embedding if the caller already has it; pass the same one to
        ``add_item`` so the encoder runs once per item.
        """
        if fingerprint is not None:
            owner = self._fingerprints.get((stage, fingerprint))
            if owner is not None:
                self.last_cost = PlacementCost(0, 0)
                return Placement(owner, 1.0, "fingerprint", [])
        terms = self._terms(text)
        if vector is None:
            vector = self._embed(text)
        candidates = self._candidates(terms, stage)
        weights = {t: self._idf(t) for t in terms}
        best_id, best_score = None, 0.0
        for issue_id in candidates:
            score = self._similarity(weights, vector, self._issues[issue_id])
            if score > best_score:
                best_id, best_score = issue_id, score
        if best_id is None or best_score < self.threshold_for(stage):
            return Placement(None, best_score, "new", [])
        return Placement(best_id, best_score, "similarity", self._shared(terms, self._issues[best_id]))

    def _candidates(self, terms: list[str], stage: str) -> list[str]:
        postings = self._postings.get(stage, {})
        present = [t for t in terms if t in postings]
        # Rarest first: they say most about the problem and have the shortest lists.
        present.sort(key=lambda t: (self._df[t], t))
        votes: dict[str, float] = defaultdict(float)
        read = 0
        for term in present[: self.settings.max_query_terms]:
            weight = self._idf(term)
            for issue_id in islice(reversed(postings[term]), self.settings.postings_per_term):
                votes[issue_id] += weight
                read += 1
        chosen = sorted(votes, key=lambda i: (-votes[i], i))[: self.settings.max_candidates]
        self.last_cost = PlacementCost(read, len(chosen))
        return chosen

    def _similarity(self, item_weights: dict[str, float], vector: np.ndarray | None, issue: _Issue) -> float:
        item_norm = math.sqrt(sum(w * w for w in item_weights.values())) or 1.0
        dot = 0.0
        for term, weight in item_weights.items():
            count = issue.terms.get(term)
            if count:
                dot += weight * (count / issue.size) * weight
        lexical = dot / (item_norm * issue.norm)
        if vector is None or issue.vector_sum is None:
            return lexical
        norm = float(np.linalg.norm(issue.vector_sum)) or 1.0
        semantic = max(0.0, float(vector @ issue.vector_sum) / norm)
        alpha = self.settings.embedding_weight
        return alpha * semantic + (1 - alpha) * lexical

    def _shared(self, terms: list[str], issue: _Issue) -> list[str]:
        shared = [t for t in terms if t in issue.terms]
        shared.sort(key=lambda t: -self._idf(t) * issue.terms[t])
        return shared[: self.settings.shared_terms_shown]

    def _embed(self, text: str) -> np.ndarray | None:
        if self.embedder is None:
            return None
        return np.asarray(self.embedder.embed([text])[0], dtype=np.float32)

    def observe(self, texts: Iterable[str]) -> None:
        """Count term frequencies from feedback that is in no open issue (history, triage).

        Only IDF weights change; a fresh deployment's first items otherwise all look
        equally informative.
        """
        for text in texts:
            self._df.update(self._terms(text))
            self._items += 1

    # -- changing --------------------------------------------------------------------------
    def add_item(
        self,
        issue_id: str,
        text: str,
        fingerprint: str | None = None,
        *,
        stage: str | None = None,
        vector: np.ndarray | None = None,
    ) -> None:
        """Record that an item joined ``issue_id`` (opening it in ``stage`` if new).

        ``vector`` passes an embedding already computed for this text (from ``place``'s
        caller), so the encoder runs once per item.
        """
        issue = self._issues.get(issue_id)
        if issue is None:
            if stage is None:
                raise ValueError(f"issue {issue_id!r} is not open here: give its stage to open it")
            issue = self._issues[issue_id] = _Issue(stage=stage)
        elif stage is not None and stage != issue.stage:
            raise ValueError(f"issue {issue_id!r} is in stage {issue.stage!r}, not {stage!r}")
        terms = self._terms(text)
        issue.size += 1
        postings = self._postings[issue.stage]
        for term in terms:
            issue.terms[term] += 1
            posting = postings.setdefault(term, {})
            posting.pop(issue_id, None)
            posting[issue_id] = None
        self._df.update(terms)
        self._items += 1
        self._renorm(issue)
        if fingerprint is not None:
            issue.fingerprints.add(fingerprint)
            self._fingerprints[(issue.stage, fingerprint)] = issue_id
        v = vector if vector is not None else self._embed(text)
        if v is not None:
            issue.vector_sum = v.copy() if issue.vector_sum is None else issue.vector_sum + v

    def _renorm(self, issue: _Issue) -> None:
        total = sum(((count / issue.size) * self._idf(term)) ** 2 for term, count in issue.terms.items())
        issue.norm = math.sqrt(total) or 1.0

    def remove_item(self, issue_id: str, text: str) -> None:
        """Take one item out of an issue (a split); the issue closes when it empties."""
        issue = self._issues[issue_id]
        terms = self._terms(text)
        postings = self._postings[issue.stage]
        for term in terms:
            left = issue.terms[term] - 1
            if left > 0:
                issue.terms[term] = left
            else:
                issue.terms.pop(term, None)
                postings.get(term, {}).pop(issue_id, None)
            self._df[term] -= 1
        self._items -= 1
        issue.size -= 1
        if issue.size > 0:
            self._renorm(issue)
        if issue.vector_sum is not None and self.embedder is not None:
            vector = self._embed(text)
            if vector is not None:
                issue.vector_sum = issue.vector_sum - vector
        if issue.size <= 0:
            self.close(issue_id)

    def merge(self, from_issue: str, into_issue: str) -> None:
        """Fold one open issue into another in the same stage; ``from_issue`` is closed."""
        if from_issue == into_issue:
            raise ValueError("cannot merge an issue into itself")
        source, target = self._issues[from_issue], self._issues[into_issue]
        if source.stage != target.stage:
            raise ValueError(f"issues are in different stages ({source.stage!r}, {target.stage!r})")
        postings = self._postings[target.stage]
        for term, count in source.terms.items():
            target.terms[term] += count
            posting = postings.setdefault(term, {})
            posting.pop(from_issue, None)
            posting.pop(into_issue, None)
            posting[into_issue] = None
        target.size += source.size
        self._renorm(target)
        for fp in source.fingerprints:
            self._fingerprints[(target.stage, fp)] = into_issue
        target.fingerprints |= source.fingerprints
        if source.vector_sum is not None:
            target.vector_sum = (
                source.vector_sum.copy()
                if target.vector_sum is None
                else target.vector_sum + source.vector_sum
            )
        del self._issues[from_issue]

    def close(self, issue_id: str) -> None:
        """Stop offering an issue to new items (fixed, declined, or emptied)."""
        issue = self._issues.pop(issue_id, None)
        if issue is None:
            return
        postings = self._postings[issue.stage]
        for term in issue.terms:
            posting = postings.get(term)
            if posting is not None:
                posting.pop(issue_id, None)
                if not posting:
                    del postings[term]
        for fp in issue.fingerprints:
            if self._fingerprints.get((issue.stage, fp)) == issue_id:
                del self._fingerprints[(issue.stage, fp)]

    # -- persistence -----------------------------------------------------------------------
    @classmethod
    def rebuild(
        cls,
        rows: Iterable[tuple[str, str, str, str | None]],
        settings: GroupingSettings | None = None,
        *,
        embedder: Embedder | None = None,
    ) -> GroupingIndex:
        """From (issue_id, stage, text, fingerprint) rows of open issues, oldest first."""
        index = cls(settings, embedder=embedder)
        for issue_id, stage, text, fingerprint in rows:
            index.add_item(issue_id, text, fingerprint, stage=stage)
        return index

    def to_state(self) -> dict[str, Any]:
        """JSON-ready snapshot (term profiles, not texts); embeddings are not included."""
        order = {issue_id: i for i, issue_id in enumerate(self._issues)}
        return {
            "settings": self.settings.model_dump(mode="json"),
            "items": self._items,
            "df": dict(self._df),
            "issues": [
                {
                    "id": issue_id,
                    "stage": issue.stage,
                    "size": issue.size,
                    "terms": dict(issue.terms),
                    "fingerprints": sorted(issue.fingerprints),
                    "norm": issue.norm,
                }
                for issue_id, issue in self._issues.items()
            ],
            "postings": {
                stage: {term: sorted(p, key=order.__getitem__) for term, p in terms.items()}
                for stage, terms in self._postings.items()
            },
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GroupingIndex:
        index = cls(GroupingSettings.model_validate(state["settings"]))
        index._items = int(state["items"])
        index._df = Counter({k: int(v) for k, v in state["df"].items()})
        for row in state["issues"]:
            issue = _Issue(stage=row["stage"], size=int(row["size"]), terms=Counter(row["terms"]))
            issue.norm = float(row.get("norm", 0.0))
            issue.fingerprints = set(row["fingerprints"])
            index._issues[row["id"]] = issue
            for fp in issue.fingerprints:
                index._fingerprints[(issue.stage, fp)] = row["id"]
        for stage, terms in state["postings"].items():
            index._postings[stage] = {term: dict.fromkeys(ids) for term, ids in terms.items()}
        for issue in index._issues.values():
            if issue.norm <= 0:
                index._renorm(issue)
        return index
