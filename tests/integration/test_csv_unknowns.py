"""A CSV import reports the touchpoints and personas the journey does not know, by line; those items
still land (placed by rules or the model, else in triage; without a persona), as the report says."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.actor import Actor
from app.feedback.models import FeedbackItem
from app.intake.csv_import import import_csv
from app.journey import service as journeys
from tests.support.api import example_journey


def test_unknown_touchpoints_and_personas_are_reported_by_line(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        journeys.apply(session, example_journey(), actor="test")
        session.commit()
    path = tmp_path / "f.csv"
    path.write_text(
        "source,external_id,text,score,scale,touchpoint,customer_ref,persona\n"
        "csv,1,Late box,3,nps,first-box-nps,c1,\n"
        "csv,2,The box was fine,8,nps,no-such-touchpoint,c2,\n"
        "csv,3,Late box again,3,nps,first-box-nps,c3,astronaut\n"
    )
    report = import_csv(engine, path, actor=Actor("test"))
    assert report.created == 3 and not report.rejected
    assert [line for line, _ in report.warnings] == [3, 4]
    assert "unknown touchpoint 'no-such-touchpoint'" in report.warnings[0][1]
    assert "unknown persona 'astronaut'" in report.warnings[1][1]
    with Session(engine) as session:
        third = session.execute(select(FeedbackItem).where(col(FeedbackItem.external_id) == "3")).scalar_one()
        assert third.persona is None and third.extra["unknown_persona"] == "astronaut"
        second = session.execute(
            select(FeedbackItem).where(col(FeedbackItem.external_id) == "2")
        ).scalar_one()
        assert second.touchpoint == "no-such-touchpoint"
