"""Data of the Jira stand-in: its workflow, the Issue record, ADF checks and the JSON representations
(REST v3 for the API, v2 for webhooks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Status id -> (name, statusCategory). Names are deliberately not the category names a client might
# guess: adapters must choose transitions by category key.
STATUSES = {"10000": ("Backlog", "new"), "3": ("Doing", "indeterminate"), "10002": ("Shipped", "done")}
CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
RESOLUTIONS = {"10000": "Done", "10001": "Won't Do", "10002": "Duplicate", "10003": "Cannot Reproduce"}
# id -> (name, from statuses, to status, resolution on the transition screen)
TRANSITIONS = {
    "11": ("Back to backlog", {"3"}, "10000", False),
    "21": ("Start work", {"10000"}, "3", False),
    "31": ("Ship it", {"10000", "3"}, "10002", True),
    "41": ("Reopen", {"10002"}, "10000", False),
}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
ISSUE_TYPES = {"Task": "10001", "Bug": "10004"}


def stamp(when: datetime) -> str:
    """Jira's own timestamp style: `2026-11-22T17:50:00.120+0000`."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def adf_problem(value: Any) -> str | None:
    """Why `value` is not an ADF document Jira would accept, or None."""
    if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version") != 1:
        return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    if not isinstance(value.get("content"), list):
        return "ADF document needs a content array"
    stack = list(value["content"])
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return "ADF node without a type"
        if node["type"] == "text" and not (isinstance(node.get("text"), str) and node["text"]):
            return "ADF text nodes must have non-empty text"
        stack.extend(node.get("content") or [])
    return None


@dataclass
class Issue:
    id: str
    key: str
    project: str
    issuetype: str
    summary: str
    description: dict[str, Any] | None
    labels: list[str]
    priority: str | None
    duedate: str | None
    properties: dict[str, Any]
    status: str = "10000"
    resolution: str | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    old_keys: list[str] = field(default_factory=list)


def status_json(base: str, status_id: str, api: str = "3") -> dict[str, Any]:
    name, category = STATUSES[status_id]
    cat = {
        **CATEGORIES[category],
        "self": f"{base}/rest/api/{api}/statuscategory/{CATEGORIES[category]['id']}",
    }
    return {
        "self": f"{base}/rest/api/{api}/status/{status_id}",
        "id": status_id,
        "name": name,
        "description": "",
        "iconUrl": f"{base}/",
        "statusCategory": cat,
    }


def fields_json(
    base: str, project_id: str, issue: Issue, wanted: list[str] | None, api: str = "3"
) -> dict[str, Any]:
    resolution = None
    if issue.resolution:
        rid = next(k for k, v in RESOLUTIONS.items() if v == issue.resolution)
        resolution = {
            "self": f"{base}/rest/api/{api}/resolution/{rid}",
            "id": rid,
            "name": issue.resolution,
            "description": "",
        }
    priority = {"name": issue.priority, "id": PRIORITIES[issue.priority]} if issue.priority else None
    all_fields = {
        "summary": issue.summary,
        "status": status_json(base, issue.status, api),
        "resolution": resolution,
        "resolutiondate": stamp(issue.updated) if resolution else None,
        "labels": list(issue.labels),
        "priority": priority,
        "duedate": issue.duedate,
        "issuetype": {"id": ISSUE_TYPES[issue.issuetype], "name": issue.issuetype},
        "project": {"id": project_id, "key": issue.project, "name": issue.project},
        "description": issue.description,
        "created": stamp(issue.created),
        "updated": stamp(issue.updated),
    }
    if wanted is None or "*all" in wanted:
        return all_fields
    return {name: all_fields[name] for name in wanted if name in all_fields}


def transitions_json(base: str, issue: Issue, with_fields: bool) -> list[dict[str, Any]]:
    out = []
    for tid, (name, sources, target, resolution_screen) in TRANSITIONS.items():
        if issue.status not in sources:
            continue
        item: dict[str, Any] = {
            "id": tid,
            "name": name,
            "to": status_json(base, target),
            "hasScreen": resolution_screen,
            "isGlobal": False,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
        }
        if with_fields:
            item["fields"] = {}
            if resolution_screen:
                item["fields"]["resolution"] = {
                    "required": False,
                    "name": "Resolution",
                    "key": "resolution",
                    "operations": ["set"],
                    "schema": {"type": "resolution", "system": "resolution"},
                    "allowedValues": [{"id": k, "name": v} for k, v in RESOLUTIONS.items()],
                }
        out.append(item)
    return out


def webhook_payload(
    base: str, project_id: str, issue: Issue, before: tuple[str, str | None], changelog_id: int
) -> dict[str, Any]:
    """A `jira:issue_updated` delivery in the REST v2 shape Jira uses for webhooks."""
    fields = fields_json(base, project_id, issue, None, api="2")
    fields["description"] = "(plain text in v2 webhooks)"
    items: list[dict[str, Any]] = []
    if before[1] != issue.resolution:
        items.append(
            {
                "field": "resolution",
                "fieldtype": "jira",
                "fieldId": "resolution",
                "from": None,
                "fromString": before[1],
                "to": None,
                "toString": issue.resolution,
            }
        )
    items.append(
        {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": before[0],
            "fromString": STATUSES[before[0]][0],
            "to": issue.status,
            "toString": STATUSES[issue.status][0],
        }
    )
    return {
        "timestamp": int(issue.updated.timestamp() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Stand-in"},
        "issue": {
            "id": issue.id,
            "key": issue.key,
            "self": f"{base}/rest/api/2/issue/{issue.id}",
            "fields": fields,
        },
        "changelog": {"id": str(changelog_id), "items": items},
    }
