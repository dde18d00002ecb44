"""People acting through real Chromium: sign in from the emailed link, act, and be refused."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlmodel import Session

from app.core.clock import utcnow
from app.feedback.models import FeedbackItem
from app.people import service as people
from tests.integration.loop.conftest import Smtp
from tests.support.outbox import drain
from tests.web.browser.conftest import Live


def _emailed_link(live: Live, smtp: Smtp, address: str) -> str:
    # The outbox worker's own event loop, away from Playwright's.
    worker = threading.Thread(target=drain, args=(live.engine, live.settings), kwargs={"now": utcnow()})
    worker.start()
    worker.join(timeout=30)
    (mail,) = smtp.mailbox.to(address)
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"(http://\S+/sign-in/link\?token=\S+)", text)
    assert found, text
    return found.group(1)


def _sign_in(page: Page, live: Live, person: str) -> None:
    link = people.sign_in_link(live.settings.secret_key.get_secret_value(), live.url, person, utcnow())
    page.goto(link)
    page.click("#sign-in")
    expect(page.locator("h1")).to_have_text(re.compile("journey"))


def test_a_stage_owner_signs_in_from_the_email_acknowledges_one_issue_and_snoozes_another(
    page: Page, live: Live, smtp: Smtp
) -> None:
    page.goto(live.url + "/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.fill("#email", "tom.becker@boxwise.example")
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("Check your email")
    page.goto(_emailed_link(live, smtp, "tom.becker@boxwise.example"))
    expect(page.locator("h1")).to_have_text("Sign in as Tom Becker")
    page.click("#sign-in")
    expect(page.locator(".who")).to_contain_text("Tom Becker")
    buy = page.locator('section[data-stage="buy"]')
    expect(buy.locator(".owner")).to_have_text("Owner: Tom Becker")
    cards = buy.locator("a.card.issue")
    expect(cards).to_have_count(2)
    second_href = cards.nth(1).get_attribute("href")
    cards.first.click()
    expect(page.locator("#issue-title")).to_be_visible()
    page.click("#acknowledge")
    expect(page.locator(".flash.ok")).to_contain_text("Acknowledged")
    expect(page.locator(".issue-head .status")).to_have_text("acknowledged")
    page.goto(live.url + str(second_href))
    page.click("text=Snooze the reminders")
    page.fill("input[name=until]", (date.today() + timedelta(days=3)).isoformat())
    page.fill("input[name=reason]", "Waiting for the payment provider")
    page.click("#snooze")
    expect(page.locator(".flash.ok")).to_contain_text("Snoozed")
    expect(page.locator(".facts")).to_contain_text("Waiting for the payment provider")
    expect(page.locator(".timeline")).to_contain_text("Tom Becker snoozed the reminders")


def test_the_cx_lead_places_five_items_in_one_go(page: Page, live: Live) -> None:
    _sign_in(page, live, "dana")
    page.click("text=Triage")
    expect(page.locator("h1")).to_have_text("Triage")
    for item_id in live.triage:
        page.check(f"#item-{item_id}")
    page.select_option("#target", "use/recipe")
    page.click("#place")
    expect(page.locator(".flash.ok")).to_have_text("Placed 5 items.")
    with Session(live.engine) as session:
        states = session.execute(select(FeedbackItem.state, FeedbackItem.moment).where(
            FeedbackItem.id.in_(live.triage)  # type: ignore[union-attr]
        )).all()  # fmt: skip
    assert states == [("placed", "recipe")] * 5


def test_a_viewers_attempt_to_act_is_refused(page: Page, live: Live) -> None:
    _sign_in(page, live, "vic")
    expect(page.locator(".role")).to_have_text("Viewer")
    page.locator("a.card.issue").first.click()
    # The issue page first: a script run while the board is still showing would act on the wrong page.
    expect(page.locator("#issue-title")).to_be_visible()
    expect(page.locator("#acknowledge")).to_have_count(0)
    # The viewer crafts the form the page did not give them, with their own valid CSRF token.
    page.evaluate(
        """() => {
        const f = document.createElement('form');
        f.method = 'post';
        f.action = location.pathname + '/acknowledge';
        const c = document.querySelector('input[name=csrf]').cloneNode();
        f.appendChild(c);
        document.body.appendChild(f);
        f.submit();
    }"""
    )
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("you are a viewer here")


def test_an_expired_or_reused_sign_in_link_is_refused(page: Page, live: Live) -> None:
    secret = live.settings.secret_key.get_secret_value()
    expired = people.sign_in_link(secret, live.url, "kim", utcnow() - timedelta(minutes=16))
    page.goto(expired)
    expect(page.locator("h1")).to_have_text("Sign-in link refused")
    expect(page.locator("main")).to_contain_text("expired")
    link = people.sign_in_link(secret, live.url, "kim", utcnow())
    page.goto(link)
    page.click("#sign-in")
    page.click("text=Sign out")
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Sign-in link refused")
    expect(page.locator("main")).to_contain_text("already used")


def test_a_form_posted_without_its_csrf_token_is_refused(page: Page, live: Live) -> None:
    _sign_in(page, live, "tom")
    page.locator('section[data-stage="buy"] a.card.issue').first.click()
    expect(page.locator("#issue-title")).to_be_visible()
    page.evaluate("() => document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    page.click("#acknowledge")
    expect(page.locator("h1")).to_have_text("Not allowed")
    page.go_back()
    page.reload()
    expect(page.locator(".issue-head .status")).to_have_text("open")


def test_the_cx_lead_splits_an_issue_then_merges_two_and_undoes_it(page: Page, live: Live) -> None:
    _sign_in(page, live, "dana")
    buy = page.locator('section[data-stage="buy"] a.card.issue')
    checkout_href = str(buy.filter(has_text="Post-checkout survey").get_attribute("href"))
    page.goto(live.url + checkout_href)
    boxes = page.locator("#split-form input[name=items]")
    expect(boxes).to_have_count(3)
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.fill("#split-form input[name=title]", "Pay button freezes")
    page.click("#split")
    expect(page.locator(".flash.ok")).to_contain_text("Split")
    expect(page.locator("#issue-title")).to_have_text("Pay button freezes")
    split_id = page.url.rsplit("/", 1)[1].split("?")[0]
    # Merge the split issue back into the one it came from, after the preview; then undo it.
    page.click("text=Merge into another issue")
    page.fill("input[name=into]", checkout_href.rsplit("/", 1)[1])
    page.click("#merge-preview")
    expect(page.locator("h1")).to_contain_text(f"Merge EI-{split_id} into")
    expect(page.locator(".facts")).to_contain_text("2 items")
    page.click("#merge")
    expect(page.locator(".flash.ok").first).to_contain_text("Merged")
    expect(page.locator(".issue-head")).to_contain_text("3 items")
    page.click("#undo-merge")
    expect(page.locator(".flash.ok")).to_contain_text("The merge is undone")
    expect(page.locator("#issue-title")).to_have_text("Pay button freezes")
    expect(page.locator(".issue-head")).to_contain_text("2 items")
