"""Grouping as the running service does it, on the shared labelled data sets.

Where `bench/routing.py` measures the engine's functions, this goes through the service itself: a
journey with one stage per data set stage (items arrive at a touchpoint of their true stage, so this
measures grouping, not routing), `app.intake.ingest.ingest` in batches into a real database (the
live `VectorIndex`, emerging groups, the journey's default evidence rule), and the scheduled
consolidation pass (`app.routing.consolidation.run_pass`: calibration, regrouping, promotion).

1. History: the training rows (unlabelled) are ingested and one pass calibrates each stage.
2. Stream: the test rows (MAMS: plus praise sentences) arrive in a seeded order in batches of
   ``--batch``, with a pass every ``--pass-every`` batches and one at the end.
3. Figures over the test items' final groups (issue or emerging group; a compliment or an item with
   no group is its own): issues per 100 items, coverage, covered purity and its chance level, ARI and
   V-measure, praise in complaint groups; and the ARI between the final groupings of two arrival
   orders (the same items, the second order reversed).

    .venv/bin/python -u bench/service_grouping.py --data ../shared/data --datasets all
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import select
from sqlmodel import Session

from app import wiring
from app.core.actor import Actor
from app.core.settings import Settings
from app.feedback.models import FeedbackItem
from app.intake import ingest as intake
from app.journey import service as journeys
from app.routing import consolidation
from app.routing.embedding import encoder_status
from bench import _common
from bench.datasets import DATASETS, PRAISE, load_dataset
from bench.grouping_eval import _stage_figures
from bench.routing import QUICK_CAPS

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]


def _key(stage: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in stage.lower()).strip("-") or "stage"


def journey_for(stages: list[str]) -> dict[str, Any]:
    keys = {s: _key(s) for s in stages}
    return {
        "name": "bench",
        "cx_lead": "lead",
        "people": [{"id": "lead", "name": "Lead", "email": "lead@example.com"}],
        "stages": [{"key": k, "name": s, "owner": "lead", "moments": []} for s, k in keys.items()],
        "touchpoints": [{"key": f"tp-{k}", "stage": k} for k in keys.values()],
        "routing": {"touchpoint_grouping": "similarity"},
    }


def _ingest(session: Session, rows: list[dict[str, Any]], batch: int, every: int) -> None:
    journey = journeys.current(session)
    for n, start in enumerate(range(0, len(rows), batch)):
        good, bad = intake.validate_raw(rows[start : start + batch])
        assert not bad, bad
        intake.ingest(session, journey, good, Actor("bench"))
        session.commit()
        if every and (n + 1) % every == 0:
            consolidation.run_pass(session, journey)
            session.commit()


def run_order(
    data: Any, order: list[int], stream: list[tuple[str, str]], args: argparse.Namespace
) -> dict[str, Any]:
    stages = sorted(set(data.stage_of.values()))
    keys = {s: _key(s) for s in stages}
    with _common.fresh_database(args.db) as engine:
        wiring.start_process(Settings(database_url=engine.url.render_as_string(hide_password=False)), engine)
        with Session(engine, expire_on_commit=False) as session:
            journeys.apply(session, journey_for(stages), actor="bench")
            history = [
                {
                    "source": "history",
                    "external_id": f"h{i}",
                    "text": t,
                    "touchpoint": f"tp-{keys[data.stage_of[c]]}",
                }
                for i, (t, c) in enumerate(data.train)
                if c in data.stage_of
            ]
            started = time.perf_counter()
            _ingest(session, history, args.batch, 0)
            report = consolidation.run_pass(session, journeys.current(session))
            session.commit()
            history_s = time.perf_counter() - started
            rows = []
            for i in order:
                text, stage = stream[i]
                rows.append(
                    {
                        "source": "stream",
                        "external_id": f"s{i}",
                        "text": text,
                        "touchpoint": f"tp-{keys[stage]}",
                    }
                )
            started = time.perf_counter()
            _ingest(session, rows, args.batch, args.pass_every)
            consolidation.run_pass(session, journeys.current(session))
            session.commit()
            stream_s = time.perf_counter() - started
            c = ITEMS.c
            # Group sizes over every member, history included: what an owner sees on the issue.
            sizes = Counter(
                f"i{r.issue_id}" for r in session.execute(select(c.issue_id).where(c.issue_id.is_not(None)))
            )
            got = {
                r.external_id: (f"i{r.issue_id}" if r.issue_id is not None else f"x{r.id}", r.placement)
                for r in session.execute(
                    select(c.external_id, c.issue_id, c.id, c.placement).where(c.source == "stream")
                )
            }
    return {
        "assign": got,
        "sizes": sizes,
        "thresholds": report.thresholds,
        "history_s": history_s,
        "stream_s": stream_s,
    }


def figures(
    stream: list[tuple[str, str]], labels: list[str], got: dict[str, Any], all_sizes: Counter[str], seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    assign = {i: got[f"s{i}"][0] for i in range(len(stream))}
    sizes = Counter(assign.values())
    # A group's size is all its members', history included; an ungrouped item is a group of one.
    sizes.update({k: v - sizes[k] for k, v in all_sizes.items() if v > sizes[k]})
    per_stage = {}
    for stage in sorted({s for _, s in stream}):
        members = [i for i, (_, s) in enumerate(stream) if s == stage and labels[i] != PRAISE]
        if members:
            per_stage[stage] = _stage_figures(
                [labels[i] for i in members], [assign[i] for i in members], sizes, rng
            )
    weights = {s: v["items"] for s, v in per_stage.items()}
    total = sum(weights.values())

    def mean(key: str) -> float | None:
        have = [s for s in per_stage if key in per_stage[s]]
        return (
            float(np.average([per_stage[s][key] for s in have], weights=[weights[s] for s in have]))
            if have
            else None
        )

    complaint_groups = {assign[i] for i in range(len(stream)) if labels[i] != PRAISE}
    praise = [i for i in range(len(stream)) if labels[i] == PRAISE]
    compliments = sum(
        1 for i in praise if ((got[f"s{i}"][1] or {}).get("grouping") or {}).get("method") == "compliment"
    )
    return {
        "items": total,
        "issues_per_100": 100.0 * sum(v["issues"] for v in per_stage.values()) / max(total, 1),
        "coverage": mean("coverage"),
        "covered_purity": mean("covered_purity"),
        "chance_purity": mean("chance_purity"),
        "ari": mean("ari"),
        "v_measure": mean("v_measure"),
        "praise_items": len(praise),
        "praise_kept_as_compliments": compliments / len(praise) if praise else None,
        "praise_in_complaint_groups": (
            float(np.mean([assign[i] in complaint_groups for i in praise])) if praise else None
        ),
    }


def run_set(name: str, args: argparse.Namespace) -> dict[str, Any]:
    train_cap, test_cap = QUICK_CAPS[name] if args.caps == "quick" else (None, None)
    data = load_dataset(name, args.data, seed=args.seed, train_cap=train_cap, test_cap=test_cap)
    stream = [(t, data.stage_of[c]) for t, c in data.test if c in data.stage_of]
    labels = [c for t, c in data.test if c in data.stage_of]
    stream += [(t, s) for t, s in data.praise]
    labels += [PRAISE] * len(data.praise)
    order = list(range(len(stream)))
    random.Random(args.seed).shuffle(order)
    first = run_order(data, order, stream, args)
    out: dict[str, Any] = {
        "dataset": name,
        "notes": data.notes,
        "history_items": len(data.train),
        "stream_items": len(stream),
        "thresholds": first["thresholds"],
        "seconds": {"history": round(first["history_s"], 1), "stream": round(first["stream_s"], 1)},
        **figures(stream, labels, first["assign"], first["sizes"], args.seed),
    }
    if args.orders > 1:
        second = run_order(data, order[::-1], stream, args)
        keys = [f"s{i}" for i in range(len(stream))]
        out["order_independence_ari"] = float(
            adjusted_rand_score([first["assign"][k][0] for k in keys], [second["assign"][k][0] for k in keys])
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--datasets", default="all", help="comma-separated, or all")
    parser.add_argument("--caps", choices=["quick", "none"], default="quick")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--pass-every", type=int, default=4, help="batches between consolidation passes")
    parser.add_argument("--orders", type=int, default=2, help="2: also measure order independence")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = list(DATASETS) if args.datasets == "all" else args.datasets.split(",")
    results = []
    for name in names:
        result = run_set(name, args)
        results.append(result)
        shown = {
            k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items() if k != "thresholds"
        }
        print(json.dumps(shown), flush=True)
    print(json.dumps({"encoder": encoder_status(), "results": results}, default=str))


if __name__ == "__main__":
    main()
