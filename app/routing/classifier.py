"""Learned stage routing: TF-IDF (word + char n-grams), optional sentence embeddings,
a linear SVM over fine labels, and temperature-scaled confidences.

Fine labels are the issue (category) when the caller knows it, else stage/moment, else
the stage; stage and moment probabilities are sums over their fine labels. Predicting
the finer label and summing measured better than predicting stages directly (see
docs/benchmarks.md (routing)), because a stage is a union of unlike problems.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from app.core.text import normalise
from app.routing.calibration import fit_temperature, softmax
from app.routing.embedding import Embedder

_FORMAT = "seam-stage-model/1"
_SEP = "\x1f"


@dataclass(frozen=True)
class TrainingExample:
    text: str
    stage: str
    moment: str | None = None
    issue_key: str | None = None


@dataclass(frozen=True)
class Prediction:
    stage: str
    moment: str | None
    confidence: float
    version: str
    # The most likely known issue (fine label) and its probability, when trained with issue keys.
    issue_key: str | None = None
    issue_confidence: float = 0.0


class ClassifierSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    c: float = Field(default=1.0, gt=0)
    # None: predict issues (then sum to stages) only when there are enough examples per
    # issue; with one or two per issue, a stage-level model measured better.
    use_issue_keys: bool | None = None
    min_examples_per_issue: float = Field(default=8.0, ge=1)
    # Weight of the sentence-embedding block relative to each TF-IDF block (both L2-normalised).
    embedding_weight: float = Field(default=1.0, ge=0)
    calibration_folds: int = Field(default=3, ge=2)
    # Used when there are too few examples to fit a temperature by cross-validation.
    default_temperature: float = Field(default=0.25, gt=0)
    # A moment is named only when it holds at least this share of its stage's probability.
    moment_share: float = Field(default=0.5, ge=0, le=1)

    @property
    def version(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def _fine_label(example: TrainingExample, use_issue_keys: bool) -> str:
    if use_issue_keys and example.issue_key:
        return f"issue{_SEP}{example.stage}{_SEP}{example.moment or ''}{_SEP}{example.issue_key}"
    return f"stage{_SEP}{example.stage}{_SEP}{example.moment or ''}{_SEP}"


def uses_issue_keys(examples: Sequence[TrainingExample], settings: ClassifierSettings) -> bool:
    """Whether training on these examples predicts issues (True) or stages (False)."""
    if settings.use_issue_keys is not None:
        return settings.use_issue_keys
    keyed = [e.issue_key for e in examples if e.issue_key]
    if not keyed or len(keyed) < len(examples) / 2:
        return False
    return len(keyed) / len(set(keyed)) >= settings.min_examples_per_issue


def _split_label(label: str) -> tuple[str, str | None, str | None]:
    _, stage, moment, issue = label.split(_SEP)
    return stage, moment or None, issue or None


def training_version(examples: Sequence[TrainingExample], settings: ClassifierSettings, embedder: str) -> str:
    digest = hashlib.sha256()
    for line in sorted(json.dumps([e.text, e.stage, e.moment, e.issue_key]) for e in examples):
        digest.update(line.encode())
    digest.update(settings.model_dump_json().encode())
    digest.update(embedder.encode())
    return digest.hexdigest()[:16]


class _Features:
    def __init__(
        self, word: TfidfVectorizer, char: TfidfVectorizer, embedder: Embedder | None, weight: float
    ):
        self.word, self.char, self.embedder, self.weight = word, char, embedder, weight

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        settings: ClassifierSettings,
        embedder: Embedder | None,
        dense: np.ndarray | None = None,
    ) -> tuple[_Features, sp.csr_matrix]:
        word = TfidfVectorizer(ngram_range=settings.word_ngrams, sublinear_tf=True, preprocessor=normalise)
        char = TfidfVectorizer(
            analyzer="char_wb", ngram_range=settings.char_ngrams, sublinear_tf=True, preprocessor=normalise
        )
        word.fit(texts)
        char.fit(texts)
        features = cls(word, char, embedder, settings.embedding_weight)
        return features, features.transform(texts, dense)

    def transform(self, texts: Sequence[str], dense: np.ndarray | None = None) -> sp.csr_matrix:
        """``dense`` passes embeddings already computed, so cross-validation encodes once."""
        blocks = [self.word.transform(texts), self.char.transform(texts)]
        if self.embedder is not None:
            vectors = self.embedder.embed(list(texts)) if dense is None else dense
            blocks.append(sp.csr_matrix(vectors * self.weight))
        return sp.hstack(blocks, format="csr")


class StageModel:
    """A trained router. Build with :meth:`train` or :meth:`load`; immutable afterwards."""

    def __init__(
        self,
        features: _Features,
        labels: list[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        temperature: float,
        version: str,
        settings: ClassifierSettings,
    ) -> None:
        self._features = features
        self._labels = labels
        # float32 in memory as on disk, so a loaded model predicts exactly like the trained one.
        self._coef = np.asarray(coef, dtype=np.float32)
        self._intercept = intercept
        self.temperature = temperature
        self.version = version
        self.settings = settings
        parts = [_split_label(label) for label in labels]
        self.stages = sorted({stage for stage, _, _ in parts})
        stage_index = {s: i for i, s in enumerate(self.stages)}
        # Fine label -> stage as a 0/1 matrix so stage probabilities are one matmul.
        self._to_stage = np.zeros((len(labels), len(self.stages)), dtype=np.float64)
        for row, (stage, _, _) in enumerate(parts):
            self._to_stage[row, stage_index[stage]] = 1.0
        self._parts = parts

    # -- training -------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        examples: Iterable[TrainingExample],
        *,
        settings: ClassifierSettings | None = None,
        embedder: Embedder | None = None,
    ) -> StageModel:
        settings = settings or ClassifierSettings()
        data = [e for e in examples if e.text.strip()]
        if not data:
            raise ValueError("no training examples with text")
        texts = [e.text for e in data]
        by_issue = uses_issue_keys(data, settings)
        y = [_fine_label(e, by_issue) for e in data]
        labels = sorted(set(y))
        dense = embedder.embed(texts) if embedder is not None else None
        features, x = _Features.fit(texts, settings, embedder, dense)
        coef, intercept = _fit_linear(x, y, labels, settings.c)
        temperature = _cross_validated_temperature(texts, y, labels, settings, embedder, dense)
        version = training_version(data, settings, embedder.name if embedder else "")
        return cls(features, labels, coef, intercept, temperature, version, settings)

    # -- prediction -----------------------------------------------------------------------
    def fine_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        x = self._features.transform(texts)
        scores = np.asarray(x @ self._coef.T) + self._intercept
        return softmax(scores, self.temperature)

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        fine = self.fine_probabilities(texts)
        stage_p = fine @ self._to_stage
        return [self._decode(fine[i], stage_p[i]) for i in range(len(texts))]

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def stage_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Rows over :attr:`stages`; for callers that need the whole distribution."""
        return self.fine_probabilities(texts) @ self._to_stage

    def _decode(self, fine: np.ndarray, stage_p: np.ndarray) -> Prediction:
        best = int(np.argmax(stage_p))
        stage = self.stages[best]
        moments: dict[str, float] = defaultdict(float)
        best_issue, best_issue_p = None, 0.0
        for row, (s, moment, issue) in enumerate(self._parts):
            if s != stage:
                continue
            if moment:
                moments[moment] += float(fine[row])
            if issue and fine[row] > best_issue_p:
                best_issue, best_issue_p = issue, float(fine[row])
        moment = None
        if moments:
            name, mass = max(moments.items(), key=lambda kv: kv[1])
            if mass >= self.settings.moment_share * float(stage_p[best]):
                moment = name
        return Prediction(
            stage=stage,
            moment=moment,
            confidence=float(min(1.0, max(0.0, stage_p[best]))),
            version=self.version,
            issue_key=best_issue,
            issue_confidence=best_issue_p,
        )

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """One .npz file of arrays plus JSON metadata; loadable without pickle."""
        meta = {
            "format": _FORMAT,
            "version": self.version,
            "settings": self.settings.model_dump(mode="json"),
            "labels": self._labels,
            "temperature": self.temperature,
            "embedder": self._features.embedder.name if self._features.embedder else None,
            "word_vocab": _vocab_list(self._features.word),
            "char_vocab": _vocab_list(self._features.char),
        }
        with open(path, "wb") as handle:
            np.savez_compressed(
                handle,
                meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                coef=self._coef.astype(np.float32),
                intercept=self._intercept.astype(np.float64),
                word_idf=self._features.word.idf_,
                char_idf=self._features.char.idf_,
            )

    @classmethod
    def load(cls, path: str | Path, *, embedder: Embedder | None = None) -> StageModel:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path} is not a Seam stage model ({meta.get('format')!r})")
            wanted = meta["embedder"]
            if wanted and (embedder is None or embedder.name != wanted):
                raise ValueError(f"model {meta['version']} needs the {wanted!r} embedder to load")
            settings = ClassifierSettings.model_validate(meta["settings"])
            word = _restore(meta["word_vocab"], data["word_idf"], settings, "word")
            char = _restore(meta["char_vocab"], data["char_idf"], settings, "char_wb")
            features = _Features(word, char, embedder if wanted else None, settings.embedding_weight)
            return cls(
                features,
                list(meta["labels"]),
                data["coef"].astype(np.float64),
                data["intercept"],
                float(meta["temperature"]),
                str(meta["version"]),
                settings,
            )


