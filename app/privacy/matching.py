"""Finding a customer's reference, addresses and texts inside stored values, and taking them out.

A needle matches only as a whole token (not inside a longer word or address), so erasing `cus_1` leaves
`cus_12` alone. JSON values are walked, so keys and structure stay; only the strings that name the
customer change."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Texts shorter than this are too common to be anyone's ("Too slow"): never searched for elsewhere.
MIN_TEXT_NEEDLE = 12


@dataclass(frozen=True)
class Needles:
    """What names one customer: their reference, the addresses and the texts found on their rows."""

    ref: str
    addresses: frozenset[str] = field(default_factory=frozenset)
    texts: frozenset[str] = field(default_factory=frozenset)

    def quotes(self) -> list[str]:
        """Their texts as a title quotes them: whitespace collapsed."""
        return sorted({" ".join(t.split()) for t in self.texts if len(t) >= MIN_TEXT_NEEDLE})

    def all(self) -> list[str]:
        return sorted({self.ref, *self.addresses, *self.texts}, key=lambda s: (-len(s), s))

    def searchable(self) -> list[str]:
        """The needles worth a substring search in SQL (long texts and every reference or address)."""
        return [n for n in self.all() if n in (self.ref, *self.addresses) or len(n) >= MIN_TEXT_NEEDLE]

    def pattern(self) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(n) for n in self.searchable())
        return re.compile(rf"(?<![\w@.+-])(?:{alternatives})(?![\w@-])", re.IGNORECASE)


def sql_forms(needle: str) -> list[str]:
    """The needle as it may appear in stored text: raw, and escaped as JSON text writes it."""
    escaped = json.dumps(needle)[1:-1]
    return sorted({needle, escaped})


def names(value: Any, needles: Needles, pattern: re.Pattern[str] | None = None) -> bool:
    """Whether a stored value (text, JSON or bytes) names the customer."""
    pattern = pattern or needles.pattern()
    exact = {n.lower() for n in needles.searchable()}
    return any(s.lower().strip() in exact or pattern.search(s) for s in _strings(value))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value).decode("utf-8", errors="replace")
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def scrub(value: Any, needles: Needles, pseudonym: str, pattern: re.Pattern[str] | None = None) -> Any:
    """The value with the reference replaced by the pseudonym and addresses and texts removed."""
    pattern = pattern or needles.pattern()
    ref = needles.ref.lower()
    exact = {n.lower() for n in needles.searchable()}

    def one(s: str) -> str:
        if s.strip().lower() in exact:
            return pseudonym if s.strip().lower() == ref else ""
        return pattern.sub(lambda m: pseudonym if m.group(0).lower() == ref else "", s)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return one(v)
        if isinstance(v, dict):
            return {one(str(k)): walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


_QUOTED = re.compile(r'(?::\s*)?"([^"]*)"')
# How much of a text a quote must hold before it counts as theirs (as for texts in general).
QUOTE_PREFIX = 20


def _quotes_them(segment: str, needles: Needles) -> bool:
    core = segment.strip().removesuffix("...").strip().lower()
    return len(core) >= MIN_TEXT_NEEDLE and any(q.lower().startswith(core) for q in needles.quotes())


def quotes(value: Any, needles: Needles) -> bool:
    """Whether a title quotes the start of one of their texts (an issue is named by its first voice)."""
    return isinstance(value, str) and any(_quotes_them(m.group(1), needles) for m in _QUOTED.finditer(value))


def unquote(value: str, needles: Needles, pseudonym: str) -> str:
    """The title without the quotes of their words (and scrubbed of anything else naming them)."""
    kept = _QUOTED.sub(lambda m: "" if _quotes_them(m.group(1), needles) else m.group(0), value)
    return str(scrub(kept.strip(), needles, pseudonym)) or "Feedback from an erased customer"
