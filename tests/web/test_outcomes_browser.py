"""After the session in Debian's headless Chromium (issue 22): the front desk records the outcome
in one short form by keyboard alone (completing the booking); a serious sign's emergency
instruction is the first thing on the page, in full; a sign noticed later is reported; the
therapist's page and the school office show the safety record; registry staff see the serious
event first in the review queue. Every page is scanned with axe-core."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from credentials.services import certifications_flag_for_review
from protocols import catalog_data
from registry.choices import BookingStatus
from registry.models import Booking, SessionOutcome
from registry.services.bookings import booking_create, slot_validate
from tests.web.conftest import PHONE, assert_accessible, build_world, record_intake, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def world(transactional_db, live_server):
    return build_world()


def past_session(world, *, client_ref: str = "C-4001") -> Booking:
    intake = record_intake(world, client_ref=client_ref)
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=timezone.now() - dt.timedelta(minutes=90),
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=30,
    )
    booking = booking_create(actor=None, therapist=world.ana, slot=slot).booking
    assert booking is not None
    return booking


def answer_by_keyboard(page, pain: str, yes: set[str]) -> None:
    """From the pain field: type the score, then Tab into each sign's yes/no group (the focus
    lands on "Yes"), Space for yes or the right arrow for no; Tab to the button, Enter."""
    page.get_by_label(re.compile("^Pain score now")).focus()
    page.keyboard.type(pain)
    for spec in catalog_data.OUTCOME_SIGNS:
        page.keyboard.press("Tab")
        group = page.get_by_role("group", name=f"{spec['label']}?")
        expect(group.get_by_role("radio", name="Yes", exact=True)).to_be_focused()
        page.keyboard.press("Space" if spec["code"] in yes else "ArrowRight")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Record the outcome")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def test_the_front_desk_records_the_outcome_by_keyboard_and_then_a_serious_sign_reported_later(
    page, live_server, world
):
    booking = past_session(world)
    sign_in(page, live_server, "front-desk")
    expect(page.get_by_role("heading", name=re.compile("outcomes to record"))).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("^Record the outcome")).click()
    expect(page.get_by_role("heading", name="After the session")).to_be_visible()
    assert_accessible(page)

    answer_by_keyboard(page, "6", yes={"dizziness"})
    expect(page.get_by_text("Outcome recorded for client C-4001.")).to_be_visible()
    expect(page.locator(".badge-completed")).to_contain_text("Completed")
    expect(page.get_by_text(re.compile(r"pain 5 before, 6 after"))).to_be_visible()
    expect(page.locator(".emergency-after")).to_have_count(0)
    assert_accessible(page)
    outcome = SessionOutcome.objects.get(booking=booking)
    assert outcome.signs == ["dizziness", "pain-worse"]
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.COMPLETED

    # two hours later the client phones: bladder control lost
    page.get_by_text("Report a sign noticed later").click()
    page.get_by_label("Any change in bladder or bowel control").check()
    page.get_by_label("What happened").fill("Phoned: lost bladder control on the stairs.")
    page.get_by_role("button", name="Report the adverse event").click()
    page.wait_for_load_state()
    emergency = page.locator("main > *").first
    expect(emergency).to_have_class(re.compile("emergency-after"))
    expect(emergency).to_contain_text("Emergency: tell the client now")
    expect(emergency).to_contain_text(catalog_data.EMERGENCY_INSTRUCTION)
    expect(page.get_by_text(re.compile("under registry review"))).to_be_visible()
    assert_accessible(page)
    world.ana_certification.refresh_from_db()
    assert world.ana_certification.review_required


@pytest.mark.parametrize("browser_context_args", [{"viewport": PHONE}], ids=["phone"])
def test_a_serious_sign_in_the_outcome_puts_the_emergency_first_on_a_phone(page, live_server, world):
    booking = past_session(world, client_ref="C-4002")
    sign_in(page, live_server, "front-desk")
    page.goto(f"{live_server.url}/front-desk/bookings/{booking.pk}/")
    answer_by_keyboard(page, "4", yes={"saddle-numbness"})
    emergency = page.locator("main > *").first
    expect(emergency).to_contain_text(catalog_data.EMERGENCY_INSTRUCTION)
    expect(emergency).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)


def test_an_unanswered_sign_is_named_in_the_error_summary(page, live_server, world):
    booking = past_session(world, client_ref="C-4003")
    sign_in(page, live_server, "front-desk")
    page.goto(f"{live_server.url}/front-desk/bookings/{booking.pk}/")
    page.get_by_label(re.compile("^Pain score now")).fill("3")
    page.get_by_role("button", name="Record the outcome").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link")).to_have_count(len(catalog_data.OUTCOME_SIGNS))
    assert_accessible(page)
    assert not SessionOutcome.objects.exists()


def test_the_safety_record_on_the_therapist_page_the_school_office_and_the_review_queue(
    page, live_server, world
):
    from registry.services.bookings import booking_complete
    from registry.services.outcomes import adverse_event_report

    booking = booking_complete(actor=None, booking=past_session(world, client_ref="C-4004"))
    adverse_event_report(actor=None, booking=booking, signs=["saddle-numbness"], narrative="Phoned in.")
    certifications_flag_for_review(
        actor=None, certifications=[world.cara_certification], reason="Instructor's experience withdrawn"
    )

    sign_in(page, live_server, "ana")
    table = page.get_by_role("table", name="My sessions and what followed them, per protocol")
    expect(table).to_be_visible()
    expect(table).to_contain_text("Low back with radiculopathy")
    assert_accessible(page)
    page.context.clear_cookies()

    sign_in(page, live_server, "school-office")
    page.get_by_role("link", name="Safety record").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Safety record")
    assert_accessible(page)
    page.context.clear_cookies()

    sign_in(page, live_server, "registry-admin")
    expect(page.get_by_text(re.compile("1 serious adverse event"))).to_be_visible()
    page.get_by_role("link", name="Open the review queue").click()
    cards = page.locator("li.card h4")
    expect(cards).to_have_count(2)
    expect(cards.first).to_have_text("Ana Silva — Low back with radiculopathy")  # the serious event first
    expect(page.get_by_role("heading", name=re.compile("Serious adverse events"))).to_be_visible()
    assert_accessible(page)
