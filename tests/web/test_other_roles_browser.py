"""The school office, the therapist's page and registry staff's pages in Debian's headless
Chromium against the live server: a school issues a certificate (first refused, with each
reason next to the field it concerns, then issued), revokes it, and the public page says
revoked; a therapist sees their scope and an upcoming booking with its intake; registry staff
verify an instructor's clinical experience, after which the school can issue with them; and
the review queue and the school's pages work by keyboard on a phone. Every page is scanned
with axe-core, and each test leaves a screenshot of its last page in artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from credentials.models import Certification, ClinicalExperience
from registry.services.bookings import booking_create, slot_validate
from tests.web.conftest import (
    PHONE,
    SCREENSHOTS,
    assert_accessible,
    build_school_world,
    build_world,
    record_intake,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def scene(transactional_db, live_server):
    return build_school_world(build_world())


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def fill_issue_form(page, scene, *, instructor: str, fundamentals_hours: str, harm_passed: bool) -> None:
    page.get_by_label("Therapist's registry id").fill(str(scene.beth.pk))
    page.get_by_label("Protocol", exact=True).select_option(label="Tension-type headache")
    page.get_by_label("Instructor", exact=True).select_option(label=instructor)
    page.get_by_label("Taught on").fill(scene.taught_on.isoformat())
    for module, hours in (
        ("Fundamentals", fundamentals_hours),
        ("Critical details", "8"),
        ("How not to cause harm", "6"),
    ):
        page.get_by_label(f"{module}: Completed on").fill(scene.completed_on.isoformat())
        page.get_by_label(f"{module}: Hours").fill(hours)
    page.get_by_label("How not to cause harm: Assessment passed").set_checked(harm_passed)


def test_a_school_issues_a_certificate_after_a_refusal_then_revokes_it(page, live_server, scene):
    sign_in(page, live_server, "school-office")
    expect(page).to_have_url(f"{live_server.url}/school/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("School office")
    assert_accessible(page)

    page.get_by_role("link", name="Issue a certificate").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Issue a certificate")
    assert_accessible(page)

    # first try: an instructor not verified for the protocol, too few hours, a failed assessment
    fill_issue_form(page, scene, instructor="Omar Reyes", fundamentals_hours="4", harm_passed=False)
    page.get_by_role("button", name="Issue the certificate").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert").filter(has_text="Not issued")
    expect(summary).to_contain_text("Not issued: 3 reasons")
    instructor_field = page.locator(".field").filter(has=page.get_by_label("Instructor", exact=True))
    expect(instructor_field.locator(".field-error")).to_contain_text(
        "Reason: Omar Reyes had no verified clinical experience in Tension-type headache"
    )
    expect(page.get_by_label("Instructor", exact=True)).to_have_attribute("aria-invalid", "true")
    fundamentals = page.get_by_role("group", name="Fundamentals")
    expect(fundamentals.locator(".field-error").first).to_contain_text(
        "4 hours were completed, 8 are required"
    )
    harm = page.get_by_role("group", name="How not to cause harm")
    expect(harm.locator(".field-error").first).to_contain_text("its assessment was not passed")
    expect(page.get_by_role("group", name="Critical details").locator(".field-error")).to_have_count(0)
    expect(page.get_by_label("Therapist's registry id")).to_have_value(str(scene.beth.pk))  # kept
    summary.get_by_role("link", name=re.compile("Omar Reyes")).click()
    expect(page.get_by_label("Instructor", exact=True)).to_be_focused()  # the summary leads to the field
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "test_other_roles_browser--issue-refused.png"), full_page=True)
    assert not Certification.objects.filter(school=scene.school).exists()

    # second try: the qualified instructor, the hours, the assessment passed
    page.get_by_label("Instructor", exact=True).select_option(label="Ines Novak")
    page.get_by_label("Fundamentals: Hours").fill("8")
    page.get_by_label("How not to cause harm: Assessment passed").check()
    page.get_by_role("button", name="Issue the certificate").click()
    page.wait_for_load_state()
    certification = Certification.objects.get(school=scene.school)
    expect(page).to_have_url(f"{live_server.url}/school/certifications/{certification.pk}/")
    expect(
        page.get_by_text(
            f"Certificate issued: Beth Jones, Tension-type headache (serial {certification.serial})."
        )
    ).to_be_visible()
    expect(page.locator("main .badge").first).to_have_text("✓ Active")
    assert_accessible(page)

    # revoke it with a reason: the public page says revoked
    page.get_by_label("Reason for revoking").fill("The assessment was not supervised")
    page.get_by_role("button", name="Revoke the certificate").click()
    page.wait_for_load_state()
    expect(page.get_by_text(f"Certificate {certification.serial} revoked")).to_be_visible()
    expect(page.get_by_role("region", name="Revoked")).to_contain_text(
        "Reason: The assessment was not supervised"
    )
    expect(page.get_by_role("button", name="Revoke the certificate")).to_have_count(0)
    assert_accessible(page)

    page.get_by_role("link", name=f"public page of certificate {certification.serial}").click()
    expect(page).to_have_url(f"{live_server.url}/verify/{certification.serial}")
    expect(page.get_by_role("heading", name="Status: Revoked")).to_be_visible()
    expect(page.locator("main")).to_contain_text("because The assessment was not supervised.")


def test_a_therapist_sees_their_scope_and_an_upcoming_booking(page, live_server, scene):
    intake = record_intake(scene, client_ref="C-7001")
    day = (timezone.now().astimezone(ZoneInfo(scene.spa.timezone)) + dt.timedelta(days=2)).date()
    slot = slot_validate(
        spa=scene.spa,
        intake=intake,
        start=dt.datetime.combine(day, dt.time(10), tzinfo=ZoneInfo(scene.spa.timezone)),
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=25,
    )
    booking_create(actor=scene.desk, therapist=scene.ana, slot=slot)
    other = record_intake(scene, client_ref="C-7002")
    slot = slot_validate(
        spa=scene.spa,
        intake=other,
        start=dt.datetime.combine(day, dt.time(10), tzinfo=ZoneInfo(scene.spa.timezone)),
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=25,
    )
    booking_create(actor=scene.desk, therapist=scene.cara, slot=slot)

    sign_in(page, live_server, "ana")
    expect(page).to_have_url(f"{live_server.url}/therapist/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ana Silva")
    scope = page.get_by_role("region", name="What I may treat")
    expect(scope).to_contain_text("Low back with radiculopathy")
    expect(scope).to_contain_text(f"until {scene.ana_certification.expires_at:%-d %B %Y}")
    expect(scope).to_contain_text("M51.16 Intervertebral disc disorders with radiculopathy")
    bookings = page.get_by_role("region", name="Upcoming bookings")
    expect(bookings.locator("li.card")).to_have_count(1)
    expect(bookings).to_contain_text("Harbour Wellness Spa · client C-7001")
    expect(bookings).to_contain_text(f"{day:%A} {day.day} {day:%B %Y}, 10:00")
    expect(bookings).to_contain_text("Lumbar spine (low back): at most 25 minutes of focused work")
    expect(bookings).to_contain_text("None: every screening question answered no.")
    expect(page.locator("main")).not_to_contain_text("C-7002")  # Cara's client
    assert_accessible(page)

    page.get_by_role("link", name="Public page of the Low back with radiculopathy certificate").click()
    expect(page).to_have_url(f"{live_server.url}/verify/{scene.ana_certification.serial}")
    expect(page.get_by_role("heading", name="Status: Valid")).to_be_visible()
    page.go_back()
    pdf = page.get_by_role("link", name="PDF of the Low back with radiculopathy certificate")
    expect(pdf).to_have_attribute("href", f"/verify/{scene.ana_certification.serial}.pdf")


def test_registry_staff_verify_experience_and_the_school_can_then_issue(page, live_server, scene):
    sign_in(page, live_server, "registry-admin")
    expect(page).to_have_url(f"{live_server.url}/registry-admin/")
    expect(page.get_by_role("link", name="The Django admin")).to_have_attribute("href", "/admin/")
    assert_accessible(page)

    page.get_by_role("link", name="Verify clinical experience").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify an instructor's clinical experience")
    page.get_by_label("Instructor", exact=True).select_option(
        label="Omar Reyes (Pacific School of Medical Massage)"
    )
    panel = page.locator("#instructor-panel")
    expect(panel.get_by_role("heading", level=2)).to_have_text("Omar Reyes")  # HTMX, as chosen
    expect(panel).to_contain_text("No protocol yet.")
    page.get_by_label("Protocol", exact=True).select_option(
        label="Tension-type headache (asks 3 years, 100 cases)"
    )
    page.get_by_label("Years of clinical experience").fill("4")
    page.get_by_label("Cases treated with the protocol").fill("130")
    page.get_by_label("Evidence").fill("Clinic case log 2019-2025 and two references")
    page.get_by_label("Experience held from").fill(
        (timezone.localdate() - dt.timedelta(days=400)).isoformat()
    )
    assert_accessible(page)
    page.get_by_role("button", name="Verify the experience").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Omar Reyes may now teach Tension-type headache.")).to_be_visible()
    expect(panel).to_contain_text("Verified to teach today ✓ Tension-type headache")
    expect(page.get_by_label("Instructor", exact=True)).to_have_value(str(scene.omar.pk))
    assert_accessible(page)
    page.screenshot(
        path=str(SCREENSHOTS / "test_other_roles_browser--experience-verified.png"), full_page=True
    )
    assert ClinicalExperience.objects.get(instructor=scene.omar).verified_by == scene.admin

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/login/")
    sign_in(page, live_server, "school-office")
    page.get_by_role("link", name="Instructors").first.click()
    omar = page.locator("li.card").filter(has=page.get_by_role("heading", name="Omar Reyes"))
    expect(omar).to_contain_text("Verified to teach: ✓ Tension-type headache")
    assert_accessible(page)
    page.get_by_role("link", name="Issue a certificate").first.click()
    fill_issue_form(page, scene, instructor="Omar Reyes", fundamentals_hours="8", harm_passed=True)
    page.get_by_role("button", name="Issue the certificate").click()
    page.wait_for_load_state()
    expect(
        page.get_by_text(re.compile(r"Certificate issued: Beth Jones, Tension-type headache"))
    ).to_be_visible()
    assert Certification.objects.get(school=scene.school).instructor == scene.omar


@pytest.mark.parametrize("browser_context_args", [{"viewport": PHONE}], ids=["phone"])
def test_on_a_phone_registry_staff_revoke_a_flagged_certificate_by_keyboard(page, live_server, scene):
    Certification.objects.filter(pk=scene.other_certification.pk).update(
        review_required=True, review_reason="Zoe Park's case log could not be confirmed"
    )
    sign_in(page, live_server, "registry-admin")
    page.get_by_role("link", name="Review queue").first.click()
    card = page.locator("li.card").filter(has_text="Dan Other — Tension-type headache")
    expect(card).to_contain_text("Zoe Park's case log could not be confirmed")
    assert fits_the_width(page)
    assert_accessible(page)

    card.get_by_role("radio", name=re.compile("^Revoke it")).focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("The training did not take place")
    page.keyboard.press("Tab")
    expect(card.get_by_role("button", name=re.compile("^Record the decision"))).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_text("Revoked Dan Other's certificate in Tension-type headache")).to_be_visible()
    expect(page.get_by_role("heading", name="Flagged certificates (0)")).to_be_visible()
    assert fits_the_width(page)
    assert_accessible(page)
    certification = Certification.objects.get(pk=scene.other_certification.pk)
    assert certification.revoked_reason == "The training did not take place"


@pytest.mark.parametrize("browser_context_args", [{"viewport": PHONE}], ids=["phone"])
def test_on_a_phone_the_school_pages_fit_and_the_list_filters(page, live_server, scene):
    sign_in(page, live_server, "school-office")
    page.goto(f"{live_server.url}/school/certifications/new/")
    assert fits_the_width(page)
    assert_accessible(page)
    page.get_by_role("button", name="Issue the certificate").click()  # nothing filled in
    page.wait_for_load_state()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_contain_text(
        "Enter the therapist's registry id."
    )
    assert fits_the_width(page)
    assert_accessible(page)

    page.goto(f"{live_server.url}/school/certifications/")
    page.get_by_label("Status", exact=True).select_option(label="Revoked")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", level=2).first).to_have_text("0 certificates matching the filters")
    page.get_by_role("link", name="Clear the filters").click()
    expect(page.get_by_role("heading", level=2).first).to_have_text("0 certificates")
    for url in ("/school/", "/school/instructors/", "/school/reviews/"):
        page.goto(f"{live_server.url}{url}")
        assert fits_the_width(page), url
        assert_accessible(page)

    # a CSV batch: one line issued, one refused with its reasons in the report
    page.goto(f"{live_server.url}/school/imports/")
    assert fits_the_width(page)
    assert_accessible(page)
    taught, done = scene.taught_on.isoformat(), scene.completed_on.isoformat()
    lines = [
        "therapist,protocol,instructor,taught_on,completed_on,fundamentals_hours,fundamentals_passed,"
        "critical_details_hours,critical_details_passed,harm_avoidance_hours,harm_avoidance_passed",
        f"{scene.beth.pk},tension-headache,{scene.ines.pk},{taught},{done},8,true,8,true,6,true",
        f"{scene.cara.pk},tension-headache,{scene.omar.pk},{taught},{done},8,true,8,true,2,true",
    ]
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "batch.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}]
    )
    page.get_by_role("button", name="Import the file").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import report")
    counts = page.locator("dl.counts")
    expect(counts).to_contain_text("Accepted (certificates issued)1")
    expect(counts).to_contain_text("Refused1")
    refused = page.get_by_role("region", name="Refused lines")
    expect(refused.get_by_role("heading", name="Line 3")).to_be_visible()
    expect(refused).to_contain_text("Omar Reyes had no verified clinical experience")
    expect(refused).to_contain_text('The "How not to cause harm" module (harm-avoidance) is incomplete')
    assert fits_the_width(page)
    assert_accessible(page)


@pytest.mark.parametrize("browser_context_args", [{"viewport": PHONE}], ids=["phone"])
def test_on_a_phone_the_therapist_and_registry_pages_fit(page, live_server, scene):
    sign_in(page, live_server, "ana")
    assert fits_the_width(page)
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "registry-admin")
    for url in ("/registry-admin/", "/registry-admin/experience/?instructor=" + str(scene.ines.pk)):
        page.goto(f"{live_server.url}{url}")
        assert fits_the_width(page), url
        assert_accessible(page)
