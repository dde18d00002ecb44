"""Vectors that let the complaint, not the boilerplate, drive similarity.

Real feedback is long and noisy: complaint narratives carry redaction marks (``XXXX``,
``XX/XX/XXXX``, ``{$12.00}``), greetings, legal templates and account details that every
text shares. Everything here is pure: text in, text or vectors out.

- :func:`clean` removes redaction marks and collapses whitespace.
- :func:`key_sentences` keeps the sentences whose words are rarest in the company's own
  feedback (boilerplate is common, the complaint is not), in their original order.
- :func:`represent` embeds a text by one of three strategies: ``lead`` (the start, as the
  encoder's window allows), ``chunks`` (mean of windowed chunks), ``key`` (key sentences).
- :class:`LexicalEncoder` is the TF-IDF (LSA) vectoriser used when no sentence encoder is
  loaded, so grouping has dense vectors either way.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from app.routing.embedding import Embedder
from app.routing.text import content_words

Strategy = Literal["lead", "chunks", "key"]

# Order matters: dates before bare runs of X, money before numbers.
_REDACTIONS = (
    re.compile(r"\{\$[\d,.]*\}"),
    re.compile(r"\bX{2}/X{2}/(?:X{2,4}|\d{2,4})\b", re.IGNORECASE),
    re.compile(r"\bX{2,}\b"),
    re.compile(r"\byear>"),
)
_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# About 100 words fill the encoder's 128-token window.
CHUNK_WORDS = 100


def clean(text: str) -> str:
    """The text without redaction marks; empty placeholders would otherwise look alike."""
    for pattern in _REDACTIONS:
        text = pattern.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(clean(text)) if len(s.strip()) > 2]


def chunks(text: str, words: int = CHUNK_WORDS, limit: int = 8) -> list[str]:
    """Consecutive windows of about ``words`` words; at most ``limit`` (long letters repeat themselves)."""
    tokens = clean(text).split()
    if not tokens:
        return [""]
    return [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)][:limit]


def document_frequencies(texts: Iterable[str]) -> tuple[Counter[str], int]:
    """Content-word document frequencies of a history of feedback, and its size."""
    df: Counter[str] = Counter()
    n = 0
    for text in texts:
        df.update(set(content_words(clean(text))))
        n += 1
    return df, n


def key_sentences(text: str, df: Counter[str], n_docs: int, *, words: int = CHUNK_WORDS) -> str:
    """The sentences with the highest mean IDF, up to about ``words`` words, in text order."""
    parts = sentences(text)
    if len(parts) <= 1:
        return clean(text)
    scored = []
    for position, sentence in enumerate(parts):
        terms = content_words(sentence)
        if not terms:
            continue
        idf = [math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in terms]
        # Mean IDF alone favours one-word fragments; sqrt(length) keeps substance.
        scored.append((sum(idf) / len(idf) * math.sqrt(min(len(terms), 25)), position, sentence))
    scored.sort(key=lambda s: (-s[0], s[1]))
    chosen: list[tuple[int, str]] = []
    total = 0
    for _, position, sentence in scored:
        size = len(sentence.split())
        if chosen and total + size > words:
            continue
        chosen.append((position, sentence))
        total += size
    return " ".join(s for _, s in sorted(chosen))


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def represent(
    texts: Sequence[str],
    embedder: Embedder,
    strategy: Strategy = "chunks",
    *,
    df: Counter[str] | None = None,
    n_docs: int = 0,
) -> np.ndarray:
    """One unit vector per text; short texts are embedded whole whichever the strategy."""
    if not texts:
        return embedder.embed([])
    cleaned = [clean(t) for t in texts]
    if strategy == "lead":
        return embedder.embed(cleaned)
    if strategy == "key":
        if df is None:
            raise ValueError("the key-sentence strategy needs document frequencies (df, n_docs)")
        return embedder.embed([key_sentences(t, df, n_docs) for t in texts])
    pieces: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(cleaned):
        parts = chunks(text)
        pieces += parts
        owner += [i] * len(parts)
    vectors = embedder.embed(pieces)
    pooled = np.zeros((len(texts), vectors.shape[1]), dtype=np.float64)
    np.add.at(pooled, np.array(owner, dtype=np.intp), vectors)
    return _normalise_rows(pooled)


def centre(vectors: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """Subtract the company's mean feedback vector and renormalise.

    Every support text shares a direction ("customer has a problem"); without it, cosine
    similarity spreads out and one threshold separates problems better.
    """
    if mean is None:
        return vectors
    return _normalise_rows(np.asarray(vectors, dtype=np.float64) - mean)


class LexicalEncoder:
    """TF-IDF (word 1-2-grams, redactions removed) reduced by LSA to dense unit vectors.

    Fitted on the company's own feedback; the fallback when no sentence encoder is loaded.
    """

    def __init__(self, history: Sequence[str], *, dim: int = 256, seed: int = 0) -> None:
        self.name = f"tfidf-lsa-{dim}"
        self._tfidf = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=1, preprocessor=_lexical_preprocess
        )
        x = self._tfidf.fit_transform(list(history) or ["empty"])
        components = max(1, min(dim, x.shape[1] - 1, x.shape[0] - 1))
        self._svd = TruncatedSVD(n_components=components, random_state=seed) if components > 1 else None
        if self._svd is not None:
            self._svd.fit(x)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        x = self._tfidf.transform(list(texts))
        dense = self._svd.transform(x) if self._svd is not None else x.toarray()
        return _normalise_rows(np.asarray(dense))


def _lexical_preprocess(text: str) -> str:
    return " ".join(content_words(clean(text)))


def hybrid(semantic: np.ndarray, lexical: np.ndarray, semantic_weight: float = 0.85) -> np.ndarray:
    """Concatenated unit vectors whose cosine is the weighted mean of the two cosines."""
    a = math.sqrt(semantic_weight)
    b = math.sqrt(1.0 - semantic_weight)
    return np.hstack([a * semantic, b * lexical]).astype(np.float32)


class LongTextEmbedder:
    """An :class:`Embedder` that cleans texts and pools long ones by ``strategy`` first.

    Wrap the sentence encoder with it once, and the classifier, the grouping index and
    consolidation all see the same representation of a long complaint.
    """

    def __init__(self, inner: Embedder, strategy: Strategy = "chunks") -> None:
        if strategy == "key":
            raise ValueError("key sentences need the company's document frequencies; use represent()")
        self.inner = inner
        self.strategy: Strategy = strategy
        self.name = inner.name if strategy == "lead" else f"{inner.name}+{strategy}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return represent(texts, self.inner, self.strategy)
