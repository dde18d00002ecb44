"""Chart images in the owner digest: what they cost to draw and what storing them would cost.

    .venv/bin/python bench/digest_charts.py [--repeat 20]

Renders a full owner digest (the stage's weekly score, three persona trends with their bands, three
shared metrics) and, in the same run, draws its charts as the worker does at delivery. Baselines, from
the same run: the time to render the digest's HTML and text, and the payload with the chart data (what is
queued) against the payload with the PNGs as base64 (the alternative). Prints both as ratios.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.digests.render import render
from app.insights.sections import MetricLine, OwnerInsights, PersonaTrend, TrendCell
from app.notify.chart_images import png
from tests.unit.digests.samples import owner_digest

MONTHS = ["Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026", "Nov 2026"]


def digest():  # type: ignore[no-untyped-def]
    insights = OwnerInsights(
        personas=[
            PersonaTrend(
                persona=name,
                label="NPS",
                cells=[
                    TrendCell(
                        label=m, value=20.0 + 7 * ((k * 3 + p) % 5), low=8.0 + k, high=38.0 + k, n=60 + k
                    )
                    for k, m in enumerate(MONTHS)
                ],
            )
            for p, name in enumerate(["Busy family", "Single professional", "Retired couple"])
        ],
        personas_total=5,
        metrics=[
            MetricLine(
                name=f"Metric {i}",
                unit="%",
                latest=90,
                change=1,
                improving=True,
                values=[88.0 + (w * (i + 1)) % 6 for w in range(8)],
                weeks=[f"{w * 7 + 2} Nov" if w < 4 else f"{(w - 4) * 7 + 1} Dec" for w in range(8)],
            )
            for i in range(3)
        ],
    )
    return owner_digest(insights=insights)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    d = digest()
    render(d)  # templates compiled once, as in a running process
    renders, draws = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        rendered = render(d)
        t1 = time.perf_counter()
        images = [png(c) for c in rendered.charts]
        t2 = time.perf_counter()
        renders.append(t1 - t0)
        draws.append(t2 - t1)
    base = {
        "to_email": d.recipient.email,
        "to_name": d.recipient.name,
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
    }
    with_data = len(json.dumps({**base, "charts": [c.model_dump(mode="json") for c in rendered.charts]}))
    with_b64 = len(json.dumps({**base, "images": [base64.b64encode(i).decode() for i in images]}))
    alone = len(json.dumps(base))
    render_ms, draw_ms = 1000 * statistics.median(renders), 1000 * statistics.median(draws)
    print(f"load: {os.getloadavg()[0]:.1f} (1-minute average)")
    sizes = sorted(len(i) for i in images)
    print(f"charts: {len(images)}; PNG bytes each: {sizes}; max {sizes[-1]}")
    print(f"HTML: {len(rendered.html.encode())} bytes")
    print(f"render HTML+text: {render_ms:.1f} ms; draw all charts: {draw_ms:.1f} ms")
    print(f"drawing / rendering: {draw_ms / render_ms:.1f}x")
    print(f"draw per chart: {draw_ms / len(images):.1f} ms")
    print(
        f"payload: without charts {alone} B, with chart data {with_data} B ({with_data / alone:.2f}x), "
        f"with base64 PNGs {with_b64} B ({with_b64 / alone:.2f}x); "
        f"data is {with_data / with_b64:.2f} of base64"
    )


if __name__ == "__main__":
    main()
