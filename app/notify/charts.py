"""A chart in a message, as data: what the outbox row stores. The PNG is drawn from it when the message
is delivered (`app.notify.chart_images`), so the queued payload stays small JSON and the same data always
draws the same image. The HTML refers to it as `cid:<cid>`; its numbers are always printed beside it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_POINTS = 60
_CID = re.compile(r"[A-Za-z0-9._-]{1,100}@seam")


class Chart(BaseModel):
    # NaN and infinities cannot be stored in a JSONB payload nor drawn.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    cid: str = Field(description="content id, e.g. 'trend.pay@seam'; the HTML shows it as cid:<cid>")
    kind: Literal["line", "bars"]
    title: str = Field(max_length=200, description="the image's alt text")
    labels: list[str] = Field(max_length=MAX_POINTS, description="one per value, oldest first")
    values: list[float | None] = Field(max_length=MAX_POINTS)
    lows: list[float | None] = Field(default_factory=list, max_length=MAX_POINTS)
    highs: list[float | None] = Field(default_factory=list, max_length=MAX_POINTS)
    low: float | None = Field(default=None, description="bottom of the axis; default: the data's")
    high: float | None = Field(default=None, description="top of the axis; default: the data's")

    @field_validator("cid")
    @classmethod
    def _cid(cls, value: str) -> str:
        if not _CID.fullmatch(value):
            raise ValueError("cid must look like name@seam")
        return value

    @model_validator(mode="after")
    def _lengths(self) -> Chart:
        n = len(self.values)
        if (
            len(self.labels) != n
            or (self.lows and len(self.lows) != n)
            or (self.highs and len(self.highs) != n)
        ):
            raise ValueError("labels, values, lows and highs must be as long as each other")
        return self

    @property
    def drawable(self) -> bool:
        return any(v is not None for v in self.values)


def cid_name(text: str) -> str:
    """A content-id-safe slug of a key (stage keys, metric names)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60]
    return slug or "x"
