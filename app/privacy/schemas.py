"""Customers' export and erasure in and out of the API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.types_api import ApiModel


class CustomerIn(ApiModel):
    # hide_input_in_errors: the reference is personal data, and an error never echoes it.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    customer_ref: str = Field(
        min_length=1, max_length=200, description="The customer reference their feedback carries."
    )

    @field_validator("customer_ref")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class CustomerExport(BaseModel):
    customer_ref: str
    exported_at: str
    items: list[dict[str, Any]] = Field(
        description="Their feedback: text, score, metadata, placement, issue."
    )
    issues: list[dict[str, Any]] = Field(description="The issues their feedback counts on: id, title, state.")
    notices: list[dict[str, Any]] = Field(description="The fix notices sent to them.")
    answers: list[dict[str, Any]] = Field(description="Their answers to those notices.")
    inbox_deliveries: list[dict[str, Any]] = Field(description="Raw webhook deliveries naming them.")
    outbox_messages: list[dict[str, Any]] = Field(description="Emails and comments to them, sent or queued.")
    elsewhere: dict[str, list[dict[str, Any]]] = Field(
        description="Other rows naming them, per table (issue history, audit, stored responses...)."
    )


class ErasureOut(BaseModel):
    found: int = Field(description="Rows changed or removed; 0 when nothing named this customer (any more).")
    items: int = Field(description="Their feedback items, kept anonymised under a pseudonym.")
    tables: dict[str, int] = Field(description="Rows per table.")
    issues_recounted: list[int] = Field(description="Issues whose counts were rebuilt from their items.")
