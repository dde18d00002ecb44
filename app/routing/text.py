"""Shared text normalisation and tokenisation for rules, the classifier and grouping.

Everything here is deterministic and dependency-free so that the same text always
yields the same terms in the service, the tests and the benchmark.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise

from app.core.text import normalise

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

# A short list on purpose: words like "not", "never", "still", "again" carry the
# complaint ("still hasn't arrived", "charged again") and must stay.
_STOPWORD_TEXT = """
    a about above after all am an and any are as at be been being both but by can could
    did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself
    of off on once only or other our ours ourselves out over own same she should so some such
    than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would
    you your yours yourself yourselves im ive id youre hi hello please thanks thank help
    hey dear ok okay also get got one would like want need know cant can't
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# "cant"/"can't" are stopwords because they appear in nearly every support message
# ("I can't ..."); the verb that follows carries the meaning.


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalise(text))


_SUFFIXES = (
    "ational",
    "ization",
    "fulness",
    "iveness",
    "ements",
    "ement",
    "ments",
    "ment",
    "ings",
    "ing",
    "edly",
    "ed",
    "ies",
    "ied",
    "ly",
    "es",
    "s",
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light suffix stripper.

    Good enough to join "charged"/"charges"/"charging" without a stemming package;
    short words are left alone because stripping them mostly creates collisions.
    """
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                return base + "y"
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                # "topped" -> "topp" -> "top"
                base = base[:-1]
            return base
    return word


def content_words(text: str) -> list[str]:
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and not t.isdigit()]


def informative_terms(text: str, *, bigrams: bool = True) -> list[str]:
    """Unique content-word stems plus adjacent-pair bigrams, in first-seen order.

    Bigrams keep "top up" apart from "top" and "up"; the order is stable so
    explanations (shared terms) are reproducible.
    """
    return list(_informative_terms(text, bigrams))


# Placing an item and then adding it to its issue both need its terms, and feedback repeats itself
# ("card not arrived"): a small cache halves the text work on the ingest path.
@lru_cache(maxsize=4096)
def _informative_terms(text: str, bigrams: bool) -> tuple[str, ...]:
    words = content_words(text)
    terms: list[str] = list(dict.fromkeys(words))
    if bigrams:
        terms.extend(dict.fromkeys(f"{a}_{b}" for a, b in pairwise(words)))
    return tuple(terms)


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
