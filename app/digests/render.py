"""Digest -> subject, HTML and plain text.

Every template is rendered with autoescaping on (HTML and text alike). The plain-text part is then
un-escaped once: text/plain has no markup to inject into, and readers should see "R&D", not "R&amp;D".
Values are never evaluated as templates: feedback text reaches Jinja only as data.

The HTML is built for mail clients, not browsers: nested tables, inline styles plus `bgcolor`/`width`
attributes (Outlook's Word engine ignores much CSS), no <script>, no <style> block and no external
fonts, stylesheets or images. Trend and bar charts are PNGs carried in the message and shown by `cid:`
(app.digests.charts; drawn at delivery): inline SVG is dropped by Gmail and Outlook, and remote images
are blocked by default and would leak who opened the mail. Small bars are HTML table cells. Every figure
a chart shows is also printed as text, in the HTML and in the plain-text part.
"""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from app.digests import cells
from app.digests.charts import charts as digest_charts
from app.digests.model import (
    IssueLine,
    LeadershipDigest,
    OwnerDigest,
    TeamDigest,
    Trend,
)
from app.notify import templates
from app.notify.messages import Rendered, one_line
from app.notify.templates import fmt_day, fmt_num

PRIORITY_COLORS = cells.PRIORITY_COLORS
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("under a week", 0, 7),
    ("1-4 weeks", 7, 28),
    ("1-3 months", 28, 91),
    ("over 3 months", 91, None),
)
_SPARK_HEIGHT = 30
_TEXT_SPARK = "▁▂▃▄▅▆▇█"

AnyDigest = OwnerDigest | TeamDigest | LeadershipDigest


# --- helpers the templates call -----------------------------------------------------------------


def pct(value: float, top: float) -> int:
    if top <= 0 or value <= 0:
        return 0
    return max(1, min(100, round(100 * value / top)))


def max_impact(issues: list[IssueLine]) -> float:
    return max((i.impact for i in issues), default=0.0)


def age_buckets(issues: list[IssueLine]) -> list[dict[str, Any]]:
    counts = []
    for label, low, high in AGE_BUCKETS:
        n = sum(1 for i in issues if i.age_days >= low and (high is None or i.age_days < high))
        counts.append((label, n))
    top = max((n for _, n in counts), default=0)
    return [{"label": label, "count": n, "pct": pct(n, top)} for label, n in counts]


def spark_bars(trend: Trend) -> list[dict[str, Any]]:
    low, high = trend.bounds()
    bars = []
    for p in trend.points:
        when = fmt_day(p.week_start)
        if p.value is None:
            bars.append({"height": 0, "title": f"week of {when}: no scores", "color": None})
            continue
        height = 2 + round((_SPARK_HEIGHT - 2) * (min(max(p.value, low), high) - low) / (high - low))
        title = f"week of {when}: {trend.label} {fmt_num(p.value)} ({p.responses} responses)"
        bars.append({"height": height, "title": title, "color": None})
    return bars


def text_bar(percent: int, width: int = 20) -> str:
    return "#" * round(width * percent / 100)


def text_spark(trend: Trend) -> str:
    low, high = trend.bounds()
    out = []
    for p in trend.points:
        if p.value is None:
            out.append(" ")
            continue
        share = (min(max(p.value, low), high) - low) / (high - low)
        out.append(_TEXT_SPARK[min(len(_TEXT_SPARK) - 1, int(share * len(_TEXT_SPARK)))])
    return "".join(out)


# What the digest templates call, beside the filters every message template has.
HELPERS = {
    "pct": pct,
    "max_impact": max_impact,
    "age_buckets": age_buckets,
    "spark_bars": spark_bars,
    "text_bar": text_bar,
    "text_spark": text_spark,
    "priority_colors": PRIORITY_COLORS,
    "cell": cells.cell,
    "priority_badge": cells.priority_badge,
    "issue_link": cells.issue_link,
    "hbar": cells.hbar,
    "spark": cells.spark,
}


