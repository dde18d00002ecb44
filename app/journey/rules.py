"""Ordered routing rules: conditions on an item's fields and text, first match wins."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import re2
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from app.core.text import normalise

MetadataValue = str | int | float | bool
_CONDITION_FIELDS = (
    "source",
    "touchpoint",
    "persona",
    "metadata",
    "score_min",
    "score_max",
    "contains_any",
    "contains_all",
    "regex",
)


@dataclass(frozen=True)
class RoutableItem:
    """The parts of a feedback item that routing may look at."""

    text: str
    source: str | None = None
    touchpoint: str | None = None
    persona: str | None = None
    score: float | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def normalised(self) -> str:
        # Every word rule of the journey matches against it: normalised once per item, not per rule.
        return normalise(self.text)


def _word_pattern(words: Sequence[str]) -> re.Pattern[str]:
    # Lookarounds instead of \b so phrases that start or end with punctuation
    # ("e-mail", "c++") still match on word boundaries.
    alternatives = "|".join(re.escape(normalise(w)) for w in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _message(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _linear(pattern: str) -> Any:
    """Rule regexes run with RE2: matching time grows linearly with the text, whatever the pattern
    (Python's engine backtracks: `^(a+)+$` takes exponential time on "aaaa…b")."""
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 8 << 20  # a pattern that needs more than this to compile is refused
    return re2.compile(pattern, options)


class Rule(BaseModel):
    """One routing rule; at least one condition is required.

    Text conditions are case-insensitive and match whole words or phrases on the
    normalised text (apostrophes removed, so write "hasnt" or "hasn't" alike).
    ``fingerprint`` may use ``{field}`` placeholders filled from the item's metadata
    (and ``{source}``, ``{touchpoint}``, ``{persona}``) so one rule can group per order,
    per product and so on.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    source: list[str] | None = None
    touchpoint: list[str] | None = None
    persona: list[str] | None = None
    metadata: dict[str, MetadataValue | list[MetadataValue]] | None = None
    score_min: float | None = None
    score_max: float | None = None
    contains_any: list[str] | None = None
    contains_all: list[str] | None = None
    regex: str | None = None

    stage: str = Field(min_length=1)
    moment: str | None = None
    fingerprint: str | None = None
    # The items this rule places open an experience issue at once (no evidence gathering first).
    open_at_once: bool = False

    _any: re.Pattern[str] | None = PrivateAttr(default=None)
    _all: tuple[re.Pattern[str], ...] = PrivateAttr(default=())
    _regex: Any = PrivateAttr(default=None)  # a compiled RE2 pattern

    @field_validator("source", "touchpoint", "persona")
    @classmethod
    def _non_empty_list(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not v for v in value)):
            raise ValueError("must be a non-empty list of non-empty values")
        return value

    @field_validator("contains_any", "contains_all")
    @classmethod
    def _non_empty_words(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("must list at least one word")
        blank = [w for w in value if not normalise(w)]
        if blank:
            raise ValueError("words must not be blank")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata_conditions(
        cls, value: dict[str, MetadataValue | list[MetadataValue]] | None
    ) -> dict[str, MetadataValue | list[MetadataValue]] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("must name at least one field")
        for key, expected in value.items():
            if isinstance(expected, list) and not expected:
                raise ValueError(f"field {key!r} must list at least one allowed value")
        return value

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value:
            raise ValueError("must not be empty")
        try:
            _linear(value)
        except re2.error as exc:
            raise ValueError(
                f"is not a regular expression RE2 accepts ({_message(exc)}); backreferences and lookarounds "
                "are not supported, so that matching takes linear time"
            ) from exc
        return value

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint_template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.strip():
            raise ValueError("must not be blank")
        try:
            parts = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value)]
        except ValueError as exc:
            raise ValueError(f"is not a valid template: {exc}") from exc
        for name, spec, conversion in parts:
            if name is None:
                continue
            # A format spec ({order_id:d}) or conversion ({x!r}) fails on values of another type, at
            # ingest, for a whole batch: only plain names are allowed.
            if not name.isidentifier() or spec or conversion:
                raise ValueError("placeholders must be plain field names like {order_id}")
        return value

    @model_validator(mode="after")
    def _conditions(self) -> Rule:
        if all(getattr(self, name) is None for name in _CONDITION_FIELDS):
            raise ValueError(f"rule {self.id!r} has no condition: set one of {', '.join(_CONDITION_FIELDS)}")
        if self.score_min is not None and self.score_max is not None and self.score_min > self.score_max:
            raise ValueError(f"score_min ({self.score_min}) is greater than score_max ({self.score_max})")
        return self

    def model_post_init(self, context: Any, /) -> None:
        # Compiled once here; matching a stream of items must not recompile.
        if self.contains_any:
            self._any = _word_pattern(self.contains_any)
        if self.contains_all:
            self._all = tuple(_word_pattern([w]) for w in self.contains_all)
        if self.regex:
            self._regex = _linear(self.regex)

    def matches(self, item: RoutableItem) -> bool:
        if self.source is not None and item.source not in self.source:
            return False
        if self.touchpoint is not None and item.touchpoint not in self.touchpoint:
            return False
        if self.persona is not None and item.persona not in self.persona:
            return False
        if self.metadata is not None and not _metadata_matches(self.metadata, item.metadata):
            return False
        if self.score_min is not None or self.score_max is not None:
            if item.score is None:
                return False
            if self.score_min is not None and item.score < self.score_min:
                return False
            if self.score_max is not None and item.score > self.score_max:
                return False
        if self._any is not None or self._all:
            text = item.normalised
            if self._any is not None and not self._any.search(text):
                return False
            if not all(p.search(text) for p in self._all):
                return False
        # The regex sees the original text: authors write patterns for what customers typed.
        return not (self._regex is not None and not self._regex.search(item.text))

    def fingerprint_for(self, item: RoutableItem) -> str | None:
        """The rule's fingerprint with placeholders filled, or None if a field is missing."""
        if self.fingerprint is None:
            return None
        values: dict[str, Any] = {
            "source": item.source,
            "touchpoint": item.touchpoint,
            "persona": item.persona,
            **item.metadata,
        }
        try:
            filled = self.fingerprint.format_map(_Strict(values))
        except (KeyError, ValueError, TypeError):
            return None
        return f"{self.id}:{filled}"


class _Strict(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        raise KeyError(key)

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if value is None:
            raise KeyError(key)
        return value


def _metadata_matches(
    conditions: Mapping[str, MetadataValue | list[MetadataValue]], metadata: Mapping[str, Any]
) -> bool:
    for key, expected in conditions.items():
        if key not in metadata:
            return False
        actual = metadata[key]
        allowed = expected if isinstance(expected, list) else [expected]
        # Metadata usually arrives as JSON strings from survey tools, so "5" must match 5.
        if actual not in allowed and str(actual) not in {str(a) for a in allowed}:
            return False
    return True


def first_match(rules: Sequence[Rule], item: RoutableItem) -> Rule | None:
    """The first rule, in order, whose conditions all hold for the item."""
    for rule in rules:
        if rule.matches(item):
            return rule
    return None
