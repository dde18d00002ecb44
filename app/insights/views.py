"""Insight results as plain dicts for the API and the pages (dataclass properties included)."""

from __future__ import annotations

from typing import Any

from app.insights import stats
from app.insights.checks import TaskView
from app.insights.credits import Credit, StageRecord
from app.insights.metrics import Cell, CsvReport, StageMetrics
from app.insights.models import IssueFix, IssueRootCause
from app.insights.personas import Series, Trends
from app.insights.root_causes import CauseRollup

METHOD = (
    "95 % intervals: NPS normal (SE of a difference of two shares), CSAT top-two-box Wilson, CES mean "
    "Student t. Drop: the last complete bucket against the one before, both with at least "
    f"{stats.MIN_SAMPLE} scores, two-sided test at 5 % (NPS z-test, CSAT two-proportion z-test, CES "
    "Welch t-test). Staff checks are left out."
)


def series(s: Series) -> dict[str, Any]:
    return {
        "persona": s.persona,
        "persona_name": s.persona_name,
        "stage": s.stage,
        "stage_name": s.stage_name,
        "moment": s.moment,
        "moment_name": s.moment_name,
        "scale": s.scale,
        "figure": s.figure,
        "label": s.label,
        "points": [vars(p) for p in s.points],
        "drop": vars(s.drop) if s.drop is not None else None,
    }


def trends(t: Trends) -> dict[str, Any]:
    return {
        "bucket": t.bucket,
        "since": t.since,
        "until": t.until,
        "min_sample": stats.MIN_SAMPLE,
        "method": METHOD,
        "series": [series(s) for s in t.series],
        "drops": [series(s) for s in t.drops],
    }


def cause(c: CauseRollup) -> dict[str, Any]:
    return {
        "cause": c.cause,
        "cause_name": c.cause_name,
        "issues": c.issues,
        "items": c.items,
        "customers": c.customers,
        "spans_stages": c.spans_stages,
        "stages": [vars(h) for h in c.stages],
        "sub_causes": c.sub_causes,
    }


def root_cause(r: IssueRootCause) -> dict[str, Any]:
    return r.model_dump()


def fix(f: IssueFix) -> dict[str, Any]:
    return f.model_dump()


def fixes(issue_id: int, cause_row: IssueRootCause | None, rows: dict[str, IssueFix]) -> dict[str, Any]:
    return {
        "issue_id": issue_id,
        "root_cause": root_cause(cause_row) if cause_row else None,
        "mitigation": fix(rows["mitigation"]) if "mitigation" in rows else None,
        "long_term": fix(rows["long_term"]) if "long_term" in rows else None,
    }


def csv_report(r: CsvReport) -> dict[str, Any]:
    return {"created": r.created, "updated": r.updated, "unchanged": r.unchanged, "rejected": r.rejected}


def _cells(cells: list[Cell]) -> list[dict[str, Any]]:
    return [vars(c) for c in cells]


def stage_metrics(m: StageMetrics) -> dict[str, Any]:
    return {
        "stage": m.stage,
        "stage_name": m.stage_name,
        "bucket": m.bucket,
        "scores": _cells(m.scores),
        "caution": m.caution,
        "metrics": [
            {
                "metric": s.metric.key,
                "name": s.metric.name,
                "unit": s.metric.unit,
                "higher_is_better": s.metric.higher_is_better,
                "contributors": list(s.metric.contributors),
                "cells": _cells(s.cells),
                "latest": s.latest,
                "change": s.change,
                "correlation": s.correlation,
                "pairs": s.pairs,
            }
            for s in m.metrics
        ],
    }


def credit(c: Credit) -> dict[str, Any]:
    out = {k: v for k, v in vars(c).items() if k != "team_names"}
    out["score_change"] = c.score_change
    return out


def record(r: StageRecord) -> dict[str, Any]:
    return {
        "stage": r.stage,
        "stage_name": r.stage_name,
        "confirmed": r.confirmed,
        "reopened": r.reopened,
        "reopen_rate": r.reopen_rate,
        "median_days": r.median_days,
        "issues": r.issues,
        "confirmed_share": r.confirmed_share,
    }


def check_task(v: TaskView) -> dict[str, Any]:
    t = v.task
    return {
        "id": t.id,
        "check": t.check_key,
        "check_name": v.check,
        "stage": v.stage,
        "moment": v.moment,
        "person": t.person,
        "person_name": v.person,
        "team": t.team,
        "cycle_start": t.cycle_start,
        "assigned_at": t.assigned_at,
        "due_at": t.due_at,
        "reminded_at": t.reminded_at,
        "done_at": t.done_at,
        "item_id": t.item_id,
        "overdue": v.overdue,
        "days_late": v.days_late,
    }