def _vocab_list(vectorizer: TfidfVectorizer) -> list[str]:
    vocab: dict[str, int] = vectorizer.vocabulary_
    terms = [""] * len(vocab)
    for term, index in vocab.items():
        terms[index] = term
    return terms


def _restore(
    terms: list[str], idf: np.ndarray, settings: ClassifierSettings, analyzer: str
) -> TfidfVectorizer:
    ngrams = settings.word_ngrams if analyzer == "word" else settings.char_ngrams
    vectorizer = TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=ngrams,
        sublinear_tf=True,
        preprocessor=normalise,
        vocabulary={t: i for i, t in enumerate(terms)},
    )
    vectorizer.idf_ = idf
    return vectorizer


def _fit_linear(
    x: sp.csr_matrix, y: Sequence[str], labels: list[str], c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weights over *all* labels (rows in ``labels`` order), whatever subset ``y`` covers."""
    present = sorted(set(y))
    coef = np.zeros((len(labels), x.shape[1]))
    # Labels absent from this fit can never win.
    intercept = np.full(len(labels), -1e3)
    index = {label: i for i, label in enumerate(labels)}
    if len(present) == 1:
        intercept[index[present[0]]] = 0.0
        return coef, intercept
    svm = LinearSVC(C=c)
    with warnings.catch_warnings():
        # Few-shot training has more labels than half the examples; sklearn then
        # suspects a regression target, which it is not.
        warnings.simplefilter("ignore", UserWarning)
        svm.fit(x, y)
    rows = [index[label] for label in svm.classes_]
    if len(present) == 2:
        # Binary LinearSVC keeps one weight vector for classes_[1].
        coef[rows[1]], intercept[rows[1]] = svm.coef_[0] / 2, svm.intercept_[0] / 2
        coef[rows[0]], intercept[rows[0]] = -svm.coef_[0] / 2, -svm.intercept_[0] / 2
    else:
        coef[rows], intercept[rows] = svm.coef_, svm.intercept_
    return coef, intercept


def _cross_validated_temperature(
    texts: Sequence[str],
    y: Sequence[str],
    labels: list[str],
    settings: ClassifierSettings,
    embedder: Embedder | None,
    dense: np.ndarray | None,
) -> float:
    folds = settings.calibration_folds
    stage_of = np.array([labels.index(label) for label in y])
    stage_names = sorted({_split_label(label)[0] for label in labels})
    if len(stage_names) < 2 or len(y) < 2 * folds:
        return settings.default_temperature
    # Deterministic stratified assignment: the n-th example of each label goes to fold n % k.
    seen: dict[str, int] = defaultdict(int)
    fold_of = np.empty(len(y), dtype=int)
    for i, label in enumerate(y):
        fold_of[i] = seen[label] % folds
        seen[label] += 1
    scores = np.zeros((len(y), len(labels)))
    for fold in range(folds):
        train = [int(i) for i in np.flatnonzero(fold_of != fold)]
        test = [int(i) for i in np.flatnonzero(fold_of == fold)]
        if not test or len({y[i] for i in train}) < 2:
            return settings.default_temperature
        train_texts = [texts[i] for i in train]
        features, x = _Features.fit(train_texts, settings, embedder, None if dense is None else dense[train])
        coef, intercept = _fit_linear(x, [y[i] for i in train], labels, settings.c)
        held_out = features.transform([texts[i] for i in test], None if dense is None else dense[test])
        scores[test] = np.asarray(held_out @ coef.T) + intercept
    to_stage = np.zeros((len(labels), len(stage_names)))
    for row, label in enumerate(labels):
        to_stage[row, stage_names.index(_split_label(label)[0])] = 1.0
    true_stage = np.array([stage_names.index(_split_label(labels[i])[0]) for i in stage_of])
    return fit_temperature(scores, to_stage, true_stage)
