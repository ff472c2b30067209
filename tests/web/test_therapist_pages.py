"""The therapist's page through Django's test client: their scope (protocols with validity
dates, the conditions those cover), what expires within 60 days, their upcoming bookings with
the intake each needs — and only theirs — and their certificates with the public page and the
PDF. Roles: only therapists open it."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credentials.tests.factories import CertificationFactory, LicenseFactory
from protocols.models import Condition, Protocol
from protocols.selectors import screening_question_list
from registry.choices import Role
from registry.services.accounts import user_create
from registry.services.bookings import booking_create, slot_validate
from registry.services.credentials import certification_revoke
from registry.services.intakes import applicable_questions, intake_record
from tests.web.conftest import PASSWORD, record_intake
from tests.web.test_frontdesk import PageStructure, content, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana(client, world):
    client.force_login(world.ana_user)
    return client


def book(world, intake, therapist, *, hour: int = 10, days: int = 1, focus_minutes: int = 30):
    day = (timezone.now().astimezone(ZoneInfo(world.spa.timezone)) + dt.timedelta(days=days)).date()
    start = dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(world.spa.timezone))
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=focus_minutes,
    )
    booking = booking_create(actor=world.desk, therapist=therapist, slot=slot).booking
    assert booking is not None
    return booking


def cleared_intake(world, client_ref: str):
    """An M51.16 intake with a yes to the recent-injury question, cleared by a physician."""
    regions = set(Condition.objects.filter(code="M51.16").values_list("region", flat=True))
    questions = applicable_questions(screening_question_list(), regions)
    return intake_record(
        actor=world.desk,
        spa=world.spa,
        client_ref=client_ref,
        condition_codes=["M51.16"],
        screening={q.code: q.code == "recent-trauma" for q in questions},
        clearances={
            "recent-trauma": {
                "cleared_on": timezone.localdate() - dt.timedelta(days=2),
                "cleared_by": "Dr. Ada Lee",
            }
        },
        pain_score=4,
    )


def section(html: str, heading_id: str) -> str:
    """The words of the page's section labelled by ``heading_id``."""
    found = re.search(rf'<section[^>]*aria-labelledby="{heading_id}"[^>]*>(.*?)</section>', html, re.S)
    assert found is not None, heading_id
    return text_of(found.group(1))


def test_other_roles_get_403_and_anonymous_visitors_sign_in(client, world):
    for user in (world.desk, world.school_office, world.admin):
        client.force_login(user)
        assert client.get("/therapist/").status_code == 403
    client.logout()
    assert client.get("/therapist/")["Location"] == "/login/?next=/therapist/"


def test_the_scope_lists_protocols_with_their_dates_and_the_conditions_they_cover(ana, world):
    html = content(ana.get("/therapist/"))
    words = text_of(html)
    certification = world.ana_certification
    assert f"Registry id {world.ana.pk}" in words
    assert (
        f"Low back with radiculopathy Valid from {certification.valid_from:%-d %B %Y} "
        f"until {certification.expires_at:%-d %B %Y}"
    ) in words
    scope = section(html, "scope-heading")
    assert "M51.16 Intervertebral disc disorders with radiculopathy, lumbar region" in scope
    assert "M54.16" in scope  # the other condition the protocol covers
    assert "G44.209" not in scope  # tension headache: not certified
    assert "US-CA" in scope
    assert "✓ Active" in scope
    assert "Nothing of yours expires within 60 days." in words


def test_what_expires_within_60_days_is_called_out(ana, world):
    tension = Protocol.objects.get(slug="tension-headache")
    soon = CertificationFactory(
        therapist=world.ana,
        protocol=tension,
        valid_from=timezone.now() - dt.timedelta(days=700),
        expires_at=timezone.now() + dt.timedelta(days=20),
    )
    later = CertificationFactory(  # a second certificate in the same protocol, still valid long after
        therapist=world.ana,
        protocol=world.radiculopathy,
        valid_from=timezone.now() - dt.timedelta(days=10),
        expires_at=timezone.now() + dt.timedelta(days=40),
    )
    LicenseFactory(
        therapist=world.ana,
        jurisdiction="US-NV",
        valid_from=dt.date(2020, 1, 1),
        expires_on=timezone.localdate() + dt.timedelta(days=30),
    )
    html = content(ana.get("/therapist/"))
    words = text_of(html)
    expiring = section(html, "expiring-heading")
    assert f"your certification in Tension-type headache ends on {soon.expires_at:%-d %B %Y}" in expiring
    assert "Warning:" in expiring
    assert "Low back with radiculopathy" not in expiring  # another certificate holds it for longer
    assert "your licence US-NV" in expiring
    assert later.expires_at < world.ana_certification.expires_at
    assert "G44.209" in words  # tension headache is in scope while it lasts


