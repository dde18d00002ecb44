"""The path language, the FieldMapping definition checks, and the resolver's coercions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from integrations.surveys import FETCHERS, KINDS, FeedbackDraft, FieldMapping, MappingError, resolve_draft
from integrations.surveys.paths import PathSyntaxError, PathTypeError, parse_path, resolve

DOC: dict[str, Any] = {
    "form": {
        "answers": [
            {"field": {"ref": "comment", "type": "long_text"}, "text": "slow", "id": 7},
            {"field": {"ref": "nps", "type": "nps"}, "number": 3, "id": "8", "ok": True},
        ],
        "hidden": None,
        "title": "t",
        "Customer ID": "c-1",
    }
}


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,expected",
    [
        ("form.title", "t"),
        ("form.answers[0].text", "slow"),
        ("form.answers[-1].number", 3),
        ("form.answers[field.ref=nps].number", 3),
        ("form.answers[field.type=long_text].text", "slow"),
        ("form.answers[id=7].text", "slow"),  # compared as text: 7 matches "7"
        ("form.answers[id=8].number", 3),
        ("form.answers[ok=true].number", 3),
        ("form.Customer ID", "c-1"),
        ("$", DOC),
    ],
)
def test_path_reads(path: str, expected: Any) -> None:
    assert resolve(DOC, parse_path(path)) == expected


@pytest.mark.parametrize(
    "path",
    [
        "form.nope",
        "form.answers[5].text",
        "form.answers[field.ref=missing].number",
        "form.hidden.customer_id",  # null reads as absent, not as a type error
    ],
)
def test_absent_paths_read_as_none(path: str) -> None:
    assert resolve(DOC, parse_path(path)) is None


@pytest.mark.parametrize(
    "path,at",
    [
        ("form.title.x", "form.title.x"),
        ("form.title[0]", "form.title[0]"),
        ("form.answers.text", "form.answers.text"),
        ("form[ref=x]", "form[ref=x]"),
    ],
)
def test_shape_clash_is_a_type_error_naming_the_path(path: str, at: str) -> None:
    with pytest.raises(PathTypeError) as info:
        resolve(DOC, parse_path(path))
    assert info.value.at == at


@pytest.mark.parametrize("bad", ["", ".a", "a.", "a..b", "a[", "a[x]", "[0]", "a[0]b", "a[=v]", "a]b", "a=b"])
def test_invalid_path_syntax_is_refused(bad: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(bad)


# --- mapping definitions -------------------------------------------------------------------------

BASE = {"external_id": "id", "occurred_at": "at"}


@pytest.mark.parametrize(
    "definition,names",
    [
        ({**BASE, "score": "a[", "scale": "nps"}, "score"),
        ({**BASE, "text": ["ok", "a..b"]}, "text"),
        ({**BASE, "metadata": {"plan": "x]"}}, "metadata.plan"),
        ({**BASE, "score": "s"}, "scale"),
        ({**BASE, "scale": "stars"}, "scale"),
        ({**BASE, "scroe": "s"}, "scroe"),
        ({**BASE, "defaults": {"score": "5"}}, "defaults.score"),
        ({**BASE, "require": ["nonsense"]}, "nonsense"),
        ({**BASE, "scale_values": {"x": "nps"}}, "scale_values"),
        ({"occurred_at": "at"}, "external_id"),
        ({**BASE, "text": []}, "text"),
    ],
)
def test_invalid_mapping_is_refused_naming_the_field(definition: dict[str, Any], names: str) -> None:
    with pytest.raises(ValidationError) as info:
        FieldMapping.model_validate(definition)
    assert names in str(info.value)


def test_every_default_mapping_is_valid_and_every_kind_is_complete() -> None:
    assert set(KINDS) == {"typeform", "surveymonkey", "delighted", "qualtrics", "zendesk", "standard"}
    for name, kind in KINDS.items():
        assert name == kind.KIND
        assert FieldMapping.model_validate(kind.DEFAULT_MAPPING.model_dump()) == kind.DEFAULT_MAPPING
        for fn in ("parse_body", "verify", "delivery_id", "describe", "to_drafts"):
            assert callable(getattr(kind, fn))
    assert set(FETCHERS) == {"surveymonkey", "qualtrics"}


def test_with_overrides_replaces_whole_fields_and_revalidates() -> None:
    base = FieldMapping(external_id="id", occurred_at="at", text="t", score="s", scale="nps")
    changed = base.with_overrides({"score": "other", "scale": "csat"})
    assert changed.score == ("other",) and changed.scale == "csat" and changed.text == ("t",)
    assert base.score == ("s",)  # the default is untouched
    with pytest.raises(ValidationError, match="score"):
        base.with_overrides({"score": "bad["})


# --- the resolver --------------------------------------------------------------------------------

ITEM = {"id": 42, "at": "2026-11-22T10:00:00Z", "t": " Too slow ", "s": "9", "w": "Good", "e": "a@b.co"}


def draft(mapping: dict[str, Any], payload: dict[str, Any] | None = None) -> FeedbackDraft:
    return resolve_draft(
        ITEM if payload is None else payload, FieldMapping.model_validate(mapping), source="x"
    )


def test_resolver_coerces_ids_strips_text_and_parses_numeric_text() -> None:
    d = draft({**BASE, "text": "t", "score": "s", "scale": "nps", "customer_email": "e"})
    assert (d.external_id, d.text, d.score, d.scale, d.customer_email) == (
        "42",
        "Too slow",
        9.0,
        "nps",
        "a@b.co",
    )
    assert d.occurred_at == datetime(2026, 11, 22, 10, tzinfo=UTC)


def test_score_words_are_matched_without_case() -> None:
    d = draft({**BASE, "score": "w", "scale": "csat", "score_values": {"good": 5, "bad": 1}})
    assert (d.score, d.scale) == (5.0, "csat")


def test_first_present_path_wins_and_defaults_fill_gaps() -> None:
    d = draft({**BASE, "text": ["nope", "t"], "touchpoint": "nope", "defaults": {"touchpoint": "web"}})
    assert d.text == "Too slow" and d.touchpoint == "web"


@pytest.mark.parametrize(
    "value,expected",
    [
        (1795689000, datetime(2026, 11, 26, 10, 30, tzinfo=UTC)),
        (1795689000123, datetime(2026, 11, 26, 10, 30, 0, 123000, tzinfo=UTC)),  # Jira-style ms
        ("2026-11-22 17:42:56", datetime(2026, 11, 22, 17, 42, 56, tzinfo=UTC)),  # naive = UTC
        ("2016-01-01T21:56:31.182613+00:00", datetime(2016, 1, 1, 21, 56, 31, 182613, tzinfo=UTC)),
    ],
)
def test_times(value: Any, expected: datetime) -> None:
    assert draft({**BASE, "text": "t"}, {**ITEM, "at": value}).occurred_at == expected


@pytest.mark.parametrize(
    "mapping,payload,field_path,words",
    [
        ({"score": "s", "scale": "nps"}, {"s": "lots"}, "s", "score: expected a number"),
        ({"score": "s", "scale": "nps"}, {"s": True}, "s", "score: expected a number, got boolean"),
        ({"score": "s", "scale": "nps"}, {"s": 11}, "s", "score: 11 is outside the nps range 0-10"),
        ({"score": "s", "scale": "csat"}, {"s": 0}, "s", "outside the csat range 1-5"),
        ({"score": "s", "scale": "ces"}, {"s": 8}, "s", "outside the ces range 1-7"),
        ({"text": "t"}, {"t": {"a": 1}}, "t", "text: expected text, got object"),
        ({"text": "t"}, {"t": ["a"]}, "t", "text: expected text, got list"),
        ({"text": "t.x"}, {"t": "str"}, "t.x", "text: expected an object at t, got string"),
        ({"text": "t", "customer_email": "e"}, {"t": "x", "e": "nope"}, "e", "customer_email: not an email"),
        ({"text": "t"}, {"t": "x", "at": "last tuesday"}, "at", "occurred_at: not an ISO-8601 time"),
        ({"text": "t"}, {"t": "x", "at": None}, "at", "occurred_at: missing"),
        ({"text": "t"}, {"t": "x", "id": None}, "id", "external_id: missing"),
        ({"text": "t", "score": "s", "scale": "nps"}, {}, "t | s", "neither found"),
        ({"text": "t", "persona": "p", "require": ["persona"]}, {"t": "x"}, "p", "persona: required"),
        (
            {"text": "t", "score": "s", "require": ["score"], "scale": "nps"},
            {"t": "x"},
            "s",
            "score: required",
        ),
        ({"score": "s", "scale_path": "k"}, {"s": 3}, "k", "scale: missing"),
        ({"score": "s", "scale_path": "k"}, {"s": 3, "k": "stars"}, "k", "scale: expected nps, csat or ces"),
    ],
)
def test_unreadable_payloads_raise_mapping_error_naming_path_and_field(
    mapping: dict[str, Any], payload: dict[str, Any], field_path: str, words: str
) -> None:
    with pytest.raises(MappingError) as info:
        draft({**BASE, **mapping}, {"id": 1, "at": "2026-01-01T00:00:00Z", **payload})
    assert info.value.field_path == field_path
    assert words in info.value.reason
    assert str(info.value).startswith(f"{field_path}: ")


def test_mapping_error_does_not_echo_payload_text() -> None:
    with pytest.raises(MappingError) as info:
        draft({**BASE, "score": "s", "scale": "nps"}, {**ITEM, "s": "my secret diary entry"})
    assert "diary" not in str(info.value)


def test_scale_from_payload_through_scale_values_and_untracked_scales() -> None:
    mapping = {**BASE, "score": "s", "scale_path": "k", "scale_values": {"fivestar": "csat", "pmf": None}}
    d = draft(mapping, {**ITEM, "s": 4, "k": "FiveStar"})
    assert (d.score, d.scale) == (4.0, "csat")
    d = draft(mapping, {**ITEM, "s": 2, "k": "pmf"})
    assert (d.score, d.scale, d.metadata["unscaled_score"]) == (None, None, 2.0)


def test_metadata_paths_and_extra_metadata() -> None:
    d = resolve_draft(
        ITEM,
        FieldMapping.model_validate({**BASE, "text": "t", "metadata": {"word": "w", "gone": "nope"}}),
        source="x",
        metadata={"fixed": 1},
    )
    assert d.metadata == {"fixed": 1, "word": "Good"}


def test_contact_mapping_needs_neither_text_nor_score() -> None:
    d = draft({**BASE, "kind": "contact", "customer_ref": "id"})
    assert (d.kind, d.text, d.score, d.customer_ref) == ("contact", None, None, "42")


@pytest.mark.parametrize(
    "fields",
    [
        {"score": 5.0},
        {"scale": "nps"},
        {"score": 11.0, "scale": "nps"},
        {"occurred_at": datetime(2026, 1, 1)},
    ],
)
def test_feedback_draft_refuses_inconsistent_scores_and_naive_times(fields: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "source": "x",
        "external_id": "1",
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    with pytest.raises(ValidationError):
        FeedbackDraft(**{**base, **fields})


def test_a_path_that_is_not_text_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as info:
        FieldMapping.model_validate({"text": 5})
    assert "text: expected a path or a list of paths" in str(info.value)
