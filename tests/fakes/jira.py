"""A stateful Jira Cloud REST v3 stand-in: issues, a small workflow, comments, labels, properties,
JQL search on labels, moves between projects, and signed admin webhooks."""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from openapi_core import OpenAPI

from tests.fakes import openapi, webhooks
from tests.fakes.server import Reply, Request, StandIn

# Status id -> (name, statusCategory). Names are deliberately not the category names a client might
# guess: adapters must choose transitions by category key.
STATUSES = {"10000": ("Backlog", "new"), "3": ("Doing", "indeterminate"), "10002": ("Shipped", "done")}
CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
RESOLUTIONS = {"10000": "Done", "10001": "Won't Do", "10002": "Duplicate", "10003": "Cannot Reproduce"}
# id -> (name, from statuses, to status, resolution on screen)
TRANSITIONS = {
    "11": ("Back to backlog", {"3"}, "10000", False),
    "21": ("Start work", {"10000"}, "3", False),
    "31": ("Ship it", {"10000", "3"}, "10002", True),
    "41": ("Reopen", {"10002"}, "10000", False),
}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
ISSUE_TYPES = {"Task": "10001", "Bug": "10004"}
_ISSUE_PATH = re.compile(r"^/rest/api/3/issue/([^/]+)(/transitions|/comment)?$")
_JQL_CLAUSE = re.compile(r'^\s*(labels|project|key|id)\s*=\s*"?([^"\s]+)"?\s*$', re.IGNORECASE)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def _errors(status: int, messages: list[str] | None = None, fields: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"errorMessages": messages or [], "errors": fields or {}})


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


