"""Ingest throughput: Seam's service path and HTTP path, each against a raw Core executemany baseline.

    python bench/ingest.py [--items 20000] [--batch 1000] [--repeat 3] [--db sqlite,postgres]
                           [--only raw,service,http] [--fresh-texts] [--placement inline|deferred]

Texts repeat from run to run, so after the first run the encoder's cache (app.routing.vectors) serves
them and the median measures everything but encoding; `--fresh-texts` makes every run's texts new, so
the encoder runs in every timed run (the cost of distinct texts).

`--placement deferred` times what a request does under `SEAM_PLACEMENT=deferred` (store the items
pending, queue their placement) and, apart, the worker placing them (`worker_placement_items_per_s`);
`bench/placement_lag.py` measures the lag at a sustained rate.

`--only` runs some of the paths (for a profile of one; the ratios need raw in the same run).

Each figure is the median of --repeat runs, each into an emptied database; every ratio compares two
paths measured in the same run on the same machine, because absolute times drift on shared hosts.
The last line printed is JSON with every figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
import yaml
from _common import ROOT, fresh_database, median
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.auth.service import create_key
from app.core.actor import Actor
from app.core.settings import Settings
from app.feedback.schemas import FeedbackIn
from app.intake import deferred
from app.intake import ingest as feedback
from app.journey import service as journeys
from app.main import create_app
from app.models import metadata
from app.routing import vectors

TOUCHPOINTS = ["checkout-survey", "first-box-nps", "delivery-csat", "invoice-email", "box-review", None]


# Fresh texts are numbered by call, not by run: each database's runs must not meet the texts the
# previous database's runs left in the encoder's cache.
_WAVES = itertools.count()


def make_items(n: int, run: int, fresh_texts: bool = False) -> list[dict[str, Any]]:
    rng = random.Random(run)
    wave = f" of wave {next(_WAVES)}" if fresh_texts else ""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for i in range(n):
        item: dict[str, Any] = {
            "source": "bench",
            "external_id": f"r{run}-{i}",
            "text": f"Feedback number {i}{wave}: the box arrived late and the salmon was warm",
            "score": rng.randint(0, 10),
            "scale": "nps",
            "customer_ref": f"c{rng.randint(1, max(1, n // 4))}",
            "occurred_at": (now - timedelta(minutes=i)).isoformat(),
        }
        tp = rng.choice(TOUCHPOINTS)
        if tp:
            item["touchpoint"] = tp
        items.append(item)
    return items


def reset(engine: Engine) -> None:
    names = [
        t.name for t in reversed(metadata.sorted_tables) if t.name not in ("journey_versions", "api_keys")
    ]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))


def raw_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "source": it["source"],
            "external_id": it["external_id"],
            "text": it["text"],
            "score": it["score"],
            "scale": it["scale"],
            "touchpoint": it.get("touchpoint"),
            "customer_ref": it["customer_ref"],
            "persona": None,
            "occurred_at": datetime.fromisoformat(it["occurred_at"]),
            "received_at": now,
            "extra": {},
            "state": "triage",
            "stage": None,
            "moment": None,
            "issue_id": None,
            "placement": {},
            "created_by_key_id": None,
        }
        for it in items
    ]


def time_raw(engine: Engine, items: list[dict[str, Any]], batch: int) -> float:
    table = metadata.tables["feedback_items"]
    rows = raw_rows(items)
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        with engine.begin() as conn:
            conn.execute(table.insert(), rows[i : i + batch])
    return time.perf_counter() - start


def time_service(engine: Engine, items: list[dict[str, Any]], batch: int, defer: bool = False) -> float:
    start = time.perf_counter()
    for i in range(0, len(items), batch):
        with Session(engine, expire_on_commit=False) as session:
            good, bad = feedback.validate_raw(items[i : i + batch])
            assert not bad
            feedback.ingest(session, journeys.current(session), good, Actor("bench"), defer=defer)
            session.commit()
    return time.perf_counter() - start


def time_placement(engine: Engine, batch: int) -> tuple[float, int]:
    """The worker's share of a deferred ingest: every pending item placed, one stored batch at a time
    (as the queued messages name them)."""
    with engine.connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(text("SELECT id FROM feedback_items WHERE state = 'pending' ORDER BY id"))
        ]
    start = time.perf_counter()
    placed = sum(deferred.place_items(engine, ids[i : i + batch]) for i in range(0, len(ids), batch))
    return time.perf_counter() - start, placed


class Server:
    def __init__(self, engine: Engine, placement: str = "inline") -> None:
        url = engine.url.render_as_string(hide_password=False)
        # The in-process worker stays off: the HTTP path is timed alone, as the service path is.
        settings = Settings(database_url=url, placement=placement, inprocess_worker=False)
        app = create_app(settings, engine)
        self.port = 18000 + random.randint(0, 999)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join()


def time_http(base: str, key: str, items: list[dict[str, Any]], batch: int) -> float:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        start = time.perf_counter()
        for i in range(0, len(items), batch):
            resp = http.post("/api/v1/feedback/batch", json={"items": items[i : i + batch]})
            resp.raise_for_status()
            assert resp.json()["created"] == len(items[i : i + batch])
        return time.perf_counter() - start


def _rounded(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def bench_db(
    kind: str,
    n: int,
    batch: int,
    repeat: int,
    only: set[str],
    fresh_texts: bool = False,
    placement: str = "inline",
) -> dict[str, Any]:
    defer = placement == "deferred"
    with fresh_database(kind) as engine:
        with Session(engine) as session:
            journeys.apply(
                session, yaml.safe_load((ROOT / "examples/journey.yaml").read_text()), actor="bench"
            )
            _, key = create_key(session, "bench", ["admin"])
            session.commit()
        FeedbackIn.model_validate(make_items(1, 0)[0])  # warm imports and validators
        raw, svc, http, place = [], [], [], []
        with Server(engine, placement) as base:
            for run in range(repeat):
                items = make_items(n, run, fresh_texts)
                if "raw" in only:
                    reset(engine)
                    raw.append(time_raw(engine, items, batch))
                if "service" in only:
                    reset(engine)
                    svc.append(time_service(engine, items, batch, defer))
                    if defer:
                        spent, placed = time_placement(engine, batch)
                        assert placed == n, (placed, n)
                        place.append(spent)
                if "http" in only:
                    reset(engine)
                    if fresh_texts:  # new texts for the HTTP path too, not the ones just encoded
                        items = make_items(n, run + 1000, fresh_texts)
                    http.append(time_http(base, key, items, batch))
        with engine.connect() as conn:
            placed = conn.execute(
                text("SELECT count(*) FROM feedback_items WHERE issue_id IS NOT NULL")
            ).scalar()
    raw_rate, svc_rate, http_rate, place_rate = (
        n / median(t) if t else float("nan") for t in (raw, svc, http, place)
    )
    return {
        "db": kind,
        "items": n,
        "batch": batch,
        "placed_in_last_run": placed,
        "raw_items_per_s": _rounded(raw_rate, 0),
        "service_items_per_s": _rounded(svc_rate, 0),
        "http_items_per_s": _rounded(http_rate, 0),
        "service_ratio": _rounded(svc_rate / raw_rate, 3),
        "http_ratio": _rounded(http_rate / raw_rate, 3),
        "encoder": vectors.encoder_name() or "off (TF-IDF)",
        "fresh_texts": fresh_texts,
        "placement": placement,
        # Deferred: the worker's rate placing what the service path stored, and as a share of raw.
        "worker_placement_items_per_s": _rounded(place_rate, 0),
        "worker_placement_ratio": _rounded(place_rate / raw_rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--only", default="raw,service,http")
    parser.add_argument("--fresh-texts", action="store_true")
    parser.add_argument("--placement", choices=["inline", "deferred"], default="inline")
    args = parser.parse_args()
    only = set(args.only.split(","))
    results = [
        bench_db(kind, args.items, args.batch, args.repeat, only, args.fresh_texts, args.placement)
        for kind in args.db.split(",")
    ]
    print(f"{'db':<10}{'raw items/s':>14}{'service/s':>12}{'ratio':>8}{'http/s':>10}{'ratio':>8}")
    for r in results:
        print(
            f"{r['db']:<10}{r['raw_items_per_s']!s:>14}{r['service_items_per_s']!s:>12}"
            f"{r['service_ratio']!s:>8}{r['http_items_per_s']!s:>10}{r['http_ratio']!s:>8}"
        )
    print(json.dumps({"benchmark": "ingest", "results": results}))


if __name__ == "__main__":
    main()
