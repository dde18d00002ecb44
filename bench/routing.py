"""Benchmark Seam's routing and grouping engine on a labelled text set, or on all four.

    python bench/routing.py --train TRAIN.csv [--test TEST.csv] --stages label_to_stage.csv
        [--k 5,10,25,all] [--seed N] [--text-col text] [--label-col category] [--embedder minilm|none]
    python bench/routing.py --datasets all --data ../shared/data [--train-cap 2000]

Without --test, a fixed stratified 80/20 split of --train (by label, seeded) is used.
Drives app.routing with its default settings; prints the encoder's status, one table per
data set, then one JSON line per data set.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score, confusion_matrix, f1_score, v_measure_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.journey.grouping import GroupingSettings
from app.routing.calibration import expected_calibration_error
from app.routing.classifier import ClassifierSettings, StageModel, TrainingExample, uses_issue_keys
from app.routing.embedding import Embedder, encoder_status, load_default_embedder
from app.routing.grouping import GroupingIndex
from app.routing.represent import LexicalEncoder, LongTextEmbedder
from app.routing.vector_index import VectorIndex
from bench.datasets import DATASETS, Row, load_dataset, read_rows, split
from bench.embed_cache import DiskCachedEmbedder
from bench.grouping_eval import auto_placed, baseline_k, baseline_stage
from bench.grouping_eval import grouping_from_nothing as grouping_pure


def k_per(rows: list[Row], key: dict[str, str] | None, k: int, seed: int) -> list[Row]:
    """k random rows per stage (key given) or per category (key None)."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[key[row[1]] if key else row[1]].append(row)
    rng = random.Random(seed)
    out: list[Row] = []
    for name in sorted(groups):
        out += rng.sample(groups[name], min(k, len(groups[name])))
    return out


