"""The journey file: what it may say, and every way it can be wrong, by path."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_serializer, field_validator

from app.core.types_api import ApiModel
from app.journey.accountability import DEFAULT_POLICY, AccountabilityPolicy
from app.journey.grouping import GroupingSettings
from app.journey.insights import ExperienceCheck, Metric, RootCauses
from app.journey.insights import reference_errors as insight_reference_errors
from app.journey.rules import Rule
from app.journey.triggers import TriggerSpec, parse_duration

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"
MAX_STAGES = 1000
MAX_MOMENTS_PER_STAGE = 100
MAX_PEOPLE = 5000
MAX_TEAMS = 500
MAX_TOUCHPOINTS = 5000
MAX_PERSONAS = 100
MAX_RULES = 1000
MAX_EXAMPLES = 20_000


class _Strict(ApiModel):
    # Unknown keys are refused: a typo in a journey file must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    id: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value


class JiraTarget(_Strict):
    project: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,9}$")
    issue_type: str = "Task"


class ZendeskTarget(_Strict):
    group_id: int = Field(gt=0)


class Team(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    members: list[str] = Field(min_length=1)
    jira: JiraTarget | None = None
    zendesk: ZendeskTarget | None = None


Examples = list[str]


class Trigger(_Strict):
    """A per-customer windowed trigger: ``count`` matching items ``within`` a window (e.g. 3 in 30d)."""

    count: int = Field(ge=1, le=1000)
    within: str
    where: dict[str, str | list[str]] = Field(default_factory=dict)

    @field_validator("within")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError("must be longer than zero")
        return value

    @field_validator("where")
    @classmethod
    def _fields(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        TriggerSpec(count=1, within="1d", where=value)  # the engine's own checks
        return value

    def spec(self) -> TriggerSpec:
        return TriggerSpec(count=self.count, within=parse_duration(self.within), where=self.where)


class Moment(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    weight: float = Field(default=1.0, gt=0, le=10)
    examples: Examples = Field(default_factory=list, max_length=500)
    trigger: Trigger | None = None
    # A moment where one complaint is already an owner's problem (safety, a lost payment): its items
    # open an experience issue at once instead of gathering evidence first.
    open_at_once: bool = False


class Stage(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    owner: str
    sponsor: str | None = None
    teams: list[str] = Field(default_factory=list)
    moments: list[Moment] = Field(default_factory=list, max_length=MAX_MOMENTS_PER_STAGE)
    # Texts customers write about this stage: training data for the learned router.
    examples: Examples = Field(default_factory=list, max_length=500)


class Touchpoint(_Strict):
    key: str = Field(min_length=1, max_length=200)
    name: str | None = None
    stage: str
    moment: str | None = None


class Persona(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    weight: float = Field(default=1.0, gt=0, le=10)


class EvidenceSettings(_Strict):
    """When an emerging group (similar items gathering on a stage) becomes an experience issue with an
    owner and reminders: all three minimums met. Items without a customer reference count as one
    customer each; staff checks count as items only."""

    items: int = Field(default=3, ge=1, le=1000)
    customers: int = Field(default=2, ge=0, le=1000)
    detractors: int = Field(default=0, ge=0, le=1000)

    @property
    def at_once(self) -> bool:
        return self.items <= 1 and self.customers <= 1 and self.detractors <= 1


class RoutingSettings(_Strict):
    """How items are routed and grouped; a change applies to new items only."""

    # The learned model places an item only at or above this confidence; below, it waits in triage.
    confidence_threshold: float = Field(default=0.6, ge=0, le=1)
    # Retrain in the background once this many new confirmations (triage, corrections) arrived.
    retrain_after: int = Field(default=20, ge=1)
    grouping: GroupingSettings = Field(default_factory=GroupingSettings)
    # Items placed by their touchpoint: one issue per touchpoint ("touchpoint"), or grouped by their text
    # within the stage and moment like every other item ("similarity").
    touchpoint_grouping: Literal["touchpoint", "similarity"] = "similarity"
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)


class Journey(_Strict):
    name: str = Field(min_length=1, max_length=200)
    cx_lead: str | None = None
    # Bounds far above any real journey (a few to a dozen stages, 10-20 moments that matter), low enough
    # that applying one, and training the router on its examples, stays a matter of seconds.
    people: list[Person] = Field(min_length=1, max_length=MAX_PEOPLE)
    teams: list[Team] = Field(default_factory=list, max_length=MAX_TEAMS)
    stages: list[Stage] = Field(min_length=1, max_length=MAX_STAGES)
    touchpoints: list[Touchpoint] = Field(default_factory=list, max_length=MAX_TOUCHPOINTS)
    personas: list[Persona] = Field(default_factory=list, max_length=MAX_PERSONAS)
    # SLAs, reminder cadence, escalation, quiet hours, impact scale, verification (accountability.py).
    accountability: AccountabilityPolicy = DEFAULT_POLICY

    @field_serializer("accountability")
    def _policy_out(self, value: AccountabilityPolicy) -> dict[str, Any]:
        # Whole, nulls included: `quiet_hours: null` disables quiet hours and must survive exclude_none.
        return value.model_dump(mode="json")

    # Ordered: the first rule whose conditions all hold places the item.
    rules: list[Rule] = Field(default_factory=list, max_length=MAX_RULES)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    # Root-cause vocabulary, shared stage metrics, experience checks (app/journey/insights.py).
    root_causes: RootCauses | None = None
    metrics: list[Metric] = Field(default_factory=list, max_length=200)
    checks: list[ExperienceCheck] = Field(default_factory=list, max_length=200)

    # Lookups used on every placement; built once per (immutable) journey.
    def stage(self, key: str) -> Stage | None:
        return self._index()["stages"].get(key)

    def touchpoint(self, key: str) -> Touchpoint | None:
        return self._index()["touchpoints"].get(key)

    def moment(self, stage_key: str, moment_key: str) -> Moment | None:
        stage = self.stage(stage_key)
        if stage is None:
            return None
        return next((m for m in stage.moments if m.key == moment_key), None)

    def _index(self) -> dict[str, dict[str, Any]]:
        cached = self.__dict__.get("_lookup")
        if cached is None:
            cached = {
                "stages": {s.key: s for s in self.stages},
                "touchpoints": {t.key: t for t in self.touchpoints},
            }
            object.__setattr__(self, "_lookup", cached)
        return cached


def _dupes(path: str, keys: list[str], what: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for i, key in enumerate(keys):
        if key in seen:
            out.append((f"{path}[{i}]", f"duplicate {what} '{key}'"))
        seen.add(key)
    return out


def reference_errors(j: Journey) -> list[tuple[str, str]]:
    """Cross-references a schema cannot check: every name used must be declared, once."""
    errs: list[tuple[str, str]] = []
    people = {p.id for p in j.people}
    teams = {t.key for t in j.teams}
    errs += _dupes("people", [p.id for p in j.people], "person")
    errs += _dupes("teams", [t.key for t in j.teams], "team")
    errs += _dupes("stages", [s.key for s in j.stages], "stage")
    errs += _dupes("touchpoints", [t.key for t in j.touchpoints], "touchpoint")
    errs += _dupes("personas", [p.key for p in j.personas], "persona")
    if j.cx_lead is not None and j.cx_lead not in people:
        errs.append(("cx_lead", f"unknown person '{j.cx_lead}'"))
    for ti, team in enumerate(j.teams):
        for mi, member in enumerate(team.members):
            if member not in people:
                errs.append((f"teams[{ti}].members[{mi}]", f"unknown person '{member}'"))
    moments: dict[str, set[str]] = {}
    for si, stage in enumerate(j.stages):
        if stage.owner not in people:
            errs.append((f"stages[{si}].owner", f"unknown person '{stage.owner}'"))
        if stage.sponsor is not None and stage.sponsor not in people:
            errs.append((f"stages[{si}].sponsor", f"unknown person '{stage.sponsor}'"))
        for ti, team_key in enumerate(stage.teams):
            if team_key not in teams:
                errs.append((f"stages[{si}].teams[{ti}]", f"unknown team '{team_key}'"))
        errs += _dupes(f"stages[{si}].moments", [m.key for m in stage.moments], "moment")
        moments[stage.key] = {m.key for m in stage.moments}
    for ti, tp in enumerate(j.touchpoints):
        if tp.stage not in moments:
            errs.append((f"touchpoints[{ti}].stage", f"unknown stage '{tp.stage}'"))
        elif tp.moment is not None and tp.moment not in moments[tp.stage]:
            errs.append((f"touchpoints[{ti}].moment", f"unknown moment '{tp.moment}' in stage '{tp.stage}'"))
    errs += _dupes("rules", [r.id for r in j.rules], "rule")
    for ri, rule in enumerate(j.rules):
        errs += _place_errors(f"rules[{ri}]", rule.stage, rule.moment, moments)
    for si, stage in enumerate(j.stages):
        for mi, moment in enumerate(stage.moments):
            if moment.trigger is None:
                continue
            allowed = moment.trigger.where.get("stage")
            for name in [allowed] if isinstance(allowed, str) else allowed or []:
                if name not in moments:
                    errs.append(
                        (f"stages[{si}].moments[{mi}].trigger.where.stage", f"unknown stage '{name}'")
                    )
    errs += insight_reference_errors(
        j.root_causes, j.metrics, j.checks, people=people, teams=teams, moments=moments
    )
    return errs + _example_count_errors(j)


def _example_count_errors(j: Journey) -> list[tuple[str, str]]:
    """The router trains on every example at each retrain: their sum is bounded, not only each list."""
    total = sum(len(s.examples) + sum(len(m.examples) for m in s.moments) for s in j.stages)
    if total <= MAX_EXAMPLES:
        return []
    return [("stages", f"{total} routing examples in all; at most {MAX_EXAMPLES} are accepted")]


def _place_errors(
    path: str, stage: str, moment: str | None, moments: dict[str, set[str]]
) -> list[tuple[str, str]]:
    if stage not in moments:
        return [(f"{path}.stage", f"unknown stage '{stage}'")]
    if moment is not None and moment not in moments[stage]:
        return [(f"{path}.moment", f"unknown moment '{moment}' in stage '{stage}'")]
    return []


class JourneyOut(BaseModel):
    version: int
    name: str
    created_at: datetime
    created_by: str
    journey: dict[str, Any]