def test_without_an_active_licence_the_scope_is_empty_and_says_why(client, world):
    beth_user, _token = user_create(
        actor=None, username="beth", password=PASSWORD, role=Role.THERAPIST, therapist=world.beth
    )
    world.beth.licenses.update(status="suspended")
    CertificationFactory(therapist=world.beth, protocol=world.radiculopathy)
    client.force_login(beth_user)
    words = text_of(content(client.get("/therapist/")))
    assert "No active licence: without one you may not treat any condition" in words
    assert "None: you hold no certification that counts today." in words
    assert "Not active (suspended)" in words


def test_upcoming_bookings_show_the_intake_only_for_the_therapists_own(ana, world):
    mine = book(world, cleared_intake(world, "C-ANA-1"), world.ana)
    book(world, record_intake(world, client_ref="C-CARA-9"), world.cara, hour=10)
    yesterday_intake = record_intake(world, client_ref="C-PAST")
    past = book(world, yesterday_intake, world.ana, hour=14)
    past.start, past.end = past.start - dt.timedelta(days=3), past.end - dt.timedelta(days=3)
    past.save(update_fields=["start", "end"])
    cancelled = book(world, record_intake(world, client_ref="C-CANCELLED"), world.ana, hour=16)
    cancelled.status = "cancelled"
    cancelled.save(update_fields=["status"])

    html = content(ana.get("/therapist/"))
    words = text_of(html)
    bookings = section(html, "bookings-heading")
    assert "Harbour Wellness Spa · client C-ANA-1 ✓ Confirmed" in bookings
    local = mine.start.astimezone(ZoneInfo("America/Los_Angeles"))
    assert f"{local:%A} {local.day} {local:%B %Y}, 10:00\N{EN DASH}11:00 P" in bookings  # the spa's zone
    assert "M51.16 Intervertebral disc disorders with radiculopathy, lumbar region" in bookings
    assert (
        "Focus Lumbar spine (low back): at most 30 minutes of focused work (session 60 minutes)" in bookings
    )
    assert "Pain score 4 of 10" in bookings
    assert (
        "Answered yes: Have you had a significant fall, accident or other injury in the last few weeks? "
        "— cleared by Dr. Ada Lee on"
    ) in bookings
    # another therapist's booking, a past one and a cancelled one: not shown
    for other in ("C-CARA-9", "C-PAST", "C-CANCELLED"):
        assert other not in words


def test_a_booking_needing_reassignment_says_so(ana, world):
    book(world, record_intake(world, client_ref="C-ANA-2"), world.ana)
    certification_revoke(actor=None, certification=world.ana_certification, reason="Forged assessment")
    words = text_of(content(ana.get("/therapist/")))
    assert "client C-ANA-2 ⚠ Needs reassignment" in words
    assert "the spa will give it to another therapist" in words
    assert "What I may treat" in words
    assert "None: you hold no certification that counts today." in words


def test_certificates_link_to_the_public_page_and_the_pdf(ana, world):
    certification_revoke(actor=None, certification=world.cara_certification, reason="not hers")  # not Ana's
    revoked = CertificationFactory(
        therapist=world.ana, protocol=Protocol.objects.get(slug="neck-radiculopathy")
    )
    certification_revoke(actor=None, certification=revoked, reason="Assessment repeated")
    html = content(ana.get("/therapist/"))
    for certification in (world.ana_certification, revoked):
        assert f'href="/verify/{certification.serial}"' in html
        assert f'href="/verify/{certification.serial}.pdf"' in html
    assert world.cara_certification.serial not in html
    words = text_of(html)
    assert "✗ Revoked" in words
    assert "Assessment repeated" in words
    assert ana.get(f"/verify/{revoked.serial}.pdf").status_code == 200


def test_the_page_costs_a_fixed_number_of_queries(ana, world):
    book(world, cleared_intake(world, "C-1"), world.ana, hour=9)
    with CaptureQueriesContext(connection) as one:
        ana.get("/therapist/")
    for hour in (11, 13, 15):
        book(world, record_intake(world, client_ref=f"C-{hour}"), world.ana, hour=hour)
    CertificationFactory(therapist=world.ana, protocol=Protocol.objects.get(slug="tension-headache"))
    with CaptureQueriesContext(connection) as more:
        response = ana.get("/therapist/")
    assert len(more) == len(one)
    assert len(re.findall(r"client C-", text_of(content(response)))) == 4


def test_the_therapist_page_is_accessible_in_structure(ana, world):
    book(world, cleared_intake(world, "C-1"), world.ana)
    parser = PageStructure()
    response = ana.get("/therapist/")
    assert response.status_code == 200
    parser.feed(content(response))
    assert parser.problems() == []
