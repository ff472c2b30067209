"""The eligibility check answers in a fixed number of SQL queries — authentication included —
whatever the size of the registry."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from credentials.tests.factories import CertificationFactory, LicenseFactory
from registry.services.accounts import user_create
from registry.tests.factories import EmploymentFactory

pytestmark = pytest.mark.django_db


def _check(client, world, intake, therapist):
    return client.post(
        "/api/v1/eligibility/check/",
        {
            "spa": str(world.spa.pk),
            "therapist": str(therapist.pk),
            "intake": str(intake.pk),
            "start": world.start.isoformat(),
            "duration_minutes": 60,
            "focus_region": "lumbar",
            "focus_minutes": 20,
        },
        format="json",
    )


def test_eligibility_check_takes_at_most_six_queries_at_any_scale(gate_world):
    from registry.services.intakes import intake_record

    world = gate_world
    _, token = user_create(actor=None, username="desk-q", role="spa-staff", spa=world.spa)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    intake = intake_record(
        actor=None,
        spa=world.spa,
        client_ref="Q-1",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=3,
    )
    # The first check after a catalog change reads the catalog once more (registry.selectors
    # keeps a copy per process): not what is measured here.
    assert _check(client, world, intake, world.ana).status_code == 200
    counts = []
    for extra in (0, 40):
        for _ in range(extra):
            therapist = EmploymentFactory(spa=world.spa).therapist
            LicenseFactory(therapist=therapist)
            for _ in range(3):
                CertificationFactory(therapist=therapist, protocol=world.radiculopathy)
        for _ in range(extra // 4):
            CertificationFactory(therapist=world.ana, protocol=world.radiculopathy)
        with CaptureQueriesContext(connection) as queries:
            response = _check(client, world, intake, world.ana)
        assert response.status_code == 200, response.content
        assert response.json()["allowed"] is True
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 6, counts
