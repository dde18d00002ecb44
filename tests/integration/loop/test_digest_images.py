"""The demo's data through the weekly digests job, the worker and a real SMTP server on loopback: the
owner and leadership digests arrive as multipart/related with their charts as PNG parts, every `cid:` in
the HTML names one of them, and the plain-text part carries every charted number."""

from __future__ import annotations

import json
import re
import struct
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session

from app import wiring
from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.settings import Settings
from app.demo import insights as demo_insights
from app.demo.data import demo_items
from app.digests.jobs import digests_job
from app.intake import ingest as feedback
from app.journey import service as journeys
from app.notify.charts import Chart
from app.notify.templates import fmt_num
from app.outbox.models import OutboxMessage
from app.scheduler.registry import JobRun, SchedulerConfig
from tests.integration.loop.conftest import Smtp, loop_settings
from tests.support.outbox import drain

DEMO_JOURNEY = Path(__file__).resolve().parents[3] / "app" / "demo" / "journey.yaml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GMAIL_CLIP = 102 * 1024
MAX_PNG = 12 * 1024


def seed_demo(engine: Engine, settings: Settings, now: datetime) -> None:
    """What `seam demo` loads: the demo journey, its feedback, persona trends, metrics, a confirmed fix."""
    wiring.start_process(settings, engine)
    text = DEMO_JOURNEY.read_text(encoding="utf-8")
    with Session(engine, expire_on_commit=False) as session:
        journeys.apply(session, journeys.parse_text(text), actor="test", source_text=text)
        journey = journeys.current(session)
        good, _ = feedback.validate_raw(demo_items(now=now))
        feedback.ingest(session, journey, good, Actor("test"), now=now)
        demo_insights.load(session, journey, now, settings)
        session.commit()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _related(msg: EmailMessage) -> tuple[str, dict[str, bytes]]:
    """The HTML of a multipart/related body and its images by Content-ID."""
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = list(msg.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = list(related.iter_parts())
    assert html_part.get_content_type() == "text/html"
    found: dict[str, bytes] = {}
    for part in images:
        assert part.get_content_type() == "image/png"
        assert part.get_content_disposition() == "inline"
        cid = str(part["Content-ID"])
        assert cid.startswith("<") and cid.endswith(">")
        found[cid[1:-1]] = part.get_content()
    return str(html_part.get_content()), found


def _charts(engine: Engine, key_prefix: str) -> dict[str, list[Chart]]:
    with Session(engine) as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.kind == "email")).scalars().all()
        return {
            r.dedupe_key: [Chart.model_validate(c) for c in r.payload.get("charts", [])]
            for r in rows
            if r.dedupe_key.startswith(key_prefix)
        }


def test_digests_carry_their_charts_as_inline_images(engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(engine, smtp)
    now = utcnow()
    seed_demo(engine, settings, now)
    digests_job(JobRun(engine, settings, SchedulerConfig(), now))
    drain(engine, settings, skip_backoff=True)
    received = {str(m["X-Seam-Key"]): m for m in smtp.mailbox.received}

    owner_charts = _charts(engine, "digest:owner:")
    assert owner_charts and all(owner_charts.values())
    kinds = {c.cid.split(".")[0].split("-")[0] for charts in owner_charts.values() for c in charts}
    assert {"trend", "persona", "metric"} <= kinds
    with Session(engine) as session:
        sizes = [
            len(json.dumps(r.payload))
            for r in session.execute(select(OutboxMessage).where(OutboxMessage.kind == "email")).scalars()
        ]
    assert max(sizes) < 200 * 1024  # chart data, not images: the HTML and text dominate the row

    for key, charts in [*owner_charts.items(), *_charts(engine, "digest:leadership:").items()]:
        msg = received[key]
        html, images = _related(msg)
        assert len(html.encode()) < GMAIL_CLIP, key
        cids = re.findall(r'<img src="cid:([^"]+)" alt="([^"]+)"', html)
        assert sorted(c for c, _ in cids) == sorted(images) == sorted(c.cid for c in charts), key
        for data in images.values():
            assert _png_size(data) == (480, 160)
            assert len(data) < MAX_PNG
        plain = msg.get_body(("plain",))
        assert plain is not None
        text = str(plain.get_content())
        for chart in charts:
            for value in chart.values:
                if value is not None:
                    assert fmt_num(value) in text, (chart.cid, value)
            for low, high in zip(chart.lows, chart.highs, strict=True):
                if low is not None and high is not None:
                    assert f"({fmt_num(low)} to {fmt_num(high)})" in text, chart.cid
    assert any(k.startswith("digest:leadership:") for k in received)
