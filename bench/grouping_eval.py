"""Grouping from nothing with the pure engine (sentiment → represent → thresholds → consolidate),
and a TF-IDF logistic-regression stage baseline; used by bench/routing.py."""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, f1_score, v_measure_score
from sklearn.pipeline import make_pipeline, make_union

from app.core.text import normalise
from app.routing.consolidate import ConsolidationSettings, GroupBook, Item
from app.routing.represent import centre
from app.routing.sentiment import classify
from app.routing.thresholds import ThresholdSettings, calibrate
from bench.datasets import PRAISE, Row, split

Vectorise = Callable[[Sequence[str]], np.ndarray]
# (item id, stage, gold label, vector, polarity as read)
Streamed = tuple[str, str, str, np.ndarray, str]


def _purity(gold: Sequence[str], pred: Sequence[str]) -> float:
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for g, p in zip(gold, pred, strict=True):
        by[p][g] += 1
    return sum(c.most_common(1)[0][1] for c in by.values()) / max(len(gold), 1)


def _run(
    stream: list[Streamed],
    thresholds: dict[str, float],
    seed: int,
    consolidations: int,
) -> dict[str, str]:
    """Online placement in a seeded order, consolidating ``consolidations`` times, then once more."""
    order = stream[:]
    random.Random(seed).shuffle(order)
    book = GroupBook(thresholds, ConsolidationSettings())
    every = max(1, len(order) // consolidations) if consolidations else 0
    for n, (item_id, stage, _, vector, polarity) in enumerate(order, start=1):
        book.add(Item(item_id, stage, vector, "praise" if polarity == "praise" else "complaint"))
        if every and n % every == 0:
            book.consolidate()
    book.consolidate()
    return book.assignment()


def _stage_figures(
    gold: list[str], pred: list[str], sizes: Counter[str], rng: random.Random
) -> dict[str, Any]:
    covered = [i for i, p in enumerate(pred) if sizes[p] >= 3]
    cg = [gold[i] for i in covered]
    cp = [pred[i] for i in covered]
    shuffled = []
    for _ in range(5):
        labels = gold[:]
        rng.shuffle(labels)
        shuffled.append(_purity([labels[i] for i in covered], cp) if covered else 0.0)
    out: dict[str, Any] = {
        "items": len(gold),
        "labels": len(set(gold)),
        "coverage": len(covered) / len(gold),
        "covered_purity": _purity(cg, cp) if covered else 0.0,
        "chance_purity": float(np.mean(shuffled)),
        "issues": sum(1 for p in set(pred) if sizes[p] >= 3),
        "groups": len(set(pred)),
    }
    if len(set(gold)) >= 2:
        out["ari"] = float(adjusted_rand_score(gold, pred))
        out["v_measure"] = float(v_measure_score(gold, pred))
    return out


def grouping_from_nothing(
    train: list[Row],
    test: list[Row],
    stage_of: dict[str, str],
    vectorise: Vectorise,
    *,
    praise: Sequence[tuple[str, str]] = (),
    seed: int = 0,
    consolidations: int = 4,
) -> dict[str, Any]:
    """Thresholds per stage from unlabelled history (train texts, as many per stage as arrive),
    then test items (plus praise items) stream in, each in its true stage."""
    started = time.perf_counter()
    rng = random.Random(seed)
    arriving = Counter(stage_of[c] for _, c in test)
    history: dict[str, list[str]] = defaultdict(list)
    for text, cat in train:
        history[stage_of[cat]].append(text)
    picked = {s: rng.sample(h, min(len(h), max(arriving[s], 20))) for s, h in sorted(history.items())}
    flat = [t for s in sorted(picked) for t in picked[s]]
    hist_vectors = vectorise(flat)
    mean = hist_vectors.mean(axis=0)
    hist_vectors = centre(hist_vectors, mean)
    thresholds: dict[str, Any] = {}
    start = 0
    for s in sorted(picked):
        n = len(picked[s])
        thresholds[s] = calibrate(hist_vectors[start : start + n], ThresholdSettings())
        start += n
    rows = [(t, c, s) for t, c in test for s in [stage_of[c]]] + [(t, PRAISE, s) for t, s in praise]
    vectors = centre(vectorise([t for t, _, _ in rows]), mean)
    stream: list[Streamed] = [
        (str(i), s, c, vectors[i], classify(t).polarity)
        for i, (t, c, s) in enumerate(rows)
        if s in thresholds
    ]
    th = {s: c.threshold for s, c in thresholds.items()}
    first = _run(stream, th, seed, consolidations)
    second = _run(stream, th, seed + 1, consolidations)
    ids = [item_id for item_id, *_ in stream]
    out = _summarise(stream, first, rng)
    out["order_ari"] = float(adjusted_rand_score([first[i] for i in ids], [second[i] for i in ids]))
    # With one consolidation at the end only, arrival order can matter only through ties.
    once = [_run(stream, th, seed + k, 0) for k in (0, 1)]
    out["order_ari_final_only"] = float(
        adjusted_rand_score([once[0][i] for i in ids], [once[1][i] for i in ids])
    )
    out["final_only"] = {k: v for k, v in _summarise(stream, once[0], rng).items() if k != "per_stage"}
    out["consolidations"] = consolidations
    out["thresholds"] = {s: vars(c) for s, c in thresholds.items()}
    out["seconds"] = time.perf_counter() - started
    return out


def _summarise(stream: list[Streamed], assign: dict[str, str], rng: random.Random) -> dict[str, Any]:
    sizes = Counter(assign.values())
    # Groups have one polarity, so an item is in a praise group exactly when it was read as praise.
    praise_groups = {assign[i] for i, _, _, _, pol in stream if pol == "praise"}
    per_stage: dict[str, Any] = {}
    for stage in sorted({s for _, s, *_ in stream}):
        members = [(i, c) for i, s, c, _, _ in stream if s == stage and c != PRAISE]
        if members:
            per_stage[stage] = _stage_figures(
                [c for _, c in members], [assign[i] for i, _ in members], sizes, rng
            )
    weights = {s: v["items"] for s, v in per_stage.items()}

    def mean(key: str) -> float | None:
        have = [s for s in per_stage if key in per_stage[s]]
        if not have:
            return None
        return float(np.average([per_stage[s][key] for s in have], weights=[weights[s] for s in have]))

    total = sum(weights.values())
    praise_items = [(i, pol) for i, _, c, _, pol in stream if c == PRAISE]
    in_complaint = [assign[i] not in praise_groups for i, _ in praise_items]
    complaint_ids = [i for i, _, c, _, _ in stream if c != PRAISE]
    return {
        "items": total,
        "issues_per_100": 100.0 * sum(v["issues"] for v in per_stage.values()) / max(total, 1),
        "groups_per_100": 100.0 * sum(v["groups"] for v in per_stage.values()) / max(total, 1),
        "coverage": mean("coverage"),
        "covered_purity": mean("covered_purity"),
        "chance_purity": mean("chance_purity"),
        "ari": mean("ari"),
        "v_measure": mean("v_measure"),
        "praise_items": len(praise_items),
        "praise_in_complaint_groups": float(np.mean(in_complaint)) if praise_items else None,
        "complaints_in_praise_groups": float(np.mean([assign[i] in praise_groups for i in complaint_ids])),
        "per_stage": per_stage,
    }


def _lr_pipeline() -> Any:
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalise),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=normalise),
    )
    return make_pipeline(features, LogisticRegression(C=10.0, max_iter=1000))


