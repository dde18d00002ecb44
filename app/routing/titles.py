"""Issue titles that say the problem: class-based TF-IDF keyphrases and a representative sentence.

A term describes a group when it is frequent inside it and rare across the other groups
of the stage (class-based TF-IDF: each group is one "document"). Bigrams that pass are
preferred to their own words ("card not arrived" over "card"). The representative
sentence is the member sentence that carries most of those terms per word, so the title
reads like a customer's own words, never a list of stems.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.routing.represent import clean, sentences
from app.routing.text import content_words, informative_terms

_MAX_TITLE = 90
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Title:
    text: str
    keyphrases: tuple[str, ...]
    representative: str


def group_terms(texts: Sequence[str]) -> Counter[str]:
    """How many of a group's texts contain each informative term (redactions removed)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(informative_terms(clean(text))))
    return counts


def class_tfidf(groups: Mapping[str, Counter[str]], sizes: Mapping[str, int]) -> dict[str, dict[str, float]]:
    """Per group, term → weight: (share of its texts with the term) x log(1 + groups / groups with it)."""
    spread: Counter[str] = Counter()
    for counts in groups.values():
        spread.update(counts.keys())
    n = len(groups)
    return {
        gid: {t: (c / max(sizes[gid], 1)) * math.log(1 + n / spread[t]) for t, c in counts.items()}
        for gid, counts in groups.items()
    }


def keyphrases(weights: Mapping[str, float], k: int = 4, *, min_weight: float = 0.0) -> tuple[str, ...]:
    """The top terms, bigrams first when they carry as much as their parts; stems joined by spaces."""
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    chosen: list[str] = []
    covered: set[str] = set()
    for term, weight in ranked:
        if weight <= min_weight or len(chosen) >= k:
            break
        parts = term.split("_")
        if len(parts) == 1 and term in covered:
            continue
        if len(parts) == 2 and all(p in covered for p in parts):
            continue
        chosen.append(term.replace("_", " "))
        covered.update(parts)
    return tuple(chosen)


def representative_sentence(texts: Sequence[str], weights: Mapping[str, float]) -> str:
    """The member sentence with the most keyphrase weight per (square-root) word."""
    best, best_score = "", -1.0
    for text in texts:
        for sentence in sentences(text) or [clean(text)]:
            words = content_words(sentence)
            if not words:
                continue
            terms = set(informative_terms(sentence))
            score = sum(weights.get(t, 0.0) for t in terms) / math.sqrt(len(words))
            if score > best_score or (score == best_score and len(sentence) < len(best)):
                best, best_score = sentence, score
    return best


def _shorten(text: str, limit: int = _MAX_TITLE) -> str:
    if len(text) <= limit:
        return text
    words = _WORD.findall(text)
    out = ""
    for word in words:
        if len(out) + len(word) + 1 > limit - 1:
            break
        out = f"{out} {word}".strip()
    return out + "…"


def titles(groups: Mapping[str, Sequence[str]], k: int = 4) -> dict[str, Title]:
    """A title for each group of one stage, from all the groups' member texts."""
    counts = {gid: group_terms(texts) for gid, texts in groups.items()}
    sizes = {gid: len(texts) for gid, texts in groups.items()}
    weights = class_tfidf(counts, sizes)
    out: dict[str, Title] = {}
    for gid, texts in groups.items():
        phrases = keyphrases(weights[gid], k)
        sentence = representative_sentence(texts, weights[gid])
        out[gid] = Title(_shorten(sentence) if sentence else ", ".join(phrases), phrases, sentence)
    return out
