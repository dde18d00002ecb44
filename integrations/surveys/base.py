"""What a survey delivery becomes, and the declarative mapping that gets it there.

A verified delivery is turned into zero or more :class:`FeedbackDraft` objects by a vendor module's
``to_drafts(payload, mapping)``. The mapping is data (a :class:`FieldMapping`), so a CX admin can
point Seam at a different question without a code change, and a delivery that the mapping cannot
read raises :class:`MappingError` naming the path and why, so the service can quarantine it and
replay it once the mapping is fixed. Path syntax: see :mod:`integrations.surveys.paths`.

Pure code: no I/O, no clock, no database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, Protocol, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .paths import Path, PathSyntaxError, parse_path

Scale = Literal["nps", "csat", "ces"]
Kind = Literal["feedback", "contact"]
SCALE_RANGES: dict[str, tuple[float, float]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


class MappingError(Exception):
    """The mapping cannot read this payload. ``field_path`` is where in the payload, ``reason`` why.

    The reason starts with the draft field concerned ("score: expected a number, got string");
    payload values are not echoed, since free text can carry personal data.
    """

    def __init__(self, field_path: str, reason: str) -> None:
        super().__init__(f"{field_path}: {reason}")
        self.field_path = field_path
        self.reason = reason


class FetchError(Exception):
    """A follow-up fetch of a thin delivery failed. ``retryable`` tells the worker whether to retry."""

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class FeedbackDraft(BaseModel):
    """One feedback item (or one customer contact) made from a delivery, before the service stores it."""

    model_config = ConfigDict(extra="forbid")

    source: str
    external_id: str = Field(min_length=1)
    text: str | None = None
    score: float | None = None
    scale: Scale | None = None
    touchpoint: str | None = None
    customer_ref: str | None = None
    customer_email: str | None = None
    persona: str | None = None
    occurred_at: AwareDatetime
    metadata: dict[str, Any] = Field(default_factory=dict)
    kind: Kind = "feedback"

    @model_validator(mode="after")
    def _score_on_its_scale(self) -> Self:
        if (self.score is None) != (self.scale is None):
            raise ValueError("score and scale go together: both set or both empty")
        if self.score is not None and self.scale is not None:
            lo, hi = SCALE_RANGES[self.scale]
            if not lo <= self.score <= hi:
                raise ValueError(f"score {self.score} is outside the {self.scale} range {lo:g}-{hi:g}")
        return self


class FetchRef(BaseModel):
    """Where to fetch the answers of a thin delivery (SurveyMonkey, Qualtrics)."""

    survey_id: str
    response_id: str


class Delivery(BaseModel):
    """What the receiver needs to know about a delivery before mapping it.

    ``delivery_id`` dedupes the vendor's retries of one delivery; ``external_id`` (when the envelope
    names it) is the item's upsert key, which can be shared by several deliveries (Delighted sends
    created then updated for one response). ``action``: ``map`` = the payload carries the item,
    ``fetch`` = fetch ``fetch`` first and map the fetched JSON, ``ignore`` = nothing to make.
    """

    kind: str
    delivery_id: str = Field(min_length=1)
    event_type: str
    external_id: str | None = None
    action: Literal["map", "fetch", "ignore"]
    fetch: FetchRef | None = None


# --- the declarative mapping ---------------------------------------------------------------

PathList = tuple[str, ...]
PATH_FIELDS = (
    "external_id",
    "occurred_at",
    "text",
    "score",
    "scale_path",
    "customer_ref",
    "customer_email",
    "persona",
    "touchpoint",
)
_DEFAULTABLE = ("text", "touchpoint", "persona", "customer_ref", "customer_email")


@lru_cache(maxsize=4096)
def parsed_path(text: str) -> Path:
    return parse_path(text)


def _check_paths(value: Any, where: str) -> PathList | None:
    if value is None:
        return None
    if isinstance(value, str):
        items: tuple[Any, ...] = (value,)
    elif isinstance(value, list | tuple):
        items = tuple(value)
    else:
        # tuple(5) would raise TypeError, which pydantic does not turn into a validation error.
        raise ValueError(f"{where}: expected a path or a list of paths")
    if not items:
        raise ValueError(f"{where}: give at least one path")
    for text in items:
        if not isinstance(text, str):
            raise ValueError(f"{where}: paths must be strings")
        try:
            parsed_path(text)
        except PathSyntaxError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return items


class FieldMapping(BaseModel):
    """Which parts of a payload make which draft fields.

    Every path field takes one path or a list of paths; the first that is present wins. ``scale``
    is a constant; ``scale_path`` reads it from the payload instead (through ``scale_values`` when
    the vendor's words differ from ours; a value mapped to ``null`` means "no scale we track": the
    score then goes to metadata). ``score_values`` turns worded answers into numbers (Zendesk
    ``good`` -> 5); matching ignores case. ``defaults`` are constants used when a path finds
    nothing. ``require`` lists fields whose absence must quarantine the delivery. A feedback
    draft always needs text or a score.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: PathList
    occurred_at: PathList
    text: PathList | None = None
    score: PathList | None = None
    scale: Scale | None = None
    scale_path: PathList | None = None
    scale_values: dict[str, Scale | None] = Field(default_factory=dict)
    score_values: dict[str, float] = Field(default_factory=dict)
    customer_ref: PathList | None = None
    customer_email: PathList | None = None
    persona: PathList | None = None
    touchpoint: PathList | None = None
    metadata: dict[str, PathList] = Field(default_factory=dict)
    defaults: dict[str, str] = Field(default_factory=dict)
    require: tuple[str, ...] = ()
    kind: Kind = "feedback"

    @field_validator(*PATH_FIELDS, mode="before")
    @classmethod
    def _paths(cls, value: Any, info: ValidationInfo) -> PathList | None:
        return _check_paths(value, str(info.field_name))

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_paths(cls, value: Any) -> dict[str, PathList]:
        if not isinstance(value, Mapping):
            raise ValueError("metadata: expected an object of name -> path")
        out: dict[str, PathList] = {}
        for name, paths in value.items():
            checked = _check_paths(paths, f"metadata.{name}")
            if checked is None:
                raise ValueError(f"metadata.{name}: path is empty")
            out[str(name)] = checked
        return out

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.score is not None and self.scale is None and self.scale_path is None:
            raise ValueError("scale: a score needs a scale (nps, csat or ces) or a scale_path")
        if self.scale_values and self.scale_path is None:
            raise ValueError("scale_values: only meaningful with scale_path")
        for name in self.defaults:
            if name not in _DEFAULTABLE:
                raise ValueError(f"defaults.{name}: only {', '.join(_DEFAULTABLE)} take a default")
        for name in self.require:
            if name not in (*PATH_FIELDS, "scale"):
                raise ValueError(f"require: {name!r} is not a mapping field")
        for word, number in self.score_values.items():
            if not math.isfinite(number):
                raise ValueError(f"score_values.{word}: must be a finite number")
        return self

    def with_overrides(self, overrides: Mapping[str, Any]) -> FieldMapping:
        """A per-source mapping: these fields replace the defaults' (whole fields, not merged)."""
        return FieldMapping.model_validate({**self.model_dump(), **dict(overrides)})


class SurveyKind(Protocol):
    """What every vendor module offers (the modules themselves implement it)."""

    KIND: str
    DEFAULT_MAPPING: FieldMapping

    def parse_body(self, body: bytes) -> dict[str, Any]: ...

    def verify(
        self, body: bytes, headers: Mapping[str, str], secret: str, now: datetime, *, token: str | None = None
    ) -> None: ...

    def delivery_id(self, headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> str: ...

    def describe(self, headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> Delivery: ...

    def to_drafts(self, payload: Mapping[str, Any], mapping: FieldMapping = ...) -> list[FeedbackDraft]: ...
