"""Small inline SVG charts for the pages: a line with its 95 % band. Every chart's numbers are also in a
table beside it, so the SVG is decoration for sighted readers (aria-hidden)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 160, 40, 3


def _xy(i: int, n: int, v: float, low: float, high: float) -> tuple[float, float]:
    x = PAD + (WIDTH - 2 * PAD) * (i / (n - 1) if n > 1 else 0.5)
    y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v - low) / (high - low)
    return round(x, 1), round(y, 1)


def band_line(
    values: Sequence[float | None],
    lows: Sequence[float | None] = (),
    highs: Sequence[float | None] = (),
    *,
    low: float | None = None,
    high: float | None = None,
) -> Markup:
    known = [v for v in (*values, *lows, *highs) if v is not None]
    if not known:
        return Markup("")
    lo = min(known) if low is None else low
    hi = max(known) if high is None else high
    if hi <= lo:
        hi = lo + 1
    n = len(values)
    size = f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"'
    parts = [f'<svg class="chart" {size} aria-hidden="true">']
    if lows and highs:
        top = [_xy(i, n, h, lo, hi) for i, h in enumerate(highs) if h is not None]
        bottom = [_xy(i, n, w, lo, hi) for i, w in enumerate(lows) if w is not None]
        if len(top) > 1:
            pts = " ".join(f"{x},{y}" for x, y in [*top, *reversed(bottom)])
            parts.append(f'<polygon points="{pts}" fill="#3e7cb1" fill-opacity="0.15" stroke="none"/>')
    line = [_xy(i, n, v, lo, hi) for i, v in enumerate(values) if v is not None]
    if len(line) > 1:
        pts = " ".join(f"{x},{y}" for x, y in line)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#3e7cb1" stroke-width="2"/>')
    for x, y in line:
        parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="#3e7cb1"/>')
    parts.append("</svg>")
    # Only numbers we computed go into the markup.
    return Markup("".join(parts))


def bars(values: Sequence[float | None], *, high: float | None = None, color: str = "#3e7cb1") -> Markup:
    """Small vertical bars, one per value (an empty slot for None); `high` is the top of the scale."""
    known = [v for v in values if v is not None]
    if not known:
        return Markup("")
    top = high if high is not None else max(known)
    top = top if top > 0 else 1.0
    n = len(values)
    slot = (WIDTH - 2 * PAD) / n
    size = f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"'
    parts = [f'<svg class="chart" {size} aria-hidden="true">']
    for i, v in enumerate(values):
        if v is None or v <= 0:
            continue
        h = max(1.0, round((HEIGHT - 2 * PAD) * min(v, top) / top, 1))
        x, w = round(PAD + i * slot + 1, 1), round(max(1.0, slot - 2), 1)
        parts.append(
            f'<rect x="{x}" y="{round(HEIGHT - PAD - h, 1)}" width="{w}" height="{h}" fill="{color}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
