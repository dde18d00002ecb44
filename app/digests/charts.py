"""The charts of a digest, as data (`app.notify.charts.Chart`), named for the template: the stage's
weekly score, each persona's monthly figure with its 95 % band and each shared metric for an owner; the
moments' scores and volumes for the leadership. The templates print every charted number beside it."""

from __future__ import annotations

import base64

from app.digests.model import LeadershipDigest, OwnerDigest, TeamDigest, Trend
from app.notify.chart_images import png
from app.notify.charts import Chart, cid_name
from app.notify.messages import Rendered
from app.notify.templates import fmt_day


def _trend(trend: Trend, cid: str, title: str) -> Chart:
    return Chart(
        cid=cid,
        kind="line",
        title=title,
        labels=[fmt_day(p.week_start) for p in trend.points],
        values=[p.value for p in trend.points],
        low=trend.low,
        high=trend.high,
    )


def owner_charts(d: OwnerDigest) -> dict[str, Chart]:
    stage = cid_name(d.stage_key)
    out: dict[str, Chart] = {}
    if d.trend and d.trend.values:
        out["trend"] = _trend(d.trend, f"trend.{stage}@seam", f"{d.stage_name}: {d.trend.label} by week")
    if d.insights:
        for i, p in enumerate(d.insights.personas):
            out[f"persona-{i}"] = Chart(
                cid=f"persona-{i}.{stage}@seam",
                kind="line",
                title=f"{p.persona}: {p.label} by month, with its 95 % interval",
                labels=[c.label for c in p.cells],
                values=[c.value for c in p.cells],
                lows=[c.low for c in p.cells],
                highs=[c.high for c in p.cells],
            )
        for i, m in enumerate(d.insights.metrics):
            if len(m.weeks) == len(m.values):
                out[f"metric-{i}"] = Chart(
                    cid=f"metric-{i}.{stage}@seam",
                    kind="line",
                    title=f"{m.name} by week",
                    labels=m.weeks,
                    values=m.values,
                )
    return {k: c for k, c in out.items() if c.drawable}


def leadership_charts(d: LeadershipDigest) -> dict[str, Chart]:
    if not d.moments:
        return {}
    labels = [str(i) for i in range(1, len(d.moments) + 1)]
    out = {
        "moment-scores": Chart(
            cid="moment-scores@seam",
            kind="bars",
            title="Score of each moment of truth, % of scale, numbered as in the table",
            labels=labels,
            values=[m.score for m in d.moments],
            low=0,
            high=100,
        ),
        "moment-volumes": Chart(
            cid="moment-volumes@seam",
            kind="bars",
            title="Customer items at each moment of truth, numbered as in the table",
            labels=labels,
            values=[float(m.volume) for m in d.moments],
        ),
    }
    return {k: c for k, c in out.items() if c.drawable}


def charts(d: OwnerDigest | TeamDigest | LeadershipDigest) -> dict[str, Chart]:
    if isinstance(d, OwnerDigest):
        return owner_charts(d)
    if isinstance(d, LeadershipDigest):
        return leadership_charts(d)
    return {}


def for_browser(rendered: Rendered) -> str:
    """The HTML with each `cid:` image drawn inline as a data URL: a browser previewing the digest has
    no message to take the parts from."""
    html = rendered.html
    for c in rendered.charts:
        data = base64.b64encode(png(c)).decode("ascii")
        html = html.replace(f'src="cid:{c.cid}"', f'src="data:image/png;base64,{data}"')
    return html
