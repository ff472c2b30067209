"""The school office through Django's test client: issuing a certificate (every refusal reason
next to the field it concerns, the services' field errors by their fields), the school's
certificates and filters, revoking, the read-only review queue, the instructors, CSV imports
with their report, tenancy (another school's objects answer 404), roles (403) and what every
page must hold."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credentials import services as credential_services
from credentials.models import Certification
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols.models import Protocol
from registry.models import ImportJob
from tests.web.conftest import issue_post
from tests.web.test_frontdesk import PageStructure, content, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client, scene) -> Client:
    client.force_login(scene.school_office)
    return client


def error_block(html: str, anchor: str) -> str:
    """The words of the error (or refusal) block ``id="<anchor>"`` next to a field."""
    found = re.search(rf'<(div|p) class="field-error" id="{re.escape(anchor)}">(.*?)</\1>', html, re.S)
    assert found is not None, f"no error block {anchor}"
    return text_of(found.group(2))


def check_page(response) -> None:
    assert response.status_code in (200, 400, 422), response.status_code
    parser = PageStructure()
    parser.feed(content(response))
    assert parser.problems() == [], response.request["PATH_INFO"]


def issue(scene, **kwargs) -> Certification:
    """A certificate of the school issued through the service (Beth, tension-type headache)."""
    data = {
        "actor": scene.school_office,
        "therapist": scene.beth,
        "protocol": scene.tension,
        "school": scene.school,
        "instructor": scene.ines,
        "taught_on": scene.taught_on,
        "modules": [
            {"kind": kind, "completed_on": scene.completed_on, "hours": hours, "assessment_passed": True}
            for kind, hours in (("fundamentals", 8), ("critical-details", 8), ("harm-avoidance", 6))
        ],
    }
    data.update(kwargs)
    outcome = credential_services.certification_issue(**data)
    assert outcome.certification is not None, outcome.reasons
    return outcome.certification


SCHOOL_PAGES = [
    "/school/",
    "/school/instructors/",
    "/school/certifications/",
    "/school/certifications/new/",
    "/school/reviews/",
    "/school/imports/",
]


# --- roles and tenancy ---------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["desk", "ana_user", "admin"])
def test_other_roles_get_403_on_the_school_pages(client, scene, user):
    certification = issue(scene)
    job = ImportJob.objects.create(kind=ImportJob.Kind.CERTIFICATIONS, school=scene.school, content="x")
    client.force_login(getattr(scene, user))
    for url in [*SCHOOL_PAGES, f"/school/certifications/{certification.pk}/", f"/school/imports/{job.pk}/"]:
        assert client.get(url).status_code == 403, url
    posts = [
        "/school/certifications/new/",
        f"/school/certifications/{certification.pk}/revoke/",
        "/school/imports/",
    ]
    for url in posts:
        assert client.post(url, {**issue_post(scene), "reason": "no"}).status_code == 403, url
    certification.refresh_from_db()
    assert certification.revoked_at is None
    assert Certification.objects.filter(school=scene.school).count() == 1


def test_an_anonymous_visitor_is_sent_to_sign_in(client, scene):
    for url in SCHOOL_PAGES:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


def test_another_schools_certificate_and_import_answer_404(office, scene):
    theirs = scene.other_certification
    assert office.get(f"/school/certifications/{theirs.pk}/").status_code == 404
    response = office.post(f"/school/certifications/{theirs.pk}/revoke/", {"reason": "Not ours to revoke"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    job = ImportJob.objects.create(kind=ImportJob.Kind.CERTIFICATIONS, school=scene.other_school, content="x")
    assert office.get(f"/school/imports/{job.pk}/").status_code == 404
    words = text_of(content(office.get("/school/certifications/")))
    assert "Dan Other" not in words
    assert "Zoe Park" not in text_of(content(office.get("/school/instructors/")))


def test_the_school_home_says_what_it_may_certify(office, scene):
    words = text_of(content(office.get("/school/")))
    assert "School office Pacific School of Medical Massage" in words
    assert "Protocols the school may certify Tension-type headache" in words
    assert "Signed in as school-office (School staff, Pacific School of Medical Massage)" in words


# --- instructors -------------------------------------------------------------------------------


def test_instructors_show_the_protocols_each_is_verified_for(office, scene):
    html = content(office.get("/school/instructors/"))
    cards = dict(re.findall(r'<h2 class="card-title">([^<]+)</h2>(.*?)</li>\s*(?=<li|</ul>)', html, re.S))
    assert set(cards) == {"Ines Novak", "Omar Reyes"}
    assert "Verified to teach: ✓ Tension-type headache" in text_of(cards["Ines Novak"])
    assert "Not verified for any protocol yet" in text_of(cards["Omar Reyes"])


# --- issuing -------------------------------------------------------------------------------------


def test_issuing_a_certificate_goes_to_its_page(office, scene):
    response = office.post("/school/certifications/new/", issue_post(scene))
    certification = Certification.objects.get(school=scene.school)
    assert response.status_code == 302
    assert response["Location"] == f"/school/certifications/{certification.pk}/"
    assert (certification.therapist, certification.protocol, certification.instructor) == (
        scene.beth,
        scene.tension,
        scene.ines,
    )
    assert certification.issued_by == scene.school_office
    assert sorted(m.kind for m in certification.modules.all()) == [
        "critical-details",
        "fundamentals",
        "harm-avoidance",
    ]
    html = content(office.get(response["Location"]))
    words = text_of(html)
    assert f"Certificate issued: Beth Jones, Tension-type headache (serial {certification.serial})." in words
    assert "✓ Active" in words
    assert f'href="/verify/{certification.serial}"' in html
    assert f'href="/verify/{certification.serial}.pdf"' in html


def test_the_issue_form_lists_authorised_protocols_first_and_the_schools_instructors(office, scene):
    html = content(office.get("/school/certifications/new/"))
    authorised = re.search(
        r'<optgroup label="Authorised for Pacific School of Medical Massage">(.*?)</optgroup>', html, re.S
    )
    assert authorised is not None
    assert re.findall(r'value="([^"]+)"', authorised.group(1)) == ["tension-headache"]
    assert 'value="low-back-radiculopathy"' in html  # offered: the service says why not
    instructors = re.search(r'<select name="instructor"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r">([^<]+)</option>", instructors) == [
        "Choose an instructor",
        "Ines Novak",
        "Omar Reyes",
    ]
    assert re.search(r'name="fundamentals-passed"[^>]*checked', html)  # passed unless unticked


def test_every_refusal_reason_shows_next_to_the_field_it_concerns(office, scene):
    unlicensed = TherapistFactory(name="Eve Young")
    data = issue_post(
        scene,
        therapist=str(unlicensed.pk),
        protocol="low-back-radiculopathy",
        instructor=str(scene.zoe.pk),
        **{"fundamentals-hours": "2", "harm-avoidance-passed": None, "critical-details-hours": "16"},
    )
    response = office.post("/school/certifications/new/", data)
    assert response.status_code == 422
    html = content(response)
    protocol = error_block(html, "id_protocol_error")
    assert (
        "Reason: Pacific School of Medical Massage is not authorised by the registry to certify" in protocol
    )
    instructor = error_block(html, "id_instructor_error")
    assert "Zoe Park is not on Pacific School of Medical Massage's list of instructors." in instructor
    assert "Zoe Park had no verified clinical experience in Low back with radiculopathy" in instructor
    therapist = error_block(html, "id_therapist_error")
    assert "Eve Young has no licence to practise on record." in therapist
    assert "requires a valid certification in Low back without radiculopathy first" in therapist
    fundamentals = error_block(html, "module-fundamentals_error")
    assert (
        'Reason: The "Fundamentals" module (fundamentals) is incomplete: 2 hours were completed'
        in fundamentals
    )
    harm = error_block(html, "module-harm-avoidance_error")
    assert "its assessment was not passed" in harm
    assert 'id="module-critical-details_error"' not in html
    # each field points at its reasons; the module's fieldset at its own
    assert re.search(r'<input[^>]*name="therapist"[^>]*aria-invalid="true"', html)
    assert re.search(r'<select[^>]*name="protocol"[^>]*aria-describedby="id_protocol_error"', html)
    assert 'aria-describedby="module-fundamentals_error"' in html
    # the summary names every reason, each linking to its field; nothing was issued
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert "Not issued: 7 reasons" in text_of(summary)
    for anchor in ("id_protocol", "id_instructor", "id_therapist", "id_fundamentals-completed_on"):
        assert f'href="#{anchor}"' in summary
    assert 'value="Zoe Park (not on the school&#x27;s list)"' not in html
    assert "Zoe Park (not on the school&#x27;s list)" in html  # the choice is kept, and said
    assert not Certification.objects.filter(therapist=unlicensed).exists()


def test_an_inactive_licence_is_a_reason_next_to_the_therapist(office, scene):
    suspended = TherapistFactory(name="Finn Moss")
    LicenseFactory(therapist=suspended, status="suspended")
    response = office.post("/school/certifications/new/", issue_post(scene, therapist=str(suspended.pk)))
    assert response.status_code == 422
    html = content(response)
    assert "Finn Moss holds no licence that is active on" in error_block(html, "id_therapist_error")
    assert "Not issued: 1 reason" in text_of(html)


def test_an_unqualified_instructor_is_a_reason_next_to_the_instructor(office, scene):
    response = office.post("/school/certifications/new/", issue_post(scene, instructor=str(scene.omar.pk)))
    assert response.status_code == 422
    instructor = error_block(content(response), "id_instructor_error")
    assert "Reason: Omar Reyes had no verified clinical experience in Tension-type headache" in instructor
    assert "at least 3 years and 100 cases" in instructor


def test_the_services_field_errors_show_next_to_their_fields(office, scene):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = office.post(
        "/school/certifications/new/",
        issue_post(scene, taught_on=tomorrow, **{"critical-details-completed_on": tomorrow}),
    )
    assert response.status_code == 400
    html = content(response)
    assert "A certificate cannot be issued for teaching that has not happened yet." in error_block(
        html, "id_taught_on_error"
    )
    assert "A module cannot be completed after the certificate is issued." in error_block(
        html, "id_critical-details-completed_on_error"
    )
    assert "There is a problem" in text_of(html)
    assert not Certification.objects.filter(school=scene.school).exists()


def test_an_unknown_registry_id_and_missing_fields_are_errors_by_their_fields(office, scene):
    response = office.post(
        "/school/certifications/new/",
        issue_post(scene, therapist="not-an-id", instructor="", **{"fundamentals-hours": "lots"}),
    )
    assert response.status_code == 400
    html = content(response)
    assert "No therapist has this registry id." in error_block(html, "id_therapist_error")
    assert "Choose the instructor who taught it." in error_block(html, "id_instructor_error")
    assert "Enter a number of hours." in error_block(html, "id_fundamentals-hours_error")
    assert 'value="not-an-id"' in html  # what was entered is kept


# --- the school's certificates -------------------------------------------------------------------


def test_the_list_filters_by_status_protocol_and_review_flag(office, scene):
    active = issue(scene)
    revoked = issue(scene, therapist=scene.cara)
    credential_services.certification_revoke(actor=scene.school_office, certification=revoked, reason="Test")
    flagged = CertificationFactory(
        therapist=scene.ana,
        protocol=scene.tension,
        school=scene.school,
        instructor=scene.ines,
        review_required=True,
        review_reason="Ines Novak's verified experience was withdrawn",
    )
    other_protocol = CertificationFactory(
        therapist=scene.ana, protocol=Protocol.objects.get(slug="neck-radiculopathy"), school=scene.school
    )

    def listed(**params) -> set:
        html = content(office.get("/school/certifications/", params))
        return set(re.findall(r'href="/school/certifications/([0-9a-f-]{36})/"', html))

    def ids(*certifications) -> set:
        return {str(c.pk) for c in certifications}

    assert listed() == ids(active, revoked, flagged, other_protocol)
    assert listed(status="revoked") == ids(revoked)
    assert listed(status="active") == ids(active, flagged, other_protocol)
    assert listed(review="yes") == ids(flagged)
    assert listed(review="no", protocol="tension-headache") == ids(active, revoked)
    assert listed(protocol="neck-radiculopathy") == ids(other_protocol)
    words = text_of(content(office.get("/school/certifications/", {"status": "revoked"})))
    assert "1 certificate matching the filters" in words
    assert "✗ Revoked" in words


def test_the_list_costs_a_fixed_number_of_queries(office, scene):
    issue(scene)
    with CaptureQueriesContext(connection) as one:
        office.get("/school/certifications/")
    for therapist in (scene.ana, scene.cara, scene.dan):
        issue(scene, therapist=therapist)
    with CaptureQueriesContext(connection) as four:
        response = office.get("/school/certifications/")
    assert len(four) == len(one)
    assert "4 certificates" in text_of(content(response))


def test_revoking_with_a_reason_shows_revoked_on_the_public_page(office, scene):
    certification = issue(scene)
    response = office.post(
        f"/school/certifications/{certification.pk}/revoke/", {"reason": "The assessment was not supervised"}
    )
    assert response.status_code == 302
    certification.refresh_from_db()
    assert certification.revoked_at is not None
    assert certification.revoked_by == scene.school_office
    words = text_of(content(office.get(response["Location"])))
    assert f"Certificate {certification.serial} revoked (Beth Jones, Tension-type headache)." in words
    assert "Revoked on" in words
    assert "Reason: The assessment was not supervised" in words
    assert "Revoke the certificate" not in words
    public = text_of(content(Client().get(f"/verify/{certification.serial}")))
    assert "Status: Revoked" in public
    assert "because The assessment was not supervised." in public


def test_revoking_needs_a_reason_from_the_service(office, scene):
    certification = issue(scene)
    response = office.post(f"/school/certifications/{certification.pk}/revoke/", {"reason": "  "})
    assert response.status_code == 400
    assert "This field is required: reason." in error_block(content(response), "id_reason_error")
    certification.refresh_from_db()
    assert certification.revoked_at is None


def test_revoking_twice_says_it_is_already_revoked(office, scene):
    certification = issue(scene)
    credential_services.certification_revoke(actor=None, certification=certification, reason="First")
    response = office.post(
        f"/school/certifications/{certification.pk}/revoke/", {"reason": "Again"}, follow=True
    )
    assert "Not revoked: This certification is already revoked." in text_of(content(response))


def test_the_review_queue_is_read_only_and_only_the_schools(office, scene):
    issue(scene)
    experience = scene.ines.experience.get()
    credential_services.clinical_experience_withdraw(
        actor=scene.admin, experience=experience, reason="References could not be confirmed"
    )
    CertificationFactory(
        therapist=scene.dan, school=scene.other_school, review_required=True, review_reason="Theirs"
    )
    html = content(office.get("/school/reviews/"))
    words = text_of(html)
    assert "Flagged certificates (1)" in words
    assert "Beth Jones — Tension-type headache" in words
    assert "References could not be confirmed" in words
    assert "Theirs" not in words
    assert 'method="post"' not in html.split('id="main"')[1]  # nothing to decide here
    assert "Flagged for review (1)" in text_of(content(office.get("/school/")))


# --- imports -------------------------------------------------------------------------------------


def csv_file(scene, rows: list[str], name: str = "batch.csv") -> SimpleUploadedFile:
    header = (
        "therapist,protocol,instructor,taught_on,completed_on,fundamentals_hours,fundamentals_passed,"
        "critical_details_hours,critical_details_passed,harm_avoidance_hours,harm_avoidance_passed"
    )
    return SimpleUploadedFile(name, "\n".join([header, *rows]).encode(), content_type="text/csv")


def test_an_import_issues_good_rows_and_reports_every_refused_line(
    office, scene, django_capture_on_commit_callbacks
):
    taught, done = scene.taught_on.isoformat(), scene.completed_on.isoformat()
    rows = [
        f"{scene.beth.pk},tension-headache,{scene.ines.pk},{taught},{done},8,true,8,true,6,true",
        f"{scene.cara.pk},tension-headache,{scene.omar.pk},{taught},{done},8,true,8,true,6,true",
        f"{scene.ana.pk},tension-headache,{scene.ines.pk},not-a-date,{done},8,true,8,true,6,maybe",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = office.post("/school/imports/", {"file": csv_file(scene, rows)})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/school/imports/{job.pk}/"
    assert (job.school, job.created_by, job.status) == (scene.school, scene.school_office, "done")
    html = content(office.get(response["Location"]))
    words = text_of(html)
    assert "Import of batch.csv queued." in words
    assert "Rows 3 Accepted (certificates issued) 1 Refused 2" in words
    assert "Line 3 ✗ Reason: Omar Reyes had no verified clinical experience in Tension-type headache" in words
    assert "Line 4" in words
    assert "taught_on: 'not-a-date' is not a date (YYYY-MM-DD)." in words
    assert 'harm_avoidance_passed: Write "true" or "false".' in words
    assert "hx-get" not in html  # finished: no more polling
    assert Certification.objects.filter(school=scene.school, therapist=scene.beth).count() == 1


def test_a_queued_import_polls_for_its_report(office, scene):
    job = ImportJob.objects.create(kind=ImportJob.Kind.CERTIFICATIONS, school=scene.school, content="x")
    html = content(office.get(f"/school/imports/{job.pk}/"))
    assert f'hx-get="/school/imports/{job.pk}/"' in html
    assert "Check again" in text_of(html)
    fragment = content(office.get(f"/school/imports/{job.pk}/", headers={"HX-Request": "true"}))
    assert fragment.lstrip().startswith('<div id="import-report"')
    assert "<html" not in fragment


def test_an_import_without_a_file_or_its_columns_is_an_error_by_the_file(office, scene):
    response = office.post("/school/imports/", {})
    assert response.status_code == 400
    assert "Choose a CSV file to import." in error_block(content(response), "id_file_error")
    bad = SimpleUploadedFile("bad.csv", b"therapist,protocol\nx,y\n", content_type="text/csv")
    response = office.post("/school/imports/", {"file": bad})
    assert response.status_code == 400
    assert "Missing columns: instructor, taught_on" in error_block(content(response), "id_file_error")
    latin = SimpleUploadedFile("latin.csv", "caf\xe9".encode("latin-1"), content_type="text/csv")
    assert "The file is not UTF-8 text." in error_block(
        content(office.post("/school/imports/", {"file": latin})), "id_file_error"
    )
    assert not ImportJob.objects.exists()


# --- every page ----------------------------------------------------------------------------------


def test_every_post_needs_the_csrf_token(scene):
    client = Client(enforce_csrf_checks=True)
    client.force_login(scene.school_office)
    certification = issue(scene)
    assert (
        client.post(
            "/school/certifications/new/", issue_post(scene, therapist=str(scene.cara.pk))
        ).status_code
        == 403
    )
    assert (
        client.post(f"/school/certifications/{certification.pk}/revoke/", {"reason": "x"}).status_code == 403
    )
    assert client.post("/school/imports/", {"file": csv_file(scene, [])}).status_code == 403
    certification.refresh_from_db()
    assert certification.revoked_at is None
    assert Certification.objects.filter(school=scene.school).count() == 1


def test_every_school_page_is_accessible_in_structure(office, scene):
    certification = issue(scene)
    job = ImportJob.objects.create(kind=ImportJob.Kind.CERTIFICATIONS, school=scene.school, content="x")
    pages = [office.get(url) for url in SCHOOL_PAGES]
    pages += [
        office.get(f"/school/certifications/{certification.pk}/"),
        office.post(f"/school/certifications/{certification.pk}/revoke/", {"reason": ""}),
        office.post("/school/certifications/new/", issue_post(scene, instructor=str(scene.omar.pk))),
        office.post("/school/certifications/new/", issue_post(scene, therapist="x")),
        office.get("/school/certifications/", {"status": "revoked", "review": "yes"}),
        office.get(f"/school/imports/{job.pk}/"),
        office.post("/school/imports/", {}),
    ]
    for response in pages:
        check_page(response)
