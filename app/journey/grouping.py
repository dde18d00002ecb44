"""The journey file's `routing.grouping:` section: how similar an item must be to join an open issue."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field


class GroupingSettings(BaseModel):
    """Versioned: store ``version`` on each membership; a change affects new items only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Chosen on BANKING77 train.csv grouping runs (lexical) and dev.csv (embedding); see
    # docs/benchmarks.md (routing). Embedding cosines run much higher than lexical ones, hence two.
    threshold: float = Field(default=0.1, ge=0, le=1)
    embedding_threshold: float = Field(default=0.55, ge=0, le=1)
    bigrams: bool = True
    max_query_terms: int = Field(default=10, ge=1)
    postings_per_term: int = Field(default=24, ge=1)
    max_candidates: int = Field(default=24, ge=1)
    # Share of the score from the embedding centroid when an embedder is supplied.
    embedding_weight: float = Field(default=0.85, ge=0, le=1)
    shared_terms_shown: int = Field(default=5, ge=0)
    # With the sentence encoder (the default install), an item joins the group of its stage and moment
    # with the highest *average* similarity to its members, at or above the stage's threshold. Each
    # stage's threshold is calibrated from its own feedback without labels (`app.routing.thresholds`):
    # the tightest one that puts `coverage_target` of the items into groups of at least `min_group`,
    # with at most `max_groups_per_100` such groups per 100 items; people's merges and splits then move
    # it. `vector_threshold` fixes one value for every stage instead.
    vector_threshold: float | None = Field(default=None, ge=0, le=1)
    coverage_target: float = Field(default=0.85, gt=0, le=1)
    min_group: int = Field(default=3, ge=2, le=100)
    max_groups_per_100: float = Field(default=15.0, gt=0, le=100)

    @property
    def version(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]
