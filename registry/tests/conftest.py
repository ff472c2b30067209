"""A small world for the booking gate: the story's catalog, a spa, two licensed therapists
employed there — Ana certified in low back with radiculopathy, Beth not."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from core.tests.factories import UserFactory
from credentials.tests.factories import CertificationFactory, LicenseFactory, TherapistFactory
from protocols.choices import BodyRegion, ScreeningAction
from protocols.tests.factories import (
    ConditionFactory,
    ProtocolFactory,
    ScreeningQuestionFactory,
)
from registry.tests.factories import EmploymentFactory, SpaFactory


@pytest.fixture
def world(db):
    radiculopathy = ProtocolFactory(
        slug="low-back-radiculopathy",
        name="Low back with radiculopathy",
        region=BodyRegion.LUMBAR,
        max_focus_minutes=30,
    )
    disc = ConditionFactory(
        code="M51.16",
        name="Intervertebral disc disorder with radiculopathy, lumbar region",
        region=BodyRegion.LUMBAR,
        requirements=[[radiculopathy]],
    )
    wellness = ConditionFactory(
        code="WELLNESS",
        code_system="",
        name="General wellness",
        region=BodyRegion.WHOLE_BODY,
    )
    bladder = ScreeningQuestionFactory(
        code="ces-bladder-bowel",
        text="Any new loss of bladder or bowel control?",
        action=ScreeningAction.REFER_EMERGENCY,
        regions=[BodyRegion.LUMBAR],
    )
    trauma = ScreeningQuestionFactory(
        code="recent-trauma",
        text="Any recent significant trauma?",
        action=ScreeningAction.REFER_PHYSICIAN,
        regions=[BodyRegion.LUMBAR],
    )
    spa = SpaFactory(name="Harbour Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")
    other_spa = SpaFactory(name="Other Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")
    ana = TherapistFactory(name="Ana Silva")
    beth = TherapistFactory(name="Beth Jones")
    for therapist in (ana, beth):
        LicenseFactory(therapist=therapist, jurisdiction="US-CA")
        EmploymentFactory(spa=spa, therapist=therapist)
    certification = CertificationFactory(therapist=ana, protocol=radiculopathy)
    desk = UserFactory(username="front-desk")
    tomorrow = (timezone.now() + dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    return SimpleNamespace(
        radiculopathy=radiculopathy,
        disc=disc,
        wellness=wellness,
        bladder=bladder,
        trauma=trauma,
        spa=spa,
        other_spa=other_spa,
        ana=ana,
        beth=beth,
        certification=certification,
        desk=desk,
        start=tomorrow,
    )
