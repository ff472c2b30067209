"""The story at the front desk, in Debian's headless Chromium against the live server: sign in,
record an intake for M51.16 (searching the condition, answering the red-flag questions the
conditions bring), see the uncertified therapist refused in words, book the certified one,
see a 60-minute focus refused, a red flag answered with an emergency referral and no way to
book, and a revoked certificate turning a booking into a highlighted reassignment fixed with
one button. Every page is scanned with axe-core along the way, and each test leaves a
screenshot of its last page in artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from registry.choices import BookingStatus
from registry.models import Booking
from registry.services.bookings import booking_create, slot_validate
from registry.services.credentials import certification_revoke
from tests.web.conftest import (
    PHONE,
    SCREENSHOTS,
    assert_accessible,
    build_world,
    record_intake,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def world(transactional_db, live_server):
    return build_world()


def tomorrow(world) -> dt.date:
    return (timezone.now().astimezone(ZoneInfo(world.spa.timezone)) + dt.timedelta(days=1)).date()


def card(page, name: str):
    """A therapist's card in the search results."""
    return page.locator("#results li.card").filter(has=page.get_by_role("heading", name=name, exact=True))


def ask_for_session(page, world, *, time: str = "10:00", focus_minutes: int = 30) -> None:
    page.get_by_label("Date").fill(tomorrow(world).isoformat())
    page.get_by_label("Start time").fill(time)
    page.get_by_label("Length (minutes)").fill("60")
    page.get_by_label("Focus region").select_option("lumbar")
    page.get_by_label("Focus minutes").fill(str(focus_minutes))
    page.get_by_role("button", name="Show therapists").click()
    page.wait_for_load_state()


def record_m51_16_intake(page, live_server, *, client_ref: str, yes: tuple[str, ...] = ()) -> None:
    """Fill in the intake form the way the front desk does: search the condition, tick it, wait
    for the questions it brings (HTMX), answer each one, give a pain score, record."""
    page.goto(f"{live_server.url}/front-desk/")
    page.get_by_role("link", name="Record an intake").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record an intake")
    page.get_by_label("Client reference").fill(client_ref)
    page.get_by_label("Search conditions").fill("M51.16")
    options = page.locator("#condition-options input[name=conditions]")
    expect(options).to_have_count(1)  # filtered on the server as one types
    page.get_by_label(re.compile(r"^M51\.16 Intervertebral disc disorders with radiculopathy")).check()
    bladder = page.get_by_role("group", name=re.compile("problem with your bladder or bowels"))
    expect(bladder).to_be_visible()  # the low-back questions arrived
    questions = page.locator("fieldset.question")
    expect(questions).to_have_count(10)
    for index in range(questions.count()):
        question = questions.nth(index)
        legend = question.locator("legend").first.inner_text()
        answer = "Yes" if any(text in legend for text in yes) else "No"
        question.get_by_role("radio", name=answer, exact=True).check()
    page.get_by_label("Pain score").fill("6")
    assert_accessible(page)
    page.get_by_role("button", name="Record the intake").click()
    page.wait_for_load_state()