class CachedEmbedder:
    """Encodes each distinct text once per run; results are identical to the wrapped encoder."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.cache = inner, inner.name, {}  # type: ignore[var-annotated]

    def warm(self, texts: Sequence[str]) -> None:
        todo = sorted({t for t in texts if t not in self.cache})
        for text, vector in zip(todo, self.inner.embed(todo), strict=True):
            self.cache[text] = vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.warm(texts)
        return np.stack([self.cache[t] for t in texts])


# -- measures ----------------------------------------------------------------------------------
def examples(rows: list[Row], stage_of: dict[str, str]) -> list[TrainingExample]:
    return [TrainingExample(text=t, stage=stage_of[c], issue_key=c) for t, c in rows]


def stage_routing(
    train: list[Row], test: list[Row], stage_of: dict[str, str], ks: list[str], emb: Embedder | None
) -> dict[str, Any]:
    texts = [t for t, _ in test]
    gold = [stage_of[c] for _, c in test]
    stages = sorted(set(stage_of[c] for _, c in train))
    out: dict[str, Any] = {}
    for k in ks:
        seeds = [0] if k == "all" else [0, 1, 2]
        runs: dict[str, list[dict[str, Any]]] = {"category": [], "stage": []}
        chosen: list[str] = []
        for seed in seeds:
            sample = train if k == "all" else k_per(train, stage_of, int(k), seed)
            # The default settings pick one of the two modes from the data; record which.
            auto = uses_issue_keys(examples(sample, stage_of), ClassifierSettings())
            chosen.append("category" if auto else "stage")
            for mode in runs:
                settings = ClassifierSettings(use_issue_keys=(mode == "category"))
                started = time.perf_counter()
                model = StageModel.train(examples(sample, stage_of), settings=settings, embedder=emb)
                seconds = time.perf_counter() - started
                preds = model.predict_many(texts)
                got = [p.stage for p in preds]
                correct = np.array([a == b for a, b in zip(got, gold, strict=True)])
                conf = np.array([p.confidence for p in preds])
                runs[mode].append(
                    {
                        "accuracy": float(correct.mean()),
                        "macro_f1": float(f1_score(gold, got, average="macro", labels=stages)),
                        "ece": expected_calibration_error(conf, correct),
                        "train_seconds": seconds,
                        "confusion": confusion_matrix(gold, got, labels=stages).tolist(),
                    }
                )
        out[k] = {
            mode: {
                "accuracy": float(np.mean([r["accuracy"] for r in rs])),
                "accuracy_sd": float(np.std([r["accuracy"] for r in rs])),
                "macro_f1": float(np.mean([r["macro_f1"] for r in rs])),
                "ece": float(np.mean([r["ece"] for r in rs])),
                "train_seconds": float(np.mean([r["train_seconds"] for r in rs])),
                "confusion": rs[0]["confusion"],
            }
            for mode, rs in runs.items()
        }
        out[k]["default_mode"] = Counter(chosen).most_common(1)[0][0]
    out["stages"] = stages
    return out


def selective(
    train: list[Row], test: list[Row], stage_of: dict[str, str], seed: int, emb: Embedder | None
) -> dict[str, Any]:
    """Thresholds chosen on a held-out 20 % of training data, applied to the test set."""
    fit, held = split(train, seed)
    model = StageModel.train(examples(fit, stage_of), embedder=emb)
    out: dict[str, Any] = {}
    held_p = model.predict_many([t for t, _ in held])
    test_p = model.predict_many([t for t, _ in test])
    h_conf = np.array([p.confidence for p in held_p])
    h_ok = np.array([p.stage == stage_of[c] for p, (_, c) in zip(held_p, held, strict=True)])
    t_conf = np.array([p.confidence for p in test_p])
    t_ok = np.array([p.stage == stage_of[c] for p, (_, c) in zip(test_p, test, strict=True)])
    out.update(auto_placed(h_conf, h_ok, t_conf, t_ok))
    out["test_ece"] = expected_calibration_error(t_conf, t_ok)
    out["test_accuracy"] = float(t_ok.mean())
    return out


def known_issue_placement(
    train: list[Row], test: list[Row], stage_of: dict[str, str], emb: Embedder | None
) -> dict[str, Any]:
    """Each category is an open issue seeded with its first k training items."""
    out: dict[str, Any] = {}
    for k in ("5", "10", "all"):
        seen: Counter[str] = Counter()
        seed_rows = []
        for text, cat in train:
            if k == "all" or seen[cat] < int(k):
                seen[cat] += 1
                seed_rows.append((text, cat))
        index = GroupingIndex.rebuild(((c, stage_of[c], t, None) for t, c in seed_rows), embedder=emb)
        placed = [index.place(t, stage_of[c]) for t, c in test]
        joined = np.mean([p.issue_id == c for p, (_, c) in zip(placed, test, strict=True)])
        forced = GroupingIndex.rebuild(
            ((c, stage_of[c], t, None) for t, c in seed_rows),
            GroupingSettings(threshold=0.0, embedding_threshold=0.0),
            embedder=emb,
        )
        nearest = np.mean([forced.place(t, stage_of[c]).issue_id == c for t, c in test])
        # Placing into known issues needs an issue-level model, whatever k is.
        by_issue = ClassifierSettings(use_issue_keys=True)
        model = StageModel.train(examples(seed_rows, stage_of), settings=by_issue, embedder=emb)
        predicted = np.mean(
            [
                p.issue_key == c
                for p, (_, c) in zip(model.predict_many([t for t, _ in test]), test, strict=True)
            ]
        )
        out[k] = {
            "grouping_index": float(joined),
            "grouping_index_forced": float(nearest),
            "classifier": float(predicted),
        }
    return out


def purity(gold: list[str], pred: list[str]) -> float:
    by_issue: dict[str, Counter[str]] = defaultdict(Counter)
    for g, p in zip(gold, pred, strict=True):
        by_issue[p][g] += 1
    return sum(c.most_common(1)[0][1] for c in by_issue.values()) / len(gold)


def grouping_from_nothing(
    train: list[Row], test: list[Row], stage_of: dict[str, str], seed: int, emb: Embedder | None
) -> dict[str, Any]:
    rows = test[:]
    random.Random(seed).shuffle(rows)
    index = GroupingIndex(embedder=emb)
    # Training texts stand for unlabelled history: they only set term weights.
    index.observe(t for t, _ in train)
    pred: dict[str, list[str]] = defaultdict(list)
    gold: dict[str, list[str]] = defaultdict(list)
    opened = 0
    for text, cat in rows:
        stage = stage_of[cat]
        placement = index.place(text, stage)
        if placement.issue_id is None:
            opened += 1
            issue = f"new-{opened}"
            index.add_item(issue, text, stage=stage)
        else:
            issue = placement.issue_id
            index.add_item(issue, text)
        pred[stage].append(issue)
        gold[stage].append(cat)
    per_stage = {
        s: {
            "ari": float(adjusted_rand_score(gold[s], pred[s])),
            "v_measure": float(v_measure_score(gold[s], pred[s])),
            "purity": purity(gold[s], pred[s]),
            "issues": len(set(pred[s])),
            "categories": len(set(gold[s])),
        }
        for s in sorted(gold)
    }
    weights = [len(gold[s]) for s in per_stage]
    all_gold = [g for s in sorted(gold) for g in gold[s]]
    all_pred = [p for s in sorted(gold) for p in pred[s]]
    return {
        "ari": float(np.average([v["ari"] for v in per_stage.values()], weights=weights)),
        "v_measure": float(np.average([v["v_measure"] for v in per_stage.values()], weights=weights)),
        "purity": float(np.average([v["purity"] for v in per_stage.values()], weights=weights)),
        "ari_pooled": float(adjusted_rand_score(all_gold, all_pred)),
        "v_measure_pooled": float(v_measure_score(all_gold, all_pred)),
        "issues": opened,
        "categories": len(set(all_gold)),
        "per_stage": per_stage,
    }


BATCH = 100  # items per placed batch, as an API batch or a deferred placement brings them


def placement_cost(
    train: list[Row],
    test: list[Row],
    stage_of: dict[str, str],
    seed: int,
    sizes: list[int],
    emb: Embedder | None = None,
) -> dict[str, Any]:
    """Open issues synthesised from training texts (1-3 each); place test items into them. With `emb`,
    the same issues in the sentence-vector index as well (the default install's), from the same texts'
    vectors: its cost is one product over the scope's groups, whatever the texts say."""
    rng = random.Random(seed)
    by_cat: dict[str, list[str]] = defaultdict(list)
    for text, cat in train:
        by_cat[cat].append(text)
    cats = sorted(by_cat)
    index = GroupingIndex()
    probe = [(t, stage_of[c]) for t, c in test][:2000]
    vectors: dict[str, Any] = {}
    vindex: VectorIndex | None = None
    if emb is not None:
        texts = list(dict.fromkeys([t for t, _ in train] + [t for t, _ in probe]))
        vectors = dict(zip(texts, emb.embed(texts), strict=True))
        vindex = VectorIndex()
    out: dict[str, Any] = {}
    made = 0
    for size in sizes:
        while made < size:
            cat = rng.choice(cats)
            for text in rng.sample(by_cat[cat], min(len(by_cat[cat]), rng.randint(1, 3))):
                index.add_item(f"s{made}", text, stage=stage_of[cat])
                if vindex is not None:
                    vindex.add_item(f"s{made}", text, stage=stage_of[cat], vector=vectors[text])
            made += 1
        reads = cands = 0
        seconds = float("inf")
        # Best of three passes: the figure is the engine's cost, not a neighbour's load.
        for _ in range(3):
            reads = cands = 0
            started = time.process_time()
            for text, stage in probe:
                index.place(text, stage)
                reads += index.last_cost.postings_read
                cands += index.last_cost.candidates_scored
            seconds = min(seconds, time.process_time() - started)
        out[str(size)] = {
            "items_per_second": len(probe) / seconds,
            "postings_read": reads / len(probe),
            "candidates_scored": cands / len(probe),
        }
        if vindex is not None:
            vseconds = float("inf")
            for _ in range(3):
                started = time.process_time()
                for text, stage in probe:
                    vindex.place(text, stage, vector=vectors[text])
                vseconds = min(vseconds, time.process_time() - started)
            out[str(size)]["vector_items_per_second"] = len(probe) / vseconds
            # As ingest places a batch: its vectors scored in one product per scope first.
            bseconds = float("inf")
            for _ in range(3):
                started = time.process_time()
                for at in range(0, len(probe), BATCH):
                    chunk = probe[at : at + BATCH]
                    vindex.prefetch([(stage, vectors[text]) for text, stage in chunk])
                    for text, stage in chunk:
                        vindex.place(text, stage, vector=vectors[text])
                    vindex.release()
                bseconds = min(bseconds, time.process_time() - started)
            out[str(size)]["vector_batch_items_per_second"] = len(probe) / bseconds
    first, last = out[str(sizes[0])], out[str(sizes[-1])]
    out["ratio_last_to_first"] = last["items_per_second"] / first["items_per_second"]
    if vindex is not None:
        out["vector_ratio_last_to_first"] = last["vector_items_per_second"] / first["vector_items_per_second"]
        out["vector_batch_ratio_last_to_first"] = (
            last["vector_batch_items_per_second"] / first["vector_items_per_second"]
        )
    return out


def footprint(train: list[Row], stage_of: dict[str, str], emb: Embedder | None) -> dict[str, Any]:
    started = time.perf_counter()
    model = StageModel.train(examples(train, stage_of), embedder=emb)
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.npz")
        model.save(path)
        size = os.path.getsize(path)
        tracemalloc.start()
        loaded = StageModel.load(path, embedder=emb)
        loaded.predict("warm up")
        memory = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    return {
        "train_seconds": seconds,
        "model_bytes": size,
        "memory_bytes": memory,
        "temperature": model.temperature,
        "version": model.version,
    }


# -- report ------------------------------------------------------------------------------------
# With --datasets, keep the run on all four within about 10 minutes on 2 shared cores: the encoder
# (about 30 short or 4 long texts per second there) is the cost. (train rows, test rows); None = all.
QUICK_CAPS: dict[str, tuple[int | None, int | None]] = {
    "banking77": (1500, 770),
    "bitext": (1000, 500),
    "cfpb_complaints": (300, 300),
    "mams_restaurant": (800, None),
}


def table(result: dict[str, Any]) -> str:
    lines = [f"{'measure':58s} {'value':>10s}"]

    def add(name: str, value: Any) -> None:
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(f"{name:58s} {shown:>10s}")

    for label, part in result["runs"].items():
        lines.append(f"-- {label}")
        routing = part["stage_routing"]
        for k, modes in routing.items():
            if k == "stages":
                continue
            for mode in ("category", "stage"):
                m = modes[mode]
                if mode == modes["default_mode"]:
                    mode += " (default)"
                add(
                    f"stage acc / macro-F1, k={k}/stage, via {mode}",
                    f"{m['accuracy']:.3f} / {m['macro_f1']:.3f}",
                )
            add(f"  calibration error (ECE), k={k}, default", modes[modes["default_mode"]]["ece"])
        base = result["baseline"]
        for k, acc in base["k"].items():
            add(f"baseline TF-IDF LR stage acc, k={k}/stage", acc)
        for key, sel in part["selective"].items():
            if key.startswith("p"):
                b = base[key]
                add(
                    f"selective: placed share at {key[1:]}% (precision) / baseline",
                    f"{sel['placed_share']:.3f} ({sel['placed_precision'] or 0:.3f})"
                    f" / {b['placed_share']:.3f}",
                )
        for k, m in part["placement"].items():
            add(
                f"known-issue placement k={k}: index / nearest / classifier",
                f"{m['grouping_index']:.3f}/{m['grouping_index_forced']:.3f}/{m['classifier']:.3f}",
            )
        g = part["grouping"]
        add("grouping index (online only): ARI / V-measure", f"{g['ari']:.3f} / {g['v_measure']:.3f}")
        add("seconds: " + ", ".join(f"{k} {v}" for k, v in part["seconds"].items()), "")
        _pure_rows(add, part["grouping_pure"])
        f = part.get("footprint")
        if f:
            add(
                "training seconds (all data) / model MB / memory MB",
                f"{f['train_seconds']:.1f}/{f['model_bytes'] / 1e6:.1f}/{f['memory_bytes'] / 1e6:.1f}",
            )
    if "cost" in result:
        for size, c in result["cost"].items():
            if not size.endswith("ratio_last_to_first"):
                add(
                    f"placement cost, {size} open issues: items/s (postings read)",
                    f"{c['items_per_second']:.0f} ({c['postings_read']:.0f})",
                )
                if "vector_items_per_second" in c:
                    add(
                        "  sentence-vector index: items/s, one by one / in batches",
                        f"{c['vector_items_per_second']:.0f} / {c['vector_batch_items_per_second']:.0f}",
                    )
        add("placement throughput ratio (largest / smallest)", result["cost"]["ratio_last_to_first"])
        if "vector_ratio_last_to_first" in result["cost"]:
            add("  sentence-vector index ratio, one by one", result["cost"]["vector_ratio_last_to_first"])
            add(
                "  sentence-vector index ratio, in batches / one by one at the smallest",
                result["cost"]["vector_batch_ratio_last_to_first"],
            )
    return "\n".join(lines)


def _pure_rows(add: Any, p: dict[str, Any]) -> None:
    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    add("grouping (online + consolidation): issues per 100 items", f"{p['issues_per_100']:.1f}")
    add("  coverage (share in groups of >= 3)", f(p["coverage"]))
    add("  covered purity / chance", f"{f(p['covered_purity'])} / {f(p['chance_purity'])}")
    add("  ARI / V-measure (stages with >= 2 labels)", f"{f(p['ari'])} / {f(p['v_measure'])}")
    add(
        f"  order independence: ARI of two orders ({p['consolidations']} passes / final only)",
        f"{f(p['order_ari'])} / {f(p['order_ari_final_only'])}",
    )
    once = p["final_only"]
    add(
        "  final pass only: ARI / V / coverage",
        f"{f(once['ari'])} / {f(once['v_measure'])} / {f(once['coverage'])}",
    )
    if p["praise_items"]:
        add(f"  praise items ({p['praise_items']}) in complaint groups", f(p["praise_in_complaint_groups"]))
    add("  complaint items in praise groups", f(p["complaints_in_praise_groups"]))


def run_set(
    train: list[Row],
    test: list[Row],
    stage_of: dict[str, str],
    args: argparse.Namespace,
    configs: dict[str, Embedder | None],
    praise: Sequence[tuple[str, str]] = (),
    *,
    full: bool = True,
) -> dict[str, Any]:
    ks = [k.strip() for k in args.k.split(",")]
    result: dict[str, Any] = {
        "n_train": len(train),
        "n_test": len(test),
        "seed": args.seed,
        "grouping_settings_version": GroupingSettings().version,
        "classifier_settings_version": ClassifierSettings().version,
        "encoder_status": encoder_status(),
        "runs": {},
    }
    began = time.perf_counter()
    base = baseline_stage(train, test, stage_of, args.seed)
    base["k"] = {
        k: (base["accuracy"] if k == "all" else baseline_k(train, test, stage_of, int(k))) for k in ks
    }
    base["seconds"] = round(time.perf_counter() - began, 1)
    result["baseline"] = base
    for label, emb in configs.items():
        if args.cost_only:
            break
        if emb is None:
            lexical = LexicalEncoder([t for t, _ in train])
            vectorise = lexical.embed
        else:
            vectorise = emb.embed
        result["runs"][label] = _run_config(train, test, stage_of, args, emb, vectorise, praise, ks, full)
    sizes = [int(s) for s in args.cost_sizes.split(",") if s.strip()]
    if sizes:
        encoders = [e for e in configs.values() if e is not None]
        result["cost"] = placement_cost(
            train, test, stage_of, args.seed, sizes, encoders[0] if encoders else None
        )
    return result


def _run_config(
    train: list[Row],
    test: list[Row],
    stage_of: dict[str, str],
    args: argparse.Namespace,
    emb: Embedder | None,
    vectorise: Any,
    praise: Sequence[tuple[str, str]],
    ks: list[str],
    full: bool,
) -> dict[str, Any]:
    parts: dict[str, Any] = {
        "stage_routing": lambda: stage_routing(train, test, stage_of, ks, emb),
        "selective": lambda: selective(train, test, stage_of, args.seed, emb),
        "placement": lambda: known_issue_placement(train, test, stage_of, emb),
        "grouping": lambda: grouping_from_nothing(train, test, stage_of, args.seed, emb),
        "grouping_pure": lambda: grouping_pure(
            train, test, stage_of, vectorise, praise=praise, seed=args.seed
        ),
    }
    if full:
        parts["footprint"] = lambda: footprint(train, stage_of, emb)
    run: dict[str, Any] = {"seconds": {}}
    for name, measure in parts.items():
        began = time.perf_counter()
        run[name] = measure()
        run["seconds"][name] = round(time.perf_counter() - began, 1)
    return run


def _configs(
    args: argparse.Namespace, texts: list[str], parser: argparse.ArgumentParser
) -> dict[str, Embedder | None]:
    configs: dict[str, Embedder | None] = {"tfidf (encoder absent)": None}
    if args.embedder == "minilm":
        inner = load_default_embedder(threads=args.threads)
        if inner is None:
            parser.error(f"--embedder minilm: {encoder_status()['reason']}")
        inner = LongTextEmbedder(inner, args.long_text)
        if args.cache:
            inner = DiskCachedEmbedder(inner, args.cache)
        cached = CachedEmbedder(inner)
        cached.warm(texts)
        configs[f"tfidf+minilm ({args.long_text}; default install)"] = cached
    return configs


def _run_datasets(args: argparse.Namespace, parser: argparse.ArgumentParser, started: float) -> None:
    names = list(DATASETS) if args.datasets == "all" else args.datasets.split(",")
    for name in names:
        train_cap, test_cap = QUICK_CAPS[name] if args.caps == "quick" else (None, None)
        data = load_dataset(
            name,
            args.data,
            seed=args.seed,
            train_cap=args.train_cap or train_cap,
            test_cap=args.test_cap or test_cap,
        )
        configs = _configs(args, [t for t, _ in data.train + data.test] + [t for t, _ in data.praise], parser)
        print("encoder:", json.dumps(encoder_status()), flush=True)
        result = run_set(data.train, data.test, data.stage_of, args, configs, data.praise, full=False)
        result.update(dataset=name, notes=data.notes, seconds=time.perf_counter() - started)
        print(
            f"== {name}: {len(data.train)} train, {len(data.test)} test; "
            f"{'; '.join(data.notes) or 'no subsampling'}"
        )
        print(table(result))
        print(json.dumps(result, separators=(",", ":")))
    print(f"encoder: {json.dumps(encoder_status())}; total {time.perf_counter() - started:.0f} s")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--train")
    parser.add_argument("--test")
    parser.add_argument("--stages")
    parser.add_argument("--datasets", help="'all' or a comma list of " + ",".join(DATASETS))
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--train-cap", type=int, help="subsample training rows (seeded)")
    parser.add_argument(
        "--caps", choices=["quick", "none"], default="quick", help="with --datasets: the subsamples below"
    )
    parser.add_argument("--test-cap", type=int, help="subsample test rows (seeded)")
    parser.add_argument("--k", default="5,10,25,all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--label-col", default="category")
    parser.add_argument("--embedder", choices=["none", "minilm"], default="minilm")
    parser.add_argument("--long-text", choices=["lead", "chunks"], default="chunks")
    parser.add_argument("--threads", type=int, default=1, help="encoder threads")
    parser.add_argument("--cache", help="folder for an on-disk cache of sentence vectors (off by default)")
    parser.add_argument("--cost-sizes", default="1000,10000,100000")
    parser.add_argument("--cost-only", action="store_true", help="only the placement-cost figures")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.datasets:
        _run_datasets(args, parser, started)
        return
    if not (args.train and args.stages):
        parser.error("give --train and --stages, or --datasets")
    rows = read_rows(args.train, args.text_col, args.label_col)
    if args.test:
        train, test = rows, read_rows(args.test, args.text_col, args.label_col)
    else:
        train, test = split(rows, args.seed)
    with open(args.stages, newline="", encoding="utf-8") as handle:
        stage_of = {r["label"]: r["stage"] for r in csv.DictReader(handle)}
    missing = sorted({c for _, c in train + test} - set(stage_of))
    if missing:
        parser.error(f"labels without a stage in {args.stages}: {missing[:5]}")
    configs = _configs(args, [t for t, _ in train + test], parser)
    print("encoder:", json.dumps(encoder_status()))
    result = run_set(train, test, stage_of, args, configs)
    result.update(train=args.train, test=args.test or f"split of train (20%, seed {args.seed})")
    print(table(result))
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
