"""After the session in the pages (issue 22), with Django's test client: the front desk records
the outcome in one short form (completing the booking), a serious sign's emergency instruction
comes first on the page, a sign noticed later is reported; the therapist's page and the school
office show the safety record; registry staff see serious events first in the review queue."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from protocols import catalog_data
from registry.choices import BookingStatus, Role
from registry.models import AdverseEvent, Booking, SessionOutcome
from registry.services.accounts import user_create
from registry.services.bookings import booking_complete, booking_create, slot_validate
from registry.services.outcomes import adverse_event_report, session_outcome_record
from tests.web.conftest import PASSWORD, record_intake

pytestmark = pytest.mark.django_db

SIGNS = [spec["code"] for spec in catalog_data.OUTCOME_SIGNS]


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def past_session(
    world, *, therapist=None, hours_ago: float = 1.5, client_ref="C-2001", complete=False
) -> Booking:
    intake = record_intake(world, client_ref=client_ref)
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=timezone.now() - dt.timedelta(hours=hours_ago),
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=30,
    )
    booking = booking_create(actor=None, therapist=therapist or world.ana, slot=slot).booking
    assert booking is not None
    return booking_complete(actor=None, booking=booking) if complete else booking


def outcome_post(pain: str = "6", **yes: str) -> dict[str, str]:
    data = {f"sign-{code}": "no" for code in SIGNS}
    data.update({f"sign-{code}": "yes" for code in yes})
    data["pain_after"] = pain
    return data


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_front_desk_lists_the_session_and_records_its_outcome_in_one_form(world):
    booking = past_session(world)
    desk = signed_in("front-desk")
    home = text_of(desk.get("/front-desk/"))
    assert "outcomes to record (1)" in home
    page = text_of(desk.get(f"/front-desk/bookings/{booking.pk}/"))
    assert "Record the outcome" in page
    assert "recording the outcome completes the booking" in page
    for spec in catalog_data.OUTCOME_SIGNS:
        assert f"{spec['label']}?" in page

    response = desk.post(f"/front-desk/bookings/{booking.pk}/outcome/", outcome_post("6", dizziness="yes"))
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED
    outcome = SessionOutcome.objects.get(booking=booking)
    assert (outcome.pain_before, outcome.pain_after, outcome.signs) == (5, 6, ["dizziness", "pain-worse"])
    page = text_of(desk.get(f"/front-desk/bookings/{booking.pk}/"))
    assert "Outcome recorded" in page
    assert "pain 5 before, 6 after" in page
    assert "Emergency" not in page
    assert "Report a sign noticed later" in page
    assert "outcomes to record" not in text_of(desk.get("/front-desk/"))


def test_a_serious_sign_shows_the_emergency_instruction_in_full_before_anything_else(world):
    booking = past_session(world)
    desk = signed_in("front-desk")
    desk.post(f"/front-desk/bookings/{booking.pk}/outcome/", outcome_post("3", **{"saddle-numbness": "yes"}))
    page = desk.get(f"/front-desk/bookings/{booking.pk}/").content.decode()
    main = page[page.index('<main id="main"') :]
    # the first thing in the main content is the emergency panel, with the whole instruction
    first = re.search(r"<(section|div|h1)[^>]*>", main[len('<main id="main" tabindex="-1">') :]).group(0)
    assert 'class="referral emergency-after"' in first
    assert catalog_data.EMERGENCY_INSTRUCTION in re.sub(r"\s+", " ", main)
    assert main.index("Emergency: tell the client now") < main.index("<h1>")
    assert AdverseEvent.objects.get(booking=booking).severity == "serious"


def test_unanswered_signs_and_a_missing_score_show_next_to_their_fields_and_write_nothing(world):
    booking = past_session(world)
    desk = signed_in("front-desk")
    data = outcome_post("")
    del data["sign-saddle-numbness"]
    response = desk.post(f"/front-desk/bookings/{booking.pk}/outcome/", data)
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem" in page
    assert "The pain score is a whole number from 0 to 10." in page
    assert "Ask about this sign every time" in page
    assert 'href="#id_sign-saddle-numbness_0"' in page
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert not SessionOutcome.objects.exists()


def test_a_sign_noticed_later_is_reported_from_the_booking_page(world):
    booking = past_session(world, complete=True)
    desk = signed_in("front-desk")
    session_outcome_record(actor=None, booking=booking, pain_after=5, signs=dict.fromkeys(SIGNS, False))
    bad = desk.post(f"/front-desk/bookings/{booking.pk}/adverse-events/", {"narrative": ""})
    assert bad.status_code == 400
    assert "Name at least one sign noticed." in text_of(bad)
    response = desk.post(
        f"/front-desk/bookings/{booking.pk}/adverse-events/",
        {"signs": ["bladder-bowel-change"], "narrative": "Phoned two hours later: lost bladder control."},
    )
    assert response.status_code == 302
    page = text_of(desk.get(f"/front-desk/bookings/{booking.pk}/"))
    assert "Emergency: tell the client now" in page
    assert "under registry review" in page
    world.ana_certification.refresh_from_db()
    assert world.ana_certification.review_required


def test_another_spas_booking_pages_answer_404(world):
    booking = past_session(world)
    other = signed_in("other-desk")
    assert other.get(f"/front-desk/bookings/{booking.pk}/").status_code == 404
    assert other.post(f"/front-desk/bookings/{booking.pk}/outcome/", outcome_post()).status_code == 404
    assert (
        other.post(f"/front-desk/bookings/{booking.pk}/adverse-events/", {"signs": SIGNS[:1]}).status_code
        == 404
    )
    assert not SessionOutcome.objects.exists()


def _serious_session(world, *, client_ref: str):
    booking = past_session(world, complete=True, client_ref=client_ref)
    adverse_event_report(actor=None, booking=booking, signs=["saddle-numbness"], narrative="Phoned in.")
    return booking


def test_the_therapist_page_and_the_school_office_show_the_safety_record(world):
    booking = past_session(world, complete=True)
    session_outcome_record(
        actor=None, booking=booking, pain_after=6, signs={**dict.fromkeys(SIGNS, False), "dizziness": True}
    )
    ana = text_of(signed_in("ana").get("/therapist/"))
    assert "My safety record" in ana
    assert "Low back with radiculopathy" in ana
    assert "C-2001" not in ana[ana.index("My safety record") :]  # no client identifier
    # the world's school issued neither certificate: nothing to show
    assert "No session completed yet" in text_of(signed_in("school-office").get("/school/safety/"))
    # the school that issued Ana's sees her record
    user_create(
        actor=None,
        username="issuing-office",
        password=PASSWORD,
        role=Role.SCHOOL_STAFF,
        school=world.ana_certification.school,
    )
    issuing = text_of(signed_in("issuing-office").get("/school/safety/"))
    assert '<th scope="rowgroup" rowspan="2">Ana Silva</th>' in issuing
    assert "1 (100%)" in issuing  # pain worse in the one outcome recorded
    assert "C-2001" not in issuing


def test_registry_staff_see_serious_events_first_in_the_review_queue(world):
    from credentials.services import certifications_flag_for_review

    # Cara's certificate is flagged first (the oldest flag), for an instructor's withdrawn
    # experience; Ana's after a serious adverse event
    certifications_flag_for_review(
        actor=world.admin,
        certifications=[world.cara_certification],
        reason="Instructor's experience withdrawn",
    )
    _serious_session(world, client_ref="C-2002")
    page = text_of(signed_in("registry-admin").get("/registry-admin/reviews/"))
    assert "Serious adverse events" in page
    assert page.index("Ana Silva — Low back with radiculopathy") < page.index(
        "Cara Diaz — Low back with radiculopathy"
    )
    assert "serious adverse event on" in page
    assert "C-2002" not in page  # no client data in the queue
    home = text_of(signed_in("registry-admin").get("/registry-admin/"))
    assert "1 serious adverse event" in home