def baseline_stage(train: list[Row], test: list[Row], stage_of: dict[str, str], seed: int) -> dict[str, Any]:
    """TF-IDF (word 1-2 + char 2-5) logistic regression on stages: accuracy, macro-F1 and the share
    placed at 90/95/99 % precision (thresholds from a held-out 20 % of train, as bench/routing.py)."""
    gold = [stage_of[c] for _, c in test]
    model = _lr_pipeline().fit([t for t, _ in train], [stage_of[c] for _, c in train])
    got = list(model.predict([t for t, _ in test]))
    out: dict[str, Any] = {
        "accuracy": float(np.mean([a == b for a, b in zip(got, gold, strict=True)])),
        "macro_f1": float(f1_score(gold, got, average="macro")),
    }
    fit, held = split(train, seed)
    model = _lr_pipeline().fit([t for t, _ in fit], [stage_of[c] for _, c in fit])
    h_p = model.predict_proba([t for t, _ in held])
    t_p = model.predict_proba([t for t, _ in test])
    classes = list(model.classes_)
    h_ok = np.array([classes[int(i)] == stage_of[c] for i, (_, c) in zip(h_p.argmax(1), held, strict=True)])
    t_ok = np.array([classes[int(i)] == stage_of[c] for i, (_, c) in zip(t_p.argmax(1), test, strict=True)])
    h_conf, t_conf = h_p.max(1), t_p.max(1)
    out.update(auto_placed(h_conf, h_ok, t_conf, t_ok))
    return out


def baseline_k(train: list[Row], test: list[Row], stage_of: dict[str, str], k: int, seeds: int = 3) -> float:
    """The same baseline trained on k random items per stage (mean over seeds)."""
    scores = []
    for seed in range(seeds):
        by: dict[str, list[Row]] = defaultdict(list)
        for row in train:
            by[stage_of[row[1]]].append(row)
        rng = random.Random(seed)
        sample = [r for s in sorted(by) for r in rng.sample(by[s], min(k, len(by[s])))]
        if len({stage_of[c] for _, c in sample}) < 2:
            continue
        model = _lr_pipeline().fit([t for t, _ in sample], [stage_of[c] for _, c in sample])
        got = model.predict([t for t, _ in test])
        scores.append(float(np.mean([g == stage_of[c] for g, (_, c) in zip(got, test, strict=True)])))
    return float(np.mean(scores)) if scores else 0.0


def auto_placed(h_conf: np.ndarray, h_ok: np.ndarray, t_conf: np.ndarray, t_ok: np.ndarray) -> dict[str, Any]:
    """For each precision target: the confidence threshold that reaches it on the held-out part, and
    the share of test items placed above it (with the precision they really have)."""
    out: dict[str, Any] = {}
    order = np.argsort(-h_conf)
    running = np.cumsum(h_ok[order]) / np.arange(1, len(order) + 1)
    for target in (0.90, 0.95, 0.99):
        good = np.flatnonzero(running >= target)
        threshold = float(h_conf[order][good[-1]]) if len(good) else 1.01
        placed = t_conf >= threshold
        out[f"p{int(target * 100)}"] = {
            "threshold": threshold,
            "placed_share": float(placed.mean()),
            "placed_precision": float(t_ok[placed].mean()) if placed.any() else None,
        }
    return out
