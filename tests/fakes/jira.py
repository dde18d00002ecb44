"""A stateful Jira Cloud REST v3 stand-in: issues, a small workflow, comments, labels, properties,
JQL search on labels, moves between projects, and signed admin webhooks."""

from __future__ import annotations

import base64
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from openapi_core import OpenAPI

from tests.fakes import openapi, webhooks
from tests.fakes.jira_model import (
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
    TRANSITIONS,
    Issue,
    adf_problem,
    fields_json,
    transitions_json,
    webhook_payload,
)
from tests.fakes.server import Reply, Request, StandIn

_ISSUE_PATH = re.compile(r"^/rest/api/3/issue/([^/]+)(/transitions|/comment)?$")
_JQL_CLAUSE = re.compile(r'^\s*(labels|project|key|id)\s*=\s*"?([^"\s]+)"?\s*$', re.IGNORECASE)


def _errors(status: int, messages: list[str] | None = None, fields: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"errorMessages": messages or [], "errors": fields or {}})


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
        # Search is eventually consistent: issues younger than this are invisible to JQL unless their
        # ids are passed in `reconcileIssues`.
        self.search_lag_seconds = 0.0
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
        project_id = self.projects[issue.project]
        return webhook_payload(self.base_url, project_id, issue, before, 10000 + len(self.delivered))

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
            with_fields = "transitions.fields" in request.query.get("expand", "")
            return Reply(200, {"transitions": transitions_json(self.base_url, issue, with_fields)})
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
        if problems or project is None or issuetype is None:
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
        visible_from = datetime.now(UTC) - timedelta(seconds=self.search_lag_seconds)
        reconcile = {str(i) for i in body.get("reconcileIssues") or []}
        found = [i for i in self.issues.values() if i.created <= visible_from or i.id in reconcile]
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

    def _fields(self, issue: Issue, wanted: list[str] | None) -> dict[str, Any]:
        return fields_json(self.base_url, self.projects[issue.project], issue, wanted)

    def _issue_json(self, issue: Issue, wanted: list[str] | None) -> dict[str, Any]:
        return {
            "id": issue.id,
            "key": issue.key,
            "self": f"{self.base_url}/rest/api/3/issue/{issue.id}",
            "fields": self._fields(issue, wanted),
        }
