"""Atlassian Document Format (ADF) from our structured description.

Jira v3 rejects plain strings for `description` and comment bodies, and also rejects empty text
nodes, so every builder here drops empty strings instead of emitting `{"type": "text", "text": ""}`.
"""

from __future__ import annotations

from typing import Any

from integrations.base import TicketDescription

Node = dict[str, Any]

MAX_VERBATIMS = 5
MAX_VERBATIM_CHARS = 500


def doc(content: list[Node]) -> Node:
    return {"type": "doc", "version": 1, "content": content}


def text(value: str, *, strong: bool = False, href: str | None = None) -> Node:
    node: Node = {"type": "text", "text": value}
    marks: list[Node] = []
    if strong:
        marks.append({"type": "strong"})
    if href:
        marks.append({"type": "link", "attrs": {"href": href}})
    if marks:
        node["marks"] = marks
    return node


def paragraph(*parts: Node) -> Node:
    return {"type": "paragraph", "content": list(parts)}


def heading(value: str, level: int = 3) -> Node:
    return {"type": "heading", "attrs": {"level": level}, "content": [text(value)]}


def bullet_list(items: list[str]) -> Node:
    return {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": [paragraph(text(item))]} for item in items],
    }


def _labelled(label: str, value: str) -> Node:
    return paragraph(text(f"{label}: ", strong=True), text(value))


def _clip(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= MAX_VERBATIM_CHARS else value[: MAX_VERBATIM_CHARS - 1] + "…"


def description_doc(seam_issue_id: str | None, description: TicketDescription) -> Node:
    """Stage, moment and impact first (what a team triages on), then a handful of verbatims, then the
    link back to Seam."""
    title = f"Customer experience issue {seam_issue_id}" if seam_issue_id else "Customer experience issue"
    content: list[Node] = [heading(title)]
    if description.stage.strip():
        content.append(_labelled("Stage", description.stage.strip()))
    if description.moment and description.moment.strip():
        content.append(_labelled("Moment of truth", description.moment.strip()))
    if description.impact.strip():
        content.append(_labelled("Impact", description.impact.strip()))
    verbatims = [_clip(v) for v in description.verbatims if v.strip()][:MAX_VERBATIMS]
    if verbatims:
        content.append(heading("What customers say", level=4))
        content.append(bullet_list(verbatims))
    if description.link:
        content.append(paragraph(text("Open in Seam", href=description.link)))
    return doc(content)


def plain_doc(body: str) -> Node:
    """A comment from plain text: one paragraph per non-empty line."""
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    return doc([paragraph(text(line)) for line in lines] or [paragraph(text("(empty)"))])
