"""Jira Cloud REST v3 adapter (Basic auth `email:api_token`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx
from pydantic import Field, SecretStr

from integrations import http
from integrations.base import (
    TERMINAL_CATEGORIES,
    Category,
    InboundEvent,
    PermanentError,
    RetryableError,
    TicketDescription,
    TicketDraft,
    TicketRef,
    TicketState,
    TicketUpdate,
    TransitionTarget,
    Vendor,
    key_label,
    normalise_label,
    seam_label,
)
from integrations.jira import adf, webhook

logger = logging.getLogger("integrations.jira")

DEFAULT_RESOLUTIONS: dict[str, Category] = {
    "Done": "done",
    "Fixed": "done",
    "Won't Do": "wont_do",
    "Won't Fix": "wont_do",
    "Duplicate": "duplicate",
    "Cannot Reproduce": "cannot_reproduce",
}
DEFAULT_PRIORITIES = {"urgent": "Highest", "high": "High", "normal": "Medium", "low": "Low"}
# statusCategory.key is fixed across sites and languages; status names are not.
_CATEGORY_BY_STATUS_KEY: dict[str, Category] = {
    "new": "open",
    "undefined": "open",
    "indeterminate": "in_progress",
}
_TARGET_STATUS_KEY = {"done": "done", "wont_do": "done", "in_progress": "indeterminate", "reopen": "new"}
_STATE_FIELDS = "status,resolution,updated,labels"


def _fold(name: str) -> str:
    return name.replace("\u2019", "'").strip().casefold()


class JiraConfig(http.ClientConfig):
    reopen_transition: str | None = Field(
        default=None, description="id or name of the reopen transition; default: any transition to 'new'"
    )
    done_resolution: str = "Done"
    wont_do_resolution: str = "Won't Do"
    resolution_categories: dict[str, Category] = Field(default_factory=lambda: dict(DEFAULT_RESOLUTIONS))
    priority_names: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    # Jira has no public/internal comment flag outside Service Management; restrict by role if asked.
    internal_comment_role: str | None = None
    # JQL search lags behind writes. After an ambiguous create we ask the caller to wait at least this
    # long, so the label lookup on the retry can see the issue if it was created.
    search_index_lag_seconds: float = Field(default=30.0, ge=0, le=3600)
    webhook_secret: SecretStr | None = None


class JiraTracker:
    vendor: Vendor = "jira"

    def __init__(self, config: JiraConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._client = http.build_client(
            config, http.SecretBasicAuth(config.email, config.api_token), transport=transport
        )
        self._resolutions = {_fold(k): v for k, v in config.resolution_categories.items()}

    def __repr__(self) -> str:
        return f"JiraTracker(base_url={self.config.base_url!r})"

    async def __aenter__(self) -> JiraTracker:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await http.send(self._client, "jira", method, path, **kwargs)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return await http.send_json(self._client, "jira", method, path, **kwargs)

    def _ref(self, issue_id: str, key: str) -> TicketRef:
        return TicketRef(vendor="jira", id=issue_id, key=key, url=f"{self.config.base_url}/browse/{key}")

    # --- create / find ----------------------------------------------------------------------

    async def create(self, draft: TicketDraft, idempotency_key: str) -> TicketRef:
        # Jira has no idempotency key: the per-request label we set below is what makes a retry safe.
        request_label = key_label(idempotency_key)
        existing = await self._find_by_label(request_label)
        if existing is not None:
            logger.info("jira create %s: already exists as %s", idempotency_key, existing.key)
            return existing
        if not draft.target.project_key:
            raise PermanentError("jira create: target.project_key is required")
        ours = [seam_label(draft.seam_issue_id), request_label]
        labels = list(dict.fromkeys([*ours, *map(normalise_label, draft.labels)]))
        fields: dict[str, Any] = {
            "project": {"key": draft.target.project_key},
            "issuetype": {"name": draft.target.issue_type},
            "summary": draft.summary,
            "description": adf.description_doc(draft.seam_issue_id, draft.description),
            "labels": [label for label in labels if label],
        }
        if draft.priority:
            fields["priority"] = {"name": self.config.priority_names.get(draft.priority, draft.priority)}
        if draft.due_date:
            fields["duedate"] = draft.due_date.isoformat()
        body = {"fields": fields, "properties": [{"key": "seam", "value": {"issue_id": draft.seam_issue_id}}]}
        try:
            data = await self._json("POST", "/rest/api/3/issue", json_body=body)
        except RetryableError as exc:
            if exc.retry_after is None and (exc.status is None or exc.status >= 500):
                # No answer, or a 5xx without advice: the issue may exist but not be searchable
                # yet, and retrying at once could create a second one.
                exc.retry_after = self.config.search_index_lag_seconds
            raise
        return self._ref(str(data["id"]), str(data["key"]))

    async def find_by_seam_id(self, seam_issue_id: str) -> TicketRef | None:
        return await self._find_by_label(seam_label(seam_issue_id))

    async def _find_by_label(self, label: str) -> TicketRef | None:
        # The label is normalised to [a-z0-9_.-], so quoting it cannot break the JQL.
        body = {"jql": f'labels = "{label}" ORDER BY created ASC', "fields": ["created"], "maxResults": 10}
        data = await self._json("POST", "/rest/api/3/search/jql", json_body=body)
        issues = data.get("issues") or []
        if not issues:
            return None
        if len(issues) > 1:
            logger.warning("jira: %d issues carry label %s; using the oldest", len(issues), label)
        oldest = min(issues, key=lambda issue: int(issue["id"]))
        return self._ref(str(oldest["id"]), str(oldest.get("key") or oldest["id"]))

    # --- read -------------------------------------------------------------------------------

    async def get(self, ref: TicketRef) -> TicketState:
        # By numeric id: a moved issue keeps its id but not its key.
        data = await self._json("GET", f"/rest/api/3/issue/{ref.id}", params={"fields": _STATE_FIELDS})
        return self.state_from_fields(self._ref(str(data["id"]), str(data["key"])), data.get("fields") or {})

    def state_from_fields(self, ref: TicketRef, fields: Mapping[str, Any]) -> TicketState:
        status = fields.get("status") or {}
        status_key = str((status.get("statusCategory") or {}).get("key") or "undefined")
        resolution = (fields.get("resolution") or {}).get("name")
        if status_key == "done":
            category: Category = self._resolutions.get(_fold(resolution or ""), "done")
        else:
            category = _CATEGORY_BY_STATUS_KEY.get(status_key, "open")
        return TicketState(
            ref=ref,
            status=str(status.get("name") or status_key),
            category=category,
            resolution=resolution,
            updated_at=webhook.parse_jira_datetime(fields.get("updated")),
        )

    # --- write ------------------------------------------------------------------------------

    async def update(self, ref: TicketRef, fields: TicketUpdate) -> None:
        changes: dict[str, Any] = {}
        if fields.summary is not None:
            changes["summary"] = fields.summary
        if fields.description is not None:
            changes["description"] = adf.description_doc(None, fields.description)
        if fields.priority is not None:
            changes["priority"] = {"name": self.config.priority_names.get(fields.priority, fields.priority)}
        if fields.due_date is not None:
            changes["duedate"] = fields.due_date.isoformat()
        body: dict[str, Any] = {}
        if changes:
            body["fields"] = changes
        if fields.add_labels:
            # `update` ops add labels without replacing ours; a field may not be in both sections.
            body["update"] = {"labels": [{"add": normalise_label(label)} for label in fields.add_labels]}
        if body:
            await self._send("PUT", f"/rest/api/3/issue/{ref.id}", json_body=body)

    async def comment(self, ref: TicketRef, body: str | TicketDescription, public: bool) -> None:
        doc = adf.plain_doc(body) if isinstance(body, str) else adf.description_doc(None, body)
        payload: dict[str, Any] = {"body": doc}
        if not public and self.config.internal_comment_role:
            payload["visibility"] = {"type": "role", "value": self.config.internal_comment_role}
        await self._send("POST", f"/rest/api/3/issue/{ref.id}/comment", json_body=payload)

    async def transition(self, ref: TicketRef, to: TransitionTarget) -> None:
        current = await self.get(ref)
        if _already_there(current.category, to):
            logger.info("jira transition %s -> %s: already %s", current.ref.key, to, current.category)
            return
        path = f"/rest/api/3/issue/{ref.id}/transitions"
        data = await self._json("GET", path, params={"expand": "transitions.fields"})
        chosen = self._choose_transition(data.get("transitions") or [], to)
        if chosen is None:
            raise PermanentError(f"jira: no transition to {to!r} from status {current.status!r}", status=None)
        body: dict[str, Any] = {"transition": {"id": str(chosen["id"])}}
        if to in ("done", "wont_do") and "resolution" in (chosen.get("fields") or {}):
            name = self.config.done_resolution if to == "done" else self.config.wont_do_resolution
            body["fields"] = {"resolution": {"name": name}}
        elif to == "wont_do":
            logger.warning(
                "jira: transition %s has no resolution field; won't-do reads as done", chosen["id"]
            )
        await self._send("POST", path, json_body=body)

    def _choose_transition(
        self, transitions: list[dict[str, Any]], to: TransitionTarget
    ) -> dict[str, Any] | None:
        if to == "reopen" and self.config.reopen_transition:
            wanted = _fold(self.config.reopen_transition)
            for item in transitions:
                if (
                    str(item.get("id")) == self.config.reopen_transition
                    or _fold(str(item.get("name"))) == wanted
                ):
                    return item
            return None
        target_key = _TARGET_STATUS_KEY[to]
        for item in transitions:
            category = ((item.get("to") or {}).get("statusCategory") or {}).get("key")
            if category == target_key and item.get("isAvailable", True):
                return item
        return None

    # --- inbound ----------------------------------------------------------------------------

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, secret: SecretStr | str, now: datetime
    ) -> InboundEvent:
        # `now` is unused: Jira signs no timestamp, so replay protection is dedupe on the delivery id.
        return webhook.parse(
            headers, body, secret, base_url=self.config.base_url, to_state=self.state_from_fields
        )


def _already_there(category: Category, to: TransitionTarget) -> bool:
    if to in ("done", "wont_do"):
        return category in TERMINAL_CATEGORIES
    if to == "reopen":
        return category not in TERMINAL_CATEGORIES
    return category == "in_progress"