# --- the public face ----------------------------------------------------------------------------


def subject(digest: AnyDigest) -> str:
    week = f"week of {fmt_day(digest.week_start)}"
    if isinstance(digest, OwnerDigest):
        text = (
            f"Seam weekly: {digest.stage_name}, {len(digest.open_issues)} open, "
            f"{len(digest.overdue)} overdue ({week})"
        )
    elif isinstance(digest, TeamDigest):
        text = f"Seam weekly: {digest.team_name}, {len(digest.contributions)} open contributions ({week})"
    else:
        text = f"Seam weekly: {digest.journey_name} scorecard ({week})"
    return one_line(text)


def is_empty(digest: AnyDigest) -> bool:
    """True when the digest has nothing to say, and so is not sent."""
    if isinstance(digest, OwnerDigest):
        return not (
            digest.open_issues
            or digest.overdue
            or digest.shipped
            or digest.confirmed
            or digest.reopened
            or (digest.insights and digest.insights.drops)
        )
    if isinstance(digest, TeamDigest):
        return not (digest.contributions or (digest.insights and digest.insights.credits))
    return not any(
        s.open or s.overdue or s.shipped or s.confirmed or s.reopened or s.trend.values for s in digest.stages
    )


def render(digest: AnyDigest) -> Rendered:
    charts = digest_charts(digest)
    context = {"d": digest, "seam_url": digest.seam_url, "charts": charts, **HELPERS}
    parts = templates.render(digest.kind, subject(digest), context)
    return Rendered(
        subject=parts.subject, html=parts.html, text=_tidy_text(parts.text), charts=tuple(charts.values())
    )


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip() + "\n"


# Stands in for the recipient's name while a scorecard shared by several leaders is rendered once; the
# invisible separators keep it apart from any text a digest could hold, and escaping leaves it unchanged.
_NAME = "\u2063seam-recipient\u2063"


class Renderer:
    """Renders one run's digests. Digests built from the same snapshot parts differ only in whom they
    greet: the leadership scorecard (2 MB each for 500 stages) to every leader, a team's digest to every
    member. So each distinct one is rendered once and the name put in afterwards: escaped in the HTML,
    as written in the text."""

    def __init__(self) -> None:
        # Keyed by the identity of the shared parts; the parts are held so no id is reused meanwhile.
        self._shared: dict[tuple[Any, ...], tuple[tuple[Any, ...], Rendered]] = {}

    def render(self, digest: AnyDigest) -> Rendered:
        parts = _shared_parts(digest)
        if parts is None or _NAME in digest.recipient.name:
            return render(digest)
        key = (type(digest), *map(_identity, parts), digest.week_start, digest.seam_url)
        if key not in self._shared:
            blank = digest.model_copy(
                update={"recipient": digest.recipient.model_copy(update={"name": _NAME})}
            )
            self._shared[key] = (parts, render(blank))
        shared = self._shared[key][1]
        name = digest.recipient.name
        return Rendered(
            subject=shared.subject,
            html=shared.html.replace(_NAME, str(escape(name))),
            text=shared.text.replace(_NAME, name),
            charts=shared.charts,
        )


def _identity(part: Any) -> Any:
    # A digest's model copies the lists it is given but keeps their items: two digests built from one
    # snapshot hold equal lists of the very same objects.
    if isinstance(part, list):
        return tuple(map(id, part))
    return part if isinstance(part, str) else id(part)


def _shared_parts(digest: AnyDigest) -> tuple[Any, ...] | None:
    """What a digest says besides its greeting, when other recipients are sent the same."""
    if isinstance(digest, LeadershipDigest):
        return (digest.stages, digest.moments, digest.insights, digest.journey_name)
    if isinstance(digest, TeamDigest):
        return (digest.contributions, digest.insights, digest.team_key, digest.team_name)
    return None
