"""The mail-safe HTML pieces a digest repeats on every row (a table cell's attributes, a priority
badge, an issue link, a bar, a sparkline), built in Python once per distinct value.

The same markup as the `_macros.html.j2` macros they replace in the digest templates: a Jinja macro
call with `caller()` costs tens of microseconds, and a leadership scorecard makes
thousands of them, so these are plain functions returning `Markup` (escaped where they take text)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

PRIORITY_COLORS = {"p1": "#b42318", "p2": "#c4570d", "p3": "#3e7cb1", "p4": "#697586"}
_SPARK_HEIGHT = 30


@lru_cache(maxsize=256)
def cell(align: str = "left", bold: bool = False, color: str = "#1f2933") -> Markup:
    """A data cell's attributes: `<td{{ cell("right", True) }}>…</td>`."""
    weight = "font-weight:bold;" if bold else ""
    return Markup(
        f' align="{escape(align)}" style="padding:6px 6px;border-bottom:1px solid #eef0f3;'
        f'text-align:{escape(align)};color:{escape(color)};{weight}"'
    )


@lru_cache(maxsize=16)
def priority_badge(p: str) -> Markup:
    return Markup(
        '<span style="display:inline-block;padding:1px 6px;border-radius:3px;background-color:{};'
        'color:#ffffff;font-weight:bold;font-size:11px;">{}</span>'
    ).format(PRIORITY_COLORS[p], p.upper())


def issue_link(seam_url: str, issue: Any) -> Markup:
    return Markup('<a href="{}/issues/{}" style="color:#1c5d99;text-decoration:underline;">{}</a>').format(
        seam_url, issue.id, issue.ref
    )


@lru_cache(maxsize=4096)
def hbar(pct: int, color: str = "#3e7cb1", width: int = 120) -> Markup:
    """A horizontal bar: a two-cell table whose first cell is `pct` percent wide (Outlook's Word engine,
    Gmail and Apple Mail alike); the number is always printed next to it."""
    c = escape(color)
    filled = (
        f'<td width="{pct}%" height="8" bgcolor="{c}" style="width:{pct}%;height:8px;background-color:{c};'
        'font-size:0;line-height:0;">&nbsp;</td>'
        if pct > 0
        else ""
    )
    rest = (
        '<td height="8" bgcolor="#e4e7eb" style="height:8px;background-color:#e4e7eb;font-size:0;'
        'line-height:0;">&nbsp;</td>'
        if pct < 100
        else ""
    )
    return Markup(
        f'<table role="presentation" width="{width}" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:{width}px;border-collapse:collapse;"><tr>{filled}{rest}</tr></table>'
    )


def _spark_bar(height: int, title: str, color: str) -> str:
    inner = (
        f'<td width="7" height="{height}" bgcolor="{color}" style="width:7px;height:{height}px;'
        f'background-color:{color};font-size:0;line-height:0;">&nbsp;</td>'
        if height
        else '<td width="7" height="1" bgcolor="#cbd2d9" style="width:7px;height:1px;'
        'background-color:#cbd2d9;font-size:0;line-height:0;">&nbsp;</td>'
    )
    return (
        f'\n<td valign="bottom" height="32" style="height:32px;padding:0 1px;vertical-align:bottom;" '
        f'title="{escape(title)}"><table role="presentation" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;"><tr>{inner}</tr></table></td>'
    )


def spark(bars: list[dict[str, Any]], color: str = "#3e7cb1") -> Markup:
    """A weekly sparkline from `render.spark_bars`: one narrow column per week."""
    body = "".join(_spark_bar(b["height"], b["title"], str(escape(b["color"] or color))) for b in bars)
    return Markup(
        '<table role="presentation" class="spark" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;"><tr>{body}\n</tr></table>'
    )
