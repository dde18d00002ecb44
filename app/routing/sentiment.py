"""Is a feedback item praise? From its score on its scale, and from its wording.

Praise must never join or open a complaint issue, so the rule is built for precision on
"praise": one complaint cue anywhere in the text (a negated compliment, a problem word,
a question, a "but") keeps an item a complaint. A small fixed lexicon was chosen over a
model trained on restaurant reviews because it has to hold for banks and shops too; its
precision is measured on MAMS praise vs complaint sentences and on the complaint-only
data sets (docs/benchmarks.md, routing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from app.core.text import normalise

Polarity = Literal["praise", "complaint", "neutral"]

# Detractor at or below, promoter at or above; the same cut-offs as app.issues.scores
# (CES runs 1, very hard, to 7, very easy), repeated so this module stays dependency-free.
SCORE_CUTS: dict[str, tuple[float, float]] = {"nps": (6, 9), "csat": (2, 4), "ces": (3, 5)}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_POSITIVE = _words(
    """
    great excellent amazing awesome fantastic wonderful superb outstanding brilliant
    terrific perfect perfectly love loved lovely loves enjoy enjoyed enjoyable nice good
    pleasant pleasure delightful delicious tasty yummy fresh friendly helpful attentive
    courteous polite kind warm welcoming accommodating professional knowledgeable efficient
    fast prompt promptly easy easily smooth smoothly seamless simple reliable impressed
    impressive recommend recommended happy glad pleased satisfied thrilled beautiful cozy
    cosy charming comfortable clean elegant fun reasonable affordable generous worth best
    fabulous inexpensive nifty incredible exceptional gem favorite favourite sweet cool
    solid gladly
    """
)

_NEGATORS = _words(
    """
    not no never nothing nobody none without lack lacking cannot cant couldnt wont wouldnt
    didnt doesnt dont isnt wasnt arent werent hasnt havent hadnt aint neither nor
    """
)
# A turn in the sentence: whatever follows it is what the customer is getting at.
_CONTRAST = _words("but however though although yet except unfortunately sadly")
# Words that carry a problem, whatever surrounds them.
_COMPLAINT = _words(
    """
    bad terrible awful horrible horrid poor poorly worst worse rude slow slowly late wrong
    problem problems issue issues error errors fail failed failing failure declined decline
    refused refuse reject rejected missing lost stolen fraud scam charged overcharged fee fees
    cold bland stale soggy greasy burnt overcooked undercooked raw salty overpriced expensive
    pricey dirty filthy noisy loud crowded cramped disappointed disappointing disappointment
    mediocre unhelpful unfriendly ignored waited waiting wait forever unable mistake broken
    stuck blocked delay delayed unacceptable complaint complain annoying annoyed frustrated
    frustrating angry upset ridiculous horrendous sucks sucked still again overdraft dispute
    disputed unauthorized inaccurate incorrect too difficult hard dark dim narrow tiny old
    tried insisted expected opposite
    """
    # Requests are not praise, however politely put ("I'd like to know...", "please remove").
    """
    please need want know how why cancel remove modify correct fix update track refund help
    """
)
# Complaint words a negation turns into praise ("not bad", "never disappointed", "no problem");
# every other complaint word stays one when negated ("not correct", "don't want").
_FLIPPABLE = _words(
    """
    bad disappointed disappointing disappoint problem problems issue issues complaint
    complain complaints mediocre worse wrong regret
    """
)
# How far a negator reaches: "not very good", "never had a bad meal".
_NEGATION_WINDOW = 3
_QUESTION = re.compile(r"\?")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Sentiment:
    polarity: Polarity
    # Which evidence decided: "score", "text", "score+text" or "none".
    basis: str
    positive_terms: tuple[str, ...] = ()
    complaint_terms: tuple[str, ...] = ()

    @property
    def is_praise(self) -> bool:
        return self.polarity == "praise"


def score_polarity(score: float | None, scale: str | None) -> Polarity | None:
    """Promoter → praise, detractor → complaint, passive → neutral; None without a usable score."""
    if score is None or scale is None or scale not in SCORE_CUTS:
        return None
    low, high = SCORE_CUTS[scale]
    if score >= high:
        return "praise"
    if score <= low:
        return "complaint"
    return "neutral"


def text_polarity(text: str | None) -> tuple[Polarity | None, tuple[str, ...], tuple[str, ...]]:
    """Praise only with a compliment and no complaint cue; None when the text says nothing."""
    if not text or not text.strip():
        return None, (), ()
    positive, complaint = _cues(_WORD.findall(normalise(text)))
    if _QUESTION.search(text):
        # Customers ask when something does not work ("why was I charged?"): never praise.
        complaint = (*complaint, "?")
    if complaint:
        return "complaint", positive, complaint
    if positive:
        return "praise", positive, complaint
    return "neutral", positive, complaint


def _cues(words: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Compliments and complaint cues, with negation flipping the word it reaches."""
    positive: list[str] = []
    complaint: list[str] = []
    negated_until = -1
    for i, word in enumerate(words):
        if word in _NEGATORS:
            ahead = words[i + 1 : i + 1 + _NEGATION_WINDOW]
            if not any(w in _POSITIVE or w in _FLIPPABLE for w in ahead):
                complaint.append(word)  # "has not arrived": the negation is the complaint
            negated_until = i + _NEGATION_WINDOW
            continue
        negated = i <= negated_until
        if word in _CONTRAST:
            complaint.append(word)
        elif word in _POSITIVE:
            (complaint if negated else positive).append(f"not {word}" if negated else word)
        elif negated and word in _FLIPPABLE:
            positive.append(f"not {word}")
        elif word in _COMPLAINT or word in _FLIPPABLE:
            complaint.append(word)
    return tuple(positive), tuple(complaint)


def classify(text: str | None, score: float | None = None, scale: str | None = None) -> Sentiment:
    """One polarity for the item.

    A detractor score is a complaint whatever the words; a promoter score is praise
    unless the text carries a complaint cue ("9/10, but the app logs me out"), which then
    makes it a complaint worth grouping; without a score, the text decides alone.
    """
    by_score = score_polarity(score, scale)
    by_text, positive, complaint = text_polarity(text)
    if by_score == "complaint":
        return Sentiment("complaint", "score", positive, complaint)
    if by_score == "praise":
        if by_text == "complaint":
            return Sentiment("complaint", "score+text", positive, complaint)
        return Sentiment("praise", "score" if by_text is None else "score+text", positive, complaint)
    if by_text is None:
        return Sentiment(by_score or "neutral", "score" if by_score else "none", positive, complaint)
    return Sentiment(by_text, "text", positive, complaint)


def is_praise(text: str | None, score: float | None = None, scale: str | None = None) -> bool:
    return classify(text, score, scale).is_praise
