"""Every page that lists rows costs the same number of queries for one row as for several
(issue 24): the school's instructors, its review queue and imports, and the registry's review
queue. (The front desk's day, the school's certificates and the therapist's home are pinned in
their own modules.)"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credentials import services as credential_services
from credentials.tests.factories import CertificationFactory, TherapistFactory
from registry.models import ImportJob

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _qualified_instructor(scene, name: str):
    instructor = credential_services.instructor_create(actor=scene.admin, name=name, schools=[scene.school])
    credential_services.clinical_experience_verify(
        actor=scene.admin,
        instructor=instructor,
        protocol=scene.tension,
        years=6,
        cases=240,
        evidence="Clinic records checked by the registry",
        verified_on=timezone.localdate() - dt.timedelta(days=900),
    )
    return instructor


def _flagged(scene, n: int) -> None:
    for i in range(n):
        CertificationFactory(
            therapist=TherapistFactory(name=f"Flagged {i}"),
            protocol=scene.tension,
            school=scene.school,
            instructor=scene.ines,
            review_required=True,
            review_reason="Experience withdrawn",
        )


def test_the_instructors_page_costs_a_fixed_number_of_queries(client, scene):
    client.force_login(scene.school_office)
    few = _queries(client, "/school/instructors/")
    for i in range(4):
        _qualified_instructor(scene, f"Instructor {i}")
    assert _queries(client, "/school/instructors/") == few


def test_the_schools_review_queue_costs_a_fixed_number_of_queries(client, scene):
    client.force_login(scene.school_office)
    _flagged(scene, 1)
    one = _queries(client, "/school/reviews/")
    _flagged(scene, 4)
    assert _queries(client, "/school/reviews/") == one


def test_the_registrys_review_queue_costs_a_fixed_number_of_queries(client, scene):
    client.force_login(scene.admin)
    _flagged(scene, 1)
    one = _queries(client, "/registry-admin/reviews/")
    _flagged(scene, 4)
    assert _queries(client, "/registry-admin/reviews/") == one


def test_the_schools_imports_page_costs_a_fixed_number_of_queries(client, scene):
    client.force_login(scene.school_office)

    def imported():
        ImportJob.objects.create(
            kind=ImportJob.Kind.CERTIFICATIONS,
            school=scene.school,
            content="x",
            created_by=scene.school_office,
        )

    imported()
    one = _queries(client, "/school/imports/")
    for _ in range(4):
        imported()
    assert _queries(client, "/school/imports/") == one
