"""Charts drawn as small PNGs for email (480 x 160 px): a line with its 95 % band, or bars.

matplotlib's object API with the Agg canvas (no pyplot, no global figure state, safe in worker threads);
the RGBA image is then reduced to a 16-colour palette and saved optimised, 2.6-4.2 KB a chart
(bench/digest_charts.py). No metadata is written, so the same chart data gives the same bytes."""

from __future__ import annotations

import io
import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from app.notify.charts import Chart

WIDTH_PX, HEIGHT_PX, DPI = 480, 160, 100
LINE = "#3e7cb1"
BAND = "#c5d8ea"
GRID = "#e4e7eb"
INK = "#52606d"
COLOURS = 16


def _finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _axis_range(chart: Chart) -> tuple[float, float]:
    known = _finite([*chart.values, *chart.lows, *chart.highs])
    low = chart.low if chart.low is not None else min(known, default=0.0)
    high = chart.high if chart.high is not None else max(known, default=1.0)
    if chart.kind == "bars":
        low = min(low, 0.0)
    if high <= low:
        high = low + 1.0
    pad = (high - low) * 0.08
    return low - (pad if chart.low is None and chart.kind == "line" else 0.0), high + pad


def _tick_labels(labels: list[str]) -> tuple[list[int], list[str]]:
    """At most eight labels along the axis, always the first and the last."""
    n = len(labels)
    if n <= 8:
        idx = list(range(n))
    else:
        step = math.ceil((n - 1) / 7)
        idx = list(range(0, n, step))
        if n - 1 - idx[-1] < step / 2:
            idx.pop()  # too close to the last label to be read
        idx.append(n - 1)
    return idx, [labels[i] for i in idx]


def draw(chart: Chart) -> Figure:
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.09, 0.2, 0.89, 0.74))
    xs = list(range(len(chart.values)))
    low, high = _axis_range(chart)
    if chart.kind == "line":
        if chart.lows and chart.highs:
            band = [
                (x, lo, hi)
                for x, lo, hi in zip(xs, chart.lows, chart.highs, strict=True)
                if lo is not None and hi is not None
            ]
            if band:
                bx, blo, bhi = zip(*band, strict=True)
                ax.fill_between(bx, blo, bhi, color=BAND, linewidth=0)
        pts = [(x, v) for x, v in zip(xs, chart.values, strict=True) if v is not None]
        if pts:
            px, py = zip(*pts, strict=True)
            ax.plot(px, py, color=LINE, linewidth=2, marker="o", markersize=3.5)
    else:
        heights = [0.0 if v is None else v for v in chart.values]
        ax.bar(xs, heights, color=LINE, width=0.7)
    ax.set_ylim(low, high)
    ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    idx, names = _tick_labels(chart.labels)
    ax.set_xticks(idx, names)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    ax.tick_params(labelsize=8, colors=INK, length=0)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(GRID)
    return fig


def png(chart: Chart) -> bytes:
    fig = draw(chart)
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    canvas.draw()
    rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    small = rgba.convert("RGB").quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()