def test_the_front_desk_books_the_certified_therapist_and_not_the_other(page, live_server, world):
    sign_in(page, live_server, "front-desk")
    expect(page).to_have_url(f"{live_server.url}/front-desk/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Front desk")
    assert_accessible(page)

    record_m51_16_intake(page, live_server, client_ref="C-3001")
    expect(page).to_have_url(re.compile(r"/front-desk/intakes/[0-9a-f-]{36}/$"))
    expect(page.get_by_text("Intake recorded for client C-3001.")).to_be_visible()
    assert_accessible(page)

    ask_for_session(page, world)
    names = page.locator("#results h3").all_inner_texts()
    assert names == ["Ana Silva", "Cara Diaz", "Beth Jones"]  # allowed first
    beth = card(page, "Beth Jones")
    expect(beth).to_contain_text("Cannot take this session")
    expect(beth).to_contain_text(
        "Reason: Beth Jones is not certified in Low back with radiculopathy, which M51.16 requires."
    )
    expect(beth.get_by_role("button")).to_have_count(0)
    expect(card(page, "Ana Silva")).to_contain_text("Can take this session")
    assert_accessible(page)

    card(page, "Ana Silva").get_by_role("button", name="Book Ana Silva").click()
    page.wait_for_load_state()
    expect(page.get_by_text(re.compile(r"Booked Ana Silva for .* \(client C-3001\)\."))).to_be_visible()
    expect(page.locator(".badge-confirmed")).to_contain_text("Confirmed")
    expect(page.locator(".decisions > li")).to_have_count(1)
    assert_accessible(page)
    booking = Booking.objects.get()
    assert (booking.therapist_id, booking.status) == (world.ana.pk, BookingStatus.CONFIRMED)

    # the same client, another time, an hour of focused work on the low back: refused for all
    page.get_by_role("link", name="C-3001").click()
    ask_for_session(page, world, time="14:00", focus_minutes=60)
    expect(page.locator("#results li.card")).to_have_count(3)
    expect(page.get_by_text("Can take this session")).to_have_count(0)
    expect(card(page, "Ana Silva")).to_contain_text(
        "60 minutes of focused work on the lumbar region exceed the 30-minute limit of "
        "Low back with radiculopathy; more than that is overstimulation."
    )
    expect(page.get_by_role("button", name=re.compile("^Book "))).to_have_count(0)
    assert_accessible(page)


def test_a_red_flag_shows_the_emergency_referral_and_no_book_button(page, live_server, world):
    sign_in(page, live_server, "front-desk")
    record_m51_16_intake(page, live_server, client_ref="C-3002", yes=("bladder or bowels",))
    referral = page.get_by_role("alert").filter(has_text="Emergency care now — do not massage")
    expect(referral).to_be_visible()
    expect(referral).to_contain_text("No session can be booked on this intake.")
    expect(referral.get_by_role("heading", level=2)).to_have_text("⚠ Emergency care now — do not massage")
    expect(page.get_by_role("button", name=re.compile("Book|Show therapists"))).to_have_count(0)
    assert_accessible(page)


