"""Pure view helpers: words for what the data says. No I/O."""

from __future__ import annotations

import re
from typing import Any

EVENT_WORDS = {
    "created": "opened the issue",
    "transition": "moved it",
    "acknowledged": "acknowledged it",
    "snoozed": "snoozed the reminders",
    "reminder": "sent a reminder",
    "comment": "commented",
    "title_changed": "renamed it",
    "owner_changed": "handed it to another owner",
    "merged": "merged it into another issue",
    "absorbed": "took in another issue",
    "unmerged": "undid a merge",
    "split": "split items out",
    "split_from": "was split from another issue",
    "item_added": "placed an item here",
    "item_moved_out": "moved an item away",
    "priority_raised": "raised the priority",
    "verification": "checked the fix",
    "confirmation": "confirmed the fix",
    "confirmation_requested": "asked the owner to confirm",
    "customers_told": "told the customers",
    "customer_answer": "recorded a customer's answer",
}


def actor_name(actor: str, people: dict[str, str]) -> str:
    kind, _, name = actor.partition(":")
    if kind == "person":
        return people.get(name, name)
    if kind == "key":
        return f"API key “{name}”"
    return "Seam" if actor == "system" else actor


def event_text(kind: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    words = EVENT_WORDS.get(kind, kind.replace("_", " "))
    if kind == "transition":
        return f"moved it from {_status(before.get('status'))} to {_status(after.get('status'))}"
    if kind == "title_changed":
        return f"renamed it to “{after.get('title', '')}”"
    if kind == "snoozed" and after.get("until"):
        return f"snoozed the reminders until {str(after['until'])[:10]}"
    if kind == "reminder":
        return f"reminded {after.get('person', 'someone')} ({after.get('kind', '').replace('_', ' ')})"
    if kind == "merged":
        return f"merged it into EI-{after.get('merged_into_id')}"
    if kind == "absorbed":
        return f"took in EI-{after.get('from_issue')}"
    if kind == "item_added" and (after.get("split") or after.get("unmerge")):
        how = "split" if after.get("split") else "undid the merge, taking back"
        return f"{how} {after.get('items')} items from EI-{after.get('from_issue')}"
    if kind == "item_moved_out" and (after.get("split") or after.get("unmerge")):
        how = "split" if after.get("split") else "undid a merge: gave back"
        return f"{how} {after.get('items')} items into EI-{after.get('to_issue')}"
    if kind == "owner_changed":
        return f"handed it from {before.get('owner')} to {after.get('owner')}"
    return words


def _status(value: Any) -> str:
    return str(value or "?").replace("_", " ")


def why_grouped(placement: dict[str, Any], text: str = "") -> str:
    """Why an item sits in its issue, from its placement record. Of the shared terms (stems), only
    whole words of the item's own text are named: "lov" or "first_box" would puzzle a reader."""
    method = placement.get("method")
    where = {
        "touchpoint": f"came through touchpoint “{placement.get('touchpoint')}”",
        "rule": f"matched rule “{placement.get('rule')}”",
        "model": f"the router placed it ({_pct(placement.get('confidence'))} sure)",
        "triage": "a person placed it",
        "correction": "a person moved it here",
        "split": "a person split it out of another issue",
    }.get(str(method), "placed")
    grouping = placement.get("grouping") or {}
    how = grouping.get("method")
    if how == "similarity":
        words = set(re.findall(r"[a-z]+", text.lower()))
        shown = [t for t in grouping.get("shared_terms") or [] if t in words and len(t) > 3][:5]
        terms = ", ".join(shown)
        return f"{where}; says what this issue says" + (f" (shared words: {terms})" if terms else "")
    if how == "fingerprint" and grouping.get("fingerprint"):
        return f"{where}; same fingerprint"
    if how == "new":
        return f"{where}; the first of its kind"
    return where


def best_guess(placement: dict[str, Any]) -> tuple[str | None, str]:
    """The router's best guess for an item in triage: (stage, how sure, in words)."""
    stage = placement.get("predicted_stage")
    if stage is None:
        return None, "no guess"
    return str(stage), _pct(placement.get("confidence"))


def _pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return "?"


def score_text(score: float | None, scale: str | None) -> str:
    if score is None:
        return ""
    return f"{score:g} {(scale or '').upper()}".strip()


def tone(score: float | None, scale: str | None) -> str:
    """A CSS class for a score: low, mid or high for its scale."""
    if score is None:
        return ""
    top = {"nps": 10, "csat": 5, "ces": 7}.get((scale or "").lower(), 10)
    ratio = score / top
    return "low" if ratio <= 0.4 else ("mid" if ratio < 0.8 else "high")


def card_title(title: str, stage_name: str, moment_name: str | None) -> str:
    """A card sits in its stage's column under its moment: the title without them reads better."""
    for prefix in (f"{stage_name}: {moment_name}: " if moment_name else None, f"{stage_name}: "):
        if prefix and title.startswith(prefix):
            title = title[len(prefix) :]
    return title.strip('"') if title.count('"') == 2 and title.startswith('"') else title
