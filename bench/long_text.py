"""Which representation of long complaint narratives groups best: leading window, chunk pooling,
or key sentences (app.routing.represent), on a seeded sample of CFPB dev.

    python bench/long_text.py --data ../shared/data [--n 300] [--threads 2] [--cache DIR]

Per strategy: leave-one-out nearest-neighbour accuracy of the issue label and of the stage
(inside the sample), and per-stage average-linkage grouping at the threshold calibrated on
the sample's own (unlabelled) vectors: ARI, coverage and covered purity, size-weighted.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.routing.embedding import Embedder, encoder_status, load_default_embedder
from app.routing.represent import centre, document_frequencies, represent
from app.routing.thresholds import calibrate
from bench.datasets import load_dataset
from bench.embed_cache import DiskCachedEmbedder


def _grouping(v: np.ndarray, labels: np.ndarray, stages: np.ndarray) -> tuple[float, float, float]:
    rows, weights = [], []
    for stage in sorted(set(stages.tolist())):
        idx = np.flatnonzero(stages == stage)
        if len(idx) < 5:
            continue
        t = calibrate(v[idx]).threshold
        groups = fcluster(linkage(v[idx], "average", metric="cosine"), 1 - t, "distance")
        sizes = Counter(groups.tolist())
        covered = [i for i, g in enumerate(groups) if sizes[g] >= 3]
        by: dict[int, Counter[str]] = defaultdict(Counter)
        for i in covered:
            by[int(groups[i])][str(labels[idx][i])] += 1
        purity = sum(c.most_common(1)[0][1] for c in by.values()) / max(len(covered), 1)
        rows.append((adjusted_rand_score(labels[idx], groups), len(covered) / len(idx), purity))
        weights.append(len(idx))
    ari, cov, pur = np.average(np.array(rows), axis=0, weights=weights)
    return float(ari), float(cov), float(pur)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache")
    args = parser.parse_args(argv)
    data = load_dataset("cfpb_complaints", args.data)
    sample = data.test[:]
    random.Random(args.seed).shuffle(sample)
    sample = sample[: args.n]
    df, n_docs = document_frequencies(t for t, _ in data.train)
    inner = load_default_embedder(threads=args.threads)
    print("encoder:", encoder_status())
    if inner is None:
        raise SystemExit("the sentence encoder did not load")
    emb: Embedder = DiskCachedEmbedder(inner, args.cache) if args.cache else inner
    labels = np.array([c for _, c in sample])
    stages = np.array([data.stage_of[c] for c in labels])
    print(
        f"{'strategy':10s} {'1-NN issue':>10s} {'1-NN stage':>10s}"
        f" {'ARI':>6s} {'cover':>6s} {'purity':>6s} {'s':>5s}"
    )
    for strategy in ("lead", "key", "chunks"):
        started = time.perf_counter()
        v = represent([t for t, _ in sample], emb, strategy, df=df, n_docs=n_docs)
        seconds = time.perf_counter() - started
        v = centre(v, v.mean(axis=0))
        sim = v @ v.T
        np.fill_diagonal(sim, -9.0)
        nn = sim.argmax(axis=1)
        ari, cov, pur = _grouping(v, labels, stages)
        print(
            f"{strategy:10s} {np.mean(labels[nn] == labels):10.3f} {np.mean(stages[nn] == stages):10.3f}"
            f" {ari:6.3f} {cov:6.3f} {pur:6.3f} {seconds:5.0f}"
        )


if __name__ == "__main__":
    main()