def test_intake_errors_are_shown_next_to_their_fields(page, live_server, world):
    sign_in(page, live_server, "front-desk")
    page.goto(f"{live_server.url}/front-desk/intakes/new/")
    page.get_by_label("Search conditions").fill("disc lumbar")
    expect(page.locator("#condition-options input[name=conditions]")).to_have_count(2)
    page.locator("#condition-m5116").check()
    expect(page.locator("fieldset.question")).to_have_count(10)
    page.get_by_role("button", name="Record the intake").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_contain_text("A spa-local client reference is required.")
    expect(page.get_by_label("Client reference")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_client_ref_error")).to_contain_text("A spa-local client reference is required.")
    bladder = page.get_by_role("group", name=re.compile("problem with your bladder or bowels"))
    expect(bladder.locator(".field-error")).to_contain_text("This question must be answered")
    expect(page.locator("#condition-m5116")).to_be_checked()  # what was entered is kept
    assert_accessible(page)


def test_a_revoked_certificate_becomes_a_highlighted_reassignment_fixed_by_a_button(page, live_server, world):
    intake = record_intake(world, client_ref="C-3003")
    start = dt.datetime.combine(tomorrow(world), dt.time(11), tzinfo=ZoneInfo(world.spa.timezone))
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=30,
    )
    booking = booking_create(actor=world.desk, therapist=world.ana, slot=slot).booking

    sign_in(page, live_server, "front-desk")
    upcoming = page.get_by_role("region", name="Upcoming")
    expect(upcoming).to_contain_text("Ana Silva · client C-3003")
    expect(page.get_by_role("region", name=re.compile("Needs reassignment"))).to_have_count(0)

    certification_revoke(
        actor=world.admin, certification=world.ana_certification, reason="Assessment was forged"
    )
    page.reload()
    needs = page.get_by_role("region", name=re.compile("Needs reassignment"))
    expect(needs).to_be_visible()
    expect(needs).to_contain_text("Needs reassignment (1)")
    expect(needs).to_contain_text("Ana Silva · client C-3003")
    expect(needs).to_contain_text("Reason: Ana Silva's certification in Low back with radiculopathy")
    expect(needs).to_contain_text("was revoked on")
    first_heading = page.locator("main h2").first
    expect(first_heading).to_contain_text("Needs reassignment")  # on top of the day
    expect(needs.get_by_role("button")).to_have_count(1)  # Cara is the only one allowed
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "test_frontdesk_browser--needs-reassignment.png"), full_page=True)

    needs.get_by_role("button", name="Reassign to Cara Diaz").click()
    page.wait_for_load_state()
    expect(page.get_by_text(re.compile(r"Reassigned to Cara Diaz: .* \(client C-3003\)\."))).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("Needs reassignment"))).to_have_count(0)
    expect(page.get_by_role("region", name="Upcoming")).to_contain_text("Cara Diaz · client C-3003")
    booking.refresh_from_db()
    assert (booking.therapist_id, booking.status) == (world.cara.pk, BookingStatus.CONFIRMED)

    page.get_by_role("region", name="Upcoming").get_by_role("link").first.click()
    history = page.locator(".decisions > li")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("Booking attempt · Ana Silva")
    expect(history.nth(1)).to_contain_text("Re-check after a change · Ana Silva")
    expect(history.nth(1)).to_contain_text("Refused")
    expect(history.nth(2)).to_contain_text("Reassignment · Cara Diaz")
    assert_accessible(page)


@pytest.mark.parametrize("browser_context_args", [{"viewport": PHONE}], ids=["phone"])
def test_on_a_phone_the_front_desk_fits_and_works_by_keyboard(page, live_server, world):
    intake = record_intake(world, client_ref="C-3004")
    page.goto(f"{live_server.url}/login/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))
    page.get_by_label("Username").focus()
    page.keyboard.type("front-desk")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-registry-2026!")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/front-desk/")

    session = {
        "date": tomorrow(world).isoformat(),
        "time": "09:00",
        "duration_minutes": 60,
        "focus_region": "lumbar",
        "focus_minutes": 20,
    }
    page.goto(f"{live_server.url}/front-desk/intakes/{intake.pk}/?{urlencode(session)}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    book = card(page, "Ana Silva").get_by_role("button", name="Book Ana Silva")
    book.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_text(re.compile("Booked Ana Silva for"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page)


@pytest.mark.parametrize(
    "browser_context_args", [{"viewport": PHONE, "java_script_enabled": False}], ids=["phone-no-javascript"]
)
def test_the_intake_form_works_without_javascript(page, live_server, world):
    sign_in(page, live_server, "front-desk")
    page.goto(f"{live_server.url}/front-desk/intakes/new/")
    page.get_by_label("Client reference").fill("C-3005")
    page.get_by_label("Search conditions").fill("tension headache")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#condition-options input[name=conditions]")).to_have_count(1)
    page.locator("#condition-g44209").check()
    page.get_by_role("button", name="Update the questions for these conditions").click()
    expect(page.locator("fieldset.question")).to_have_count(1)  # the head: only the every-intake question
    expect(page.locator("#condition-g44209")).to_be_checked()
    expect(page.get_by_label("Client reference")).to_have_value("C-3005")
    page.locator("fieldset.question").get_by_role("radio", name="No", exact=True).check()
    page.get_by_label("Pain score").fill("3")
    page.get_by_role("button", name="Record the intake").click()
    expect(page.get_by_text("Intake recorded for client C-3005.")).to_be_visible()
    expect(page.get_by_role("button", name="Show therapists")).to_be_visible()