class JiraStandIn(StandIn):
    spec_host = openapi.JIRA_SPEC_HOST

    def __init__(self, email: str = "bot@example.com", api_token: str = "jira-token-s3cret") -> None:
        super().__init__()
        self.email, self.api_token = email, api_token
        self.projects = {"CX": "10000", "OPS": "10001"}
        self.issues: dict[str, Issue] = {}
        self._counters: dict[str, int] = {}
        self._next_id = 10000
        self.resolve_old_keys = False  # real Jira redirects old keys; off so tests prove lookup by id
        self.webhook_url: str | None = None
        self.webhook_secret = ""
        self.delivered: list[tuple[dict[str, str], bytes]] = []
        self._pending_webhook: dict[str, Any] | None = None

    def spec(self) -> OpenAPI:
        return openapi.jira_spec()

    def spec_violation_reply(self, errors: list[str], security: bool) -> Reply:
        return _errors(401 if security else 400, [f"spec violation: {e}" for e in errors])

    # --- test-side helpers (thread-safe) ----------------------------------------------------

    def find(self, id_or_key: str) -> Issue | None:
        with self.lock:
            for issue in self.issues.values():
                if id_or_key in (issue.id, issue.key) or (
                    self.resolve_old_keys and id_or_key in issue.old_keys
                ):
                    return issue
        return None

    def with_label(self, label: str) -> list[Issue]:
        with self.lock:
            return [i for i in self.issues.values() if label in i.labels]

    def move_issue(self, id_or_key: str, project: str) -> str:
        """Move to another project: new key, same id (what Jira does on a move)."""
        with self.lock:
            issue = self._must(id_or_key)
            self.projects.setdefault(project, str(10000 + len(self.projects)))
            issue.old_keys.append(issue.key)
            issue.project, issue.key = project, self._new_key(project)
            issue.updated = datetime.now(UTC)
            return issue.key

    def set_status(self, id_or_key: str, status_name: str, resolution: str | None = None) -> dict[str, Any]:
        """A person changes the status in Jira's UI. Returns the webhook payload (also sent if subscribed)."""
        with self.lock:
            issue = self._must(id_or_key)
            status_id = next(sid for sid, (name, _) in STATUSES.items() if name == status_name)
            before = (issue.status, issue.resolution)
            issue.status = status_id
            issue.resolution = resolution if STATUSES[status_id][1] == "done" else None
            issue.updated = datetime.now(UTC)
            payload = self.webhook_payload(issue, before)
        self._deliver(payload)
        return payload

    def subscribe(self, url: str, secret: str) -> None:
        self.webhook_url, self.webhook_secret = url, secret

    def webhook_payload(self, issue: Issue, before: tuple[str, str | None]) -> dict[str, Any]:
        """A `jira:issue_updated` delivery in the REST v2 shape Jira uses for webhooks."""
        fields = self._fields(issue, None, api="2")
        fields["description"] = "(plain text in v2 webhooks)"
        items = [
            {
                "field": "status",
                "fieldtype": "jira",
                "fieldId": "status",
                "from": before[0],
                "fromString": STATUSES[before[0]][0],
                "to": issue.status,
                "toString": STATUSES[issue.status][0],
            }
        ]
        if before[1] != issue.resolution:
            items.insert(
                0,
                {
                    "field": "resolution",
                    "fieldtype": "jira",
                    "fieldId": "resolution",
                    "from": None,
                    "fromString": before[1],
                    "to": None,
                    "toString": issue.resolution,
                },
            )
        return {
            "timestamp": int(issue.updated.timestamp() * 1000),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Stand-in"},
            "issue": {
                "id": issue.id,
                "key": issue.key,
                "self": f"{self.base_url}/rest/api/2/issue/{issue.id}",
                "fields": fields,
            },
            "changelog": {"id": str(10000 + len(self.delivered)), "items": items},
        }

    def _deliver(self, payload: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        headers, body = webhooks.jira_signed(payload, self.webhook_secret)
        self.delivered.append((headers, body))
        webhooks.deliver(self.webhook_url, headers, body)

    # --- request handling -------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def serve(self, request: Request) -> Reply:
        if request.path in ("/rest/api/3/search", "/rest/api/2/search"):
            return _errors(
                410,
                [
                    "The requested API has been removed. Please migrate to the "
                    "/rest/api/3/search/jql API (CHANGE-2046)."
                ],
            )
        if not self._authorised(request):
            return _errors(
                401, ["You are not authenticated. Authentication required to perform this operation."]
            )
        if request.method == "POST" and request.path == "/rest/api/3/issue":
            return self._create(request.json() or {})
        if request.method == "POST" and request.path == "/rest/api/3/search/jql":
            return self._search(request.json() or {})
        match = _ISSUE_PATH.match(request.path)
        if not match:
            return _errors(404, [f"stand-in does not implement {request.method} {request.path}"])
        issue = self.find(match.group(1))
        if issue is None:
            return _errors(404, ["Issue does not exist or you do not have permission to see it."])
        action = (request.method, match.group(2) or "")
        if action == ("GET", ""):
            wanted = request.query.get("fields")
            return Reply(200, self._issue_json(issue, wanted.split(",") if wanted else None))
        if action == ("PUT", ""):
            return self._edit(issue, request.json() or {})
        if action == ("GET", "/transitions"):
            return Reply(
                200,
                {
                    "transitions": self._available(
                        issue, "transitions.fields" in request.query.get("expand", "")
                    )
                },
            )
        if action == ("POST", "/transitions"):
            return self._transition(issue, request.json() or {})
        if action == ("POST", "/comment"):
            return self._comment(issue, request.json() or {})
        return _errors(405, [f"stand-in does not implement {request.method} {request.path}"])

    def _new_key(self, project: str) -> str:
        self._counters[project] = self._counters.get(project, 0) + 1
        return f"{project}-{self._counters[project]}"

    def _create(self, body: dict[str, Any]) -> Reply:
        fields = body.get("fields") or {}
        problems: dict[str, str] = {}
        project = (fields.get("project") or {}).get("key")
        if project not in self.projects:
            problems["project"] = "valid project is required"
        issuetype = (fields.get("issuetype") or {}).get("name")
        if issuetype not in ISSUE_TYPES:
            problems["issuetype"] = "The issue type selected is invalid."
        if not fields.get("summary"):
            problems["summary"] = "You must specify a summary of the issue."
        if "description" in fields and (problem := adf_problem(fields["description"])):
            problems["description"] = problem
        labels = fields.get("labels") or []
        if any(not isinstance(lbl, str) or " " in lbl for lbl in labels):
            problems["labels"] = "The label can't contain spaces."
        priority = (fields.get("priority") or {}).get("name")
        if priority is not None and priority not in PRIORITIES:
            problems["priority"] = f"Priority name '{priority}' is not valid"
        if problems:
            return _errors(400, fields=problems)
        self._next_id += 1
        issue = Issue(
            id=str(self._next_id),
            key=self._new_key(project),
            project=project,
            issuetype=issuetype,
            summary=fields["summary"],
            description=fields.get("description"),
            labels=list(labels),
            priority=priority,
            duedate=fields.get("duedate"),
            properties={p["key"]: p["value"] for p in body.get("properties") or []},
        )
        self.issues[issue.id] = issue
        return Reply(
            201, {"id": issue.id, "key": issue.key, "self": f"{self.base_url}/rest/api/3/issue/{issue.id}"}
        )

    def _search(self, body: dict[str, Any]) -> Reply:
        jql = re.split(r"\border\s+by\b", body.get("jql") or "", flags=re.IGNORECASE)[0].strip()
        if not jql:
            return _errors(
                400, ["Unbounded JQL queries are not allowed here. Please add a search restriction."]
            )
        found = list(self.issues.values())
        for clause in re.split(r"\s+and\s+", jql, flags=re.IGNORECASE):
            match = _JQL_CLAUSE.match(clause)
            if not match:
                return _errors(400, [f"Error in the JQL Query: stand-in cannot parse {clause!r}"])
            name, value = match.group(1).lower(), match.group(2)
            found = [i for i in found if self._matches(i, name, value)]
        found.sort(key=lambda i: i.created)
        found = found[: int(body.get("maxResults") or 50)]
        wanted = body.get("fields") or ["id"]
        issues = [
            {
                "id": i.id,
                "key": i.key,
                "self": f"{self.base_url}/rest/api/3/issue/{i.id}",
                "fields": self._fields(i, wanted),
            }
            for i in found
        ]
        return Reply(200, {"issues": issues, "isLast": True})

    @staticmethod
    def _matches(issue: Issue, name: str, value: str) -> bool:
        if name == "labels":
            return value in issue.labels
        if name == "project":
            return issue.project == value
        return value in (issue.key, issue.id)

    def _edit(self, issue: Issue, body: dict[str, Any]) -> Reply:
        fields, update = body.get("fields") or {}, body.get("update") or {}
        if both := set(fields) & set(update):
            return _errors(400, fields={name: "Field specified in both fields and update" for name in both})
        if "description" in fields and (problem := adf_problem(fields["description"])):
            return _errors(400, fields={"description": problem})
        for name, value in fields.items():
            if name == "priority":
                issue.priority = value.get("name")
            elif name in ("summary", "description", "duedate", "labels"):
                setattr(issue, name, value)
        for op in update.get("labels") or []:
            if "add" in op and op["add"] not in issue.labels:
                issue.labels.append(op["add"])
            if "remove" in op and op["remove"] in issue.labels:
                issue.labels.remove(op["remove"])
        issue.updated = datetime.now(UTC)
        return Reply(204)

    def _available(self, issue: Issue, with_fields: bool) -> list[dict[str, Any]]:
        out = []
        for tid, (name, sources, target, resolution_screen) in TRANSITIONS.items():
            if issue.status not in sources:
                continue
            item: dict[str, Any] = {
                "id": tid,
                "name": name,
                "to": self._status_json(target),
                "hasScreen": resolution_screen,
                "isGlobal": False,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
            }
            if with_fields:
                item["fields"] = (
                    {}
                    if not resolution_screen
                    else {
                        "resolution": {
                            "required": False,
                            "name": "Resolution",
                            "key": "resolution",
                            "operations": ["set"],
                            "schema": {"type": "resolution", "system": "resolution"},
                            "allowedValues": [{"id": k, "name": v} for k, v in RESOLUTIONS.items()],
                        }
                    }
                )
            out.append(item)
        return out

    def _transition(self, issue: Issue, body: dict[str, Any]) -> Reply:
        tid = str((body.get("transition") or {}).get("id"))
        if tid not in TRANSITIONS or issue.status not in TRANSITIONS[tid][1]:
            return _errors(400, [f"Transition id '{tid}' is not valid for this issue."])
        _, _, target, resolution_screen = TRANSITIONS[tid]
        resolution = ((body.get("fields") or {}).get("resolution") or {}).get("name")
        if resolution is not None and not resolution_screen:
            return _errors(
                400,
                fields={
                    "resolution": "Field 'resolution' cannot be set. It is not on the "
                    "appropriate screen, or unknown."
                },
            )
        if resolution is not None and resolution not in RESOLUTIONS.values():
            return _errors(400, fields={"resolution": f"Resolution '{resolution}' does not exist"})
        before = (issue.status, issue.resolution)
        issue.status = target
        # Like the default workflow's post functions: done sets a resolution, leaving done clears it.
        issue.resolution = (resolution or "Done") if STATUSES[target][1] == "done" else None
        issue.updated = datetime.now(UTC)
        self._pending_webhook = self.webhook_payload(issue, before)
        return Reply(204)

    def after_reply(self, request: Request, reply: Reply) -> None:
        with self.lock:
            payload, self._pending_webhook = self._pending_webhook, None
        if payload is not None and self.webhook_url:
            # From a helper thread: the receiver may share this server's event loop.
            threading.Thread(target=self._deliver, args=(payload,), daemon=True).start()

    def _comment(self, issue: Issue, body: dict[str, Any]) -> Reply:
        if problem := adf_problem(body.get("body")):
            return _errors(400, fields={"comment": problem})
        # Comment.created is `date-time` in the spec; real Jira writes `+0000`, which that format rejects.
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        comment = {
            "id": str(20000 + len(issue.comments)),
            "body": body["body"],
            "created": now,
            "updated": now,
            "self": f"{self.base_url}/rest/api/3/issue/{issue.id}/comment/{20000 + len(issue.comments)}",
        }
        if "visibility" in body:
            comment["visibility"] = body["visibility"]
        issue.comments.append(comment)
        issue.updated = datetime.now(UTC)
        return Reply(201, comment)

    # --- representations --------------------------------------------------------------------

    def _must(self, id_or_key: str) -> Issue:
        issue = self.find(id_or_key)
        if issue is None:
            raise KeyError(id_or_key)
        return issue

    def _status_json(self, status_id: str, api: str = "3") -> dict[str, Any]:
        name, category = STATUSES[status_id]
        cat = {
            **CATEGORIES[category],
            "self": f"{self.base_url}/rest/api/{api}/statuscategory/{CATEGORIES[category]['id']}",
        }
        return {
            "self": f"{self.base_url}/rest/api/{api}/status/{status_id}",
            "id": status_id,
            "name": name,
            "description": "",
            "iconUrl": f"{self.base_url}/",
            "statusCategory": cat,
        }

    def _fields(self, issue: Issue, wanted: list[str] | None, api: str = "3") -> dict[str, Any]:
        resolution = None
        if issue.resolution:
            rid = next(k for k, v in RESOLUTIONS.items() if v == issue.resolution)
            resolution = {
                "self": f"{self.base_url}/rest/api/{api}/resolution/{rid}",
                "id": rid,
                "name": issue.resolution,
                "description": "",
            }
        all_fields = {
            "summary": issue.summary,
            "status": self._status_json(issue.status, api),
            "resolution": resolution,
            "resolutiondate": _stamp(issue.updated) if resolution else None,
            "labels": list(issue.labels),
            "priority": {"name": issue.priority, "id": PRIORITIES[issue.priority]}
            if issue.priority
            else None,
            "duedate": issue.duedate,
            "issuetype": {"id": ISSUE_TYPES[issue.issuetype], "name": issue.issuetype},
            "project": {"id": self.projects[issue.project], "key": issue.project, "name": issue.project},
            "description": issue.description,
            "created": _stamp(issue.created),
            "updated": _stamp(issue.updated),
        }
        if wanted is None or "*all" in wanted:
            return all_fields
        return {name: all_fields[name] for name in wanted if name in all_fields}

    def _issue_json(self, issue: Issue, wanted: list[str] | None) -> dict[str, Any]:
        return {
            "id": issue.id,
            "key": issue.key,
            "self": f"{self.base_url}/rest/api/3/issue/{issue.id}",
            "fields": self._fields(issue, wanted),
        }
