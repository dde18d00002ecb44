"""Time buckets, and the long-term fix's own verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.insights.buckets import following, span, start_of
from app.insights.remedies import judge
from app.journey.accountability import VerificationRules


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    at = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # a Thursday
    assert start_of(at, "week") == date(2026, 11, 23)
    assert start_of(at, "month") == date(2026, 11, 1)
    assert following(date(2026, 12, 1), "month") == date(2027, 1, 1)


def test_span_covers_since_to_until() -> None:
    since = datetime(2026, 6, 15, tzinfo=UTC)
    until = datetime(2026, 12, 1, tzinfo=UTC)  # exclusive: December holds nothing yet
    assert span(since, until, "month") == [date(2026, m, 1) for m in range(6, 12)]


RULES = VerificationRules(min_recurrence_items=3, max_rate_ratio=0.5)
SHIPPED = datetime(2026, 10, 1, tzinfo=UTC)


def test_long_term_fix_is_pending_during_its_window() -> None:
    j = judge(SHIPPED, SHIPPED + timedelta(days=10), timedelta(days=30), before=20, after=0, rules=RULES)
    assert j.outcome == "pending" and j.window_end == SHIPPED + timedelta(days=30)


def test_long_term_fix_is_verified_when_customers_stopped_reporting() -> None:
    j = judge(SHIPPED, SHIPPED + timedelta(days=31), timedelta(days=30), before=20, after=2, rules=RULES)
    assert j.outcome == "verified"


def test_long_term_fix_fails_when_the_issue_kept_coming() -> None:
    # 12 after against 20 before: 12 >= 3 and 12 > 0.5 * 20.
    j = judge(SHIPPED, SHIPPED + timedelta(days=31), timedelta(days=30), before=20, after=12, rules=RULES)
    assert j.outcome == "failed"
