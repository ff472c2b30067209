"""Registry staff's pages through Django's test client: the home (with the Django admin), the
review queue (keep or revoke a flagged certificate with a reason, through
``certification_review``) and verifying an instructor's clinical experience — after which the
school can issue with that instructor. Roles: only registry admins open them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from credentials import services as credential_services
from credentials.models import Certification, ClinicalExperience
from credentials.tests.factories import CertificationFactory
from registry.choices import BookingStatus
from tests.web.conftest import issue_post, record_intake
from tests.web.test_frontdesk import PageStructure, book, content, text_of
from tests.web.test_school_pages import error_block

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "/registry-admin/",
    "/registry-admin/reviews/",
    "/registry-admin/experience/",
    "/registry-admin/experience/instructor/",
]


@pytest.fixture
def staff(client, scene) -> Client:
    client.force_login(scene.admin)
    return client


def flag(certification: Certification, reason: str) -> Certification:
    """Flag a certificate for review, as a withdrawal does (only the review columns change)."""
    Certification.objects.filter(pk=certification.pk).update(review_required=True, review_reason=reason)
    certification.refresh_from_db()
    return certification


def verify_post(scene, **overrides) -> dict[str, str]:
    data = {
        "action": "verify",
        "instructor": str(scene.omar.pk),
        "protocol": "tension-headache",
        "years": "4",
        "cases": "120",
        "evidence": "Clinic case log 2019-2025 and two references",
        "verified_on": (timezone.localdate() - dt.timedelta(days=400)).isoformat(),
    }
    data.update(overrides)
    return data


# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["desk", "school_office", "ana_user"])
def test_other_roles_get_403_on_the_registry_pages(client, scene, user):
    flagged = flag(scene.other_certification, "Check")
    client.force_login(getattr(scene, user))
    for url in STAFF_PAGES:
        assert client.get(url).status_code == 403, url
    response = client.post(
        f"/registry-admin/reviews/{flagged.pk}/", {f"review-{flagged.pk}-decision": "revoke"}
    )
    assert response.status_code == 403
    assert client.post("/registry-admin/experience/", verify_post(scene)).status_code == 403
    flagged.refresh_from_db()
    assert (flagged.review_required, flagged.revoked_at) == (True, None)
    assert not ClinicalExperience.objects.filter(instructor=scene.omar).exists()


def test_the_home_links_to_the_django_admin_and_the_queue(staff, scene):
    flag(scene.other_certification, "Check")
    html = content(staff.get("/registry-admin/"))
    assert 'href="/admin/"' in html
    assert 'href="/registry-admin/reviews/"' in html
    assert 'href="/registry-admin/experience/"' in html
    assert "Review queue (1)" in text_of(html)
    assert staff.get("/admin/").status_code == 200  # registry admins are staff


# --- the review queue ----------------------------------------------------------------------------


def test_the_queue_lists_every_schools_flagged_certificates(staff, scene):
    experience = scene.zoe.experience.get()
    credential_services.clinical_experience_withdraw(
        actor=scene.admin, experience=experience, reason="Case log could not be confirmed"
    )
    mine = flag(
        CertificationFactory(therapist=scene.beth, protocol=scene.tension, school=scene.school),
        "Pacific's authorisation was withdrawn",
    )
    words = text_of(content(staff.get("/registry-admin/reviews/")))
    assert "Flagged certificates (2)" in words
    assert "Dan Other — Tension-type headache" in words
    assert "Northern College of Massage, taught by Zoe Park" in words
    assert "Case log could not be confirmed" in words
    assert "Beth Jones — Tension-type headache" in words
    assert mine.review_reason in words
    assert words.count("Record the decision") == 2


def test_keeping_clears_the_flag(staff, scene):
    flagged = flag(scene.other_certification, "Check the references")
    prefix = f"review-{flagged.pk}"
    response = staff.post(
        f"/registry-admin/reviews/{flagged.pk}/",
        {f"{prefix}-decision": "keep", f"{prefix}-reason": "References confirmed by phone"},
        follow=True,
    )
    assert "Kept Dan Other's certificate in Tension-type headache" in text_of(content(response))
    assert "Flagged certificates (0)" in text_of(content(response))
    flagged.refresh_from_db()
    assert (flagged.review_required, flagged.revoked_at, flagged.reviewed_by) == (False, None, scene.admin)


def test_revoking_revokes_and_rechecks_the_bookings_resting_on_it(staff, scene):
    booking = book(scene, record_intake(scene), scene.ana)
    flagged = flag(scene.ana_certification, "The instructor's experience was withdrawn")
    prefix = f"review-{flagged.pk}"
    response = staff.post(
        f"/registry-admin/reviews/{flagged.pk}/",
        {f"{prefix}-decision": "revoke", f"{prefix}-reason": "The training did not take place"},
        follow=True,
    )
    words = text_of(content(response))
    assert "Revoked Ana Silva's certificate in Low back with radiculopathy" in words
    assert "1 booking(s) now need reassignment." in words
    assert "client" not in words  # no client data on the registry's pages
    flagged.refresh_from_db()
    assert flagged.revoked_reason == "The training did not take place"
    assert not flagged.review_required
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert "The training did not take place" in text_of(content(Client().get(f"/verify/{flagged.serial}")))


def test_a_decision_needs_a_choice_and_a_reason_shown_on_its_card(staff, scene):
    flagged = flag(scene.other_certification, "Check")
    other = flag(CertificationFactory(therapist=scene.beth, school=scene.school), "Other")
    prefix = f"review-{flagged.pk}"
    response = staff.post(f"/registry-admin/reviews/{flagged.pk}/", {f"{prefix}-reason": "Fine"})
    assert response.status_code == 400
    html = content(response)
    assert 'Choose "keep" or "revoke".' in error_block(html, f"id_{prefix}-decision_error")
    assert f'href="#id_{prefix}-decision_0"' in html
    assert f"id_review-{other.pk}-decision_error" not in html  # the other card is untouched
    response = staff.post(f"/registry-admin/reviews/{flagged.pk}/", {f"{prefix}-decision": "keep"})
    assert response.status_code == 400
    assert "This field is required: reason." in error_block(content(response), f"id_{prefix}-reason_error")
    response = staff.post(f"/registry-admin/reviews/{flagged.pk}/", {f"{prefix}-decision": "revoke"})
    assert response.status_code == 400
    assert "This field is required: reason." in error_block(content(response), f"id_{prefix}-reason_error")
    flagged.refresh_from_db()
    assert (flagged.review_required, flagged.revoked_at) == (True, None)


def test_deciding_on_a_certificate_not_flagged_says_so(staff, scene):
    certification = scene.other_certification
    prefix = f"review-{certification.pk}"
    response = staff.post(
        f"/registry-admin/reviews/{certification.pk}/",
        {f"{prefix}-decision": "revoke", f"{prefix}-reason": "x"},
        follow=True,
    )
    assert "No decision recorded: This certification is not flagged for review." in text_of(content(response))
    certification.refresh_from_db()
    assert certification.revoked_at is None
    assert staff.post("/registry-admin/reviews/00000000-0000-0000-0000-000000000000/").status_code == 404


# --- verifying clinical experience ---------------------------------------------------------------


def test_verifying_experience_shows_what_the_instructor_may_now_teach(staff, scene):
    html = content(staff.get("/registry-admin/experience/", {"instructor": str(scene.omar.pk)}))
    panel = text_of(re.search(r'<section id="instructor-panel".*?</section>', html, re.S).group(0))
    assert "Omar Reyes On the list of: Pacific School of Medical Massage." in panel
    assert "Verified to teach today \N{INFORMATION SOURCE} No protocol yet." in panel

    response = staff.post("/registry-admin/experience/", verify_post(scene))
    assert response.status_code == 302
    assert response["Location"] == f"/registry-admin/experience/?instructor={scene.omar.pk}"
    experience = ClinicalExperience.objects.get(instructor=scene.omar)
    assert (experience.years, experience.cases, experience.verified_by) == (4, 120, scene.admin)
    words = text_of(content(staff.get(response["Location"])))
    assert "Verified: Omar Reyes's experience in Tension-type headache (4 years, 120 cases" in words
    assert "Omar Reyes may now teach Tension-type headache." in words
    assert "Verified to teach today ✓ Tension-type headache" in words
    assert "4 years, 120 cases (the protocol asks 3 years, 100 cases)" in words


def test_after_verification_the_school_can_issue_with_that_instructor(client, scene):
    client.force_login(scene.school_office)
    data = issue_post(scene, instructor=str(scene.omar.pk))
    assert client.post("/school/certifications/new/", data).status_code == 422
    client.force_login(scene.admin)
    client.post("/registry-admin/experience/", verify_post(scene))
    client.force_login(scene.school_office)
    response = client.post("/school/certifications/new/", data)
    assert response.status_code == 302
    assert Certification.objects.get(school=scene.school).instructor == scene.omar


def test_experience_below_the_protocols_minimum_is_recorded_but_does_not_qualify(staff, scene):
    response = staff.post("/registry-admin/experience/", verify_post(scene, years="1"), follow=True)
    words = text_of(content(response))
    assert "Omar Reyes may not teach Tension-type headache yet: it asks 3 years and 100 cases." in words
    assert "Verified to teach today \N{INFORMATION SOURCE} No protocol yet." in words


def test_the_services_errors_show_next_to_their_fields(staff, scene):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = staff.post("/registry-admin/experience/", verify_post(scene, years="", verified_on=tomorrow))
    assert response.status_code == 400
    html = content(response)
    assert "Give a whole number from 0 to" in error_block(html, "id_years_error")
    response = staff.post("/registry-admin/experience/", verify_post(scene, evidence=" "))
    assert "This field is required: evidence." in error_block(content(response), "id_evidence_error")
    response = staff.post("/registry-admin/experience/", verify_post(scene, verified_on=tomorrow))
    assert "Experience cannot be attested from a future date." in error_block(
        content(response), "id_verified_on_error"
    )
    response = staff.post("/registry-admin/experience/", verify_post(scene, instructor="", protocol="nope"))
    html = content(response)
    assert "Choose the instructor." in error_block(html, "id_instructor_error")
    assert "Choose a protocol from the list." in error_block(html, "id_protocol_error")
    assert not ClinicalExperience.objects.filter(instructor=scene.omar).exists()


def test_choosing_an_instructor_shows_their_protocols_with_or_without_javascript(staff, scene):
    fragment = content(
        staff.get("/registry-admin/experience/instructor/", {"instructor": str(scene.ines.pk)})
    )
    assert fragment.lstrip().startswith('<section id="instructor-panel"')
    assert "Verified to teach today ✓ Tension-type headache" in text_of(fragment)
    html = content(staff.get("/registry-admin/experience/"))
    assert 'hx-get="/registry-admin/experience/instructor/"' in html
    response = staff.post("/registry-admin/experience/", {"action": "show", "instructor": str(scene.ines.pk)})
    assert response.status_code == 200
    words = text_of(content(response))
    assert "Ines Novak On the list of" in words
    assert "There is a problem" not in words
    assert re.search(rf'<option value="{scene.ines.pk}" selected>', content(response))
    assert ClinicalExperience.objects.filter(instructor=scene.ines).count() == 1


def test_every_post_needs_the_csrf_token(scene):
    client = Client(enforce_csrf_checks=True)
    client.force_login(scene.admin)
    flagged = flag(scene.other_certification, "Check")
    prefix = f"review-{flagged.pk}"
    response = client.post(
        f"/registry-admin/reviews/{flagged.pk}/", {f"{prefix}-decision": "keep", f"{prefix}-reason": "ok"}
    )
    assert response.status_code == 403
    assert client.post("/registry-admin/experience/", verify_post(scene)).status_code == 403
    flagged.refresh_from_db()
    assert flagged.review_required
    assert not ClinicalExperience.objects.filter(instructor=scene.omar).exists()


def test_every_registry_page_is_accessible_in_structure(staff, scene):
    flagged = flag(scene.other_certification, "Check")
    pages = [
        staff.get("/registry-admin/"),
        staff.get("/registry-admin/reviews/"),
        staff.post(f"/registry-admin/reviews/{flagged.pk}/", {}),
        staff.get("/registry-admin/experience/"),
        staff.get("/registry-admin/experience/", {"instructor": str(scene.ines.pk)}),
        staff.post("/registry-admin/experience/", verify_post(scene, years="x")),
    ]
    for response in pages:
        assert response.status_code in (200, 400)
        parser = PageStructure()
        parser.feed(content(response))
        assert parser.problems() == [], response.request["PATH_INFO"]


def test_a_keep_of_a_card_flagged_again_since_it_was_shown_is_refused(staff, scene):
    """The card carries the reason it showed; flagged again before the decision (a serious
    adverse event, another withdrawal), a keep is refused with the new reason, the flag stays."""
    flagged = flag(scene.other_certification, "Experience withdrawn")
    page = staff.get("/registry-admin/reviews/").content.decode()
    prefix = f"review-{flagged.pk}"
    assert f'name="{prefix}-reviewed_reason" value="Experience withdrawn"' in page
    flag(flagged, "Experience withdrawn\nSerious adverse event after a session")
    response = staff.post(
        f"/registry-admin/reviews/{flagged.pk}/",
        {
            f"{prefix}-decision": "keep",
            f"{prefix}-reason": "Re-verified",
            f"{prefix}-reviewed_reason": "Experience withdrawn",
        },
        follow=True,
    )
    assert "flagged again since it was read" in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.review_required
