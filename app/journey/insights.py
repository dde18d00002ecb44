"""The journey file's accountability-across-the-experience sections: the root-cause vocabulary, the
shared stage metrics and who contributes them, and the experience checks staff run. Pure data.

- `root_causes`: the causes (with sub-causes) a confirmed fix is filed under, and how long a long-term
  fix is watched before it counts as verified.
- `metrics`: operational metrics teams push (`POST /api/v1/metrics`), the stages they belong to and the
  teams allowed to send them.
- `checks`: experience checks per moment of truth, their cadence, and who may be asked to run them.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import ConfigDict, Field

from app.core.durations import Duration
from app.core.types_api import ApiModel

KEY = r"^[a-z0-9][a-z0-9_-]{0,99}$"
# The explicit "we do not know": confirming under it needs a reason (see app.insights.root_causes).
UNKNOWN = "unknown"


class _Strict(ApiModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubCause(_Strict):
    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=200)


class Cause(_Strict):
    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=200)
    sub_causes: list[SubCause] = Field(default_factory=list, max_length=100)


class RootCauses(_Strict):
    causes: list[Cause] = Field(default_factory=list, max_length=100)
    # A long-term fix counts as verified once this long has passed since it shipped with the issue quiet.
    long_term_window: Duration = timedelta(days=30)

    def cause(self, key: str) -> Cause | None:
        return next((c for c in self.causes if c.key == key), None)


class Metric(_Strict):
    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=200)
    unit: str | None = Field(default=None, max_length=20)
    stages: list[str] = Field(min_length=1)
    # Team keys allowed to send points (the `source` of each point).
    contributors: list[str] = Field(min_length=1)
    higher_is_better: bool = True


class Eligible(_Strict):
    teams: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)


class ExperienceCheck(_Strict):
    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=200)
    stage: str
    moment: str
    cadence: Duration = timedelta(days=30)
    # How long the assignee has to record the result before the check is overdue.
    allow: Duration = timedelta(days=7)
    eligible: Eligible = Field(default_factory=Eligible)


def reference_errors(
    root_causes: RootCauses | None,
    metrics: list[Metric],
    checks: list[ExperienceCheck],
    *,
    people: set[str],
    teams: set[str],
    moments: dict[str, set[str]],
) -> list[tuple[str, str]]:
    """Every name these sections use must be declared in the journey, once."""
    errs: list[tuple[str, str]] = []
    if root_causes is not None:
        seen: set[str] = set()
        for ci, cause in enumerate(root_causes.causes):
            if cause.key == UNKNOWN:
                errs.append((f"root_causes.causes[{ci}].key", "'unknown' is built in; do not declare it"))
            if cause.key in seen:
                errs.append((f"root_causes.causes[{ci}].key", f"duplicate cause '{cause.key}'"))
            seen.add(cause.key)
            subs: set[str] = set()
            for si, sub in enumerate(cause.sub_causes):
                if sub.key in subs:
                    errs.append(
                        (f"root_causes.causes[{ci}].sub_causes[{si}].key", f"duplicate sub-cause '{sub.key}'")
                    )
                subs.add(sub.key)
    keys: set[str] = set()
    for mi, metric in enumerate(metrics):
        if metric.key in keys:
            errs.append((f"metrics[{mi}].key", f"duplicate metric '{metric.key}'"))
        keys.add(metric.key)
        for si, stage in enumerate(metric.stages):
            if stage not in moments:
                errs.append((f"metrics[{mi}].stages[{si}]", f"unknown stage '{stage}'"))
        for ti, team in enumerate(metric.contributors):
            if team not in teams:
                errs.append((f"metrics[{mi}].contributors[{ti}]", f"unknown team '{team}'"))
    keys = set()
    for ci, check in enumerate(checks):
        path = f"checks[{ci}]"
        if check.key in keys:
            errs.append((f"{path}.key", f"duplicate check '{check.key}'"))
        keys.add(check.key)
        if check.stage not in moments:
            errs.append((f"{path}.stage", f"unknown stage '{check.stage}'"))
        elif check.moment not in moments[check.stage]:
            errs.append((f"{path}.moment", f"unknown moment '{check.moment}' in stage '{check.stage}'"))
        for ti, team in enumerate(check.eligible.teams):
            if team not in teams:
                errs.append((f"{path}.eligible.teams[{ti}]", f"unknown team '{team}'"))
        for pi, person in enumerate(check.eligible.people):
            if person not in people:
                errs.append((f"{path}.eligible.people[{pi}]", f"unknown person '{person}'"))
        if not check.eligible.teams and not check.eligible.people:
            errs.append((f"{path}.eligible", "name at least one team or person"))
    return errs
