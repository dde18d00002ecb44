"""Text normalisation shared by the journey's rules and the routing engine: the same text always
compares the same way wherever it is matched."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
# Apostrophes are dropped rather than split on so "hasn't" and "hasnt" (a common
# typing variant in real feedback) become the same token.
_APOSTROPHE = re.compile(r"['\u2019`]")


def normalise(text: str) -> str:
    """Casefold, unify unicode forms and whitespace; keeps punctuation for regex rules."""
    text = unicodedata.normalize("NFKC", text)
    text = _APOSTROPHE.sub("", text)
    return _SPACE.sub(" ", text).strip().casefold()
