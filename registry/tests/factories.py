import datetime as dt

import factory
from django.utils import timezone

from credentials.tests.factories import TherapistFactory
from protocols.models import ScreeningQuestion
from registry.models import Employment, Intake, Membership, Spa


class SpaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Spa

    name = factory.Sequence(lambda n: f"Harbour Spa {n}")
    jurisdiction = "US-CA"
    timezone = "America/Los_Angeles"
    contact_email = factory.Sequence(lambda n: f"desk{n}@spa.example.org")


class EmploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employment

    spa = factory.SubFactory(SpaFactory)
    therapist = factory.SubFactory(TherapistFactory)
    started_on = dt.date(2020, 1, 1)
    ended_on = None


class IntakeFactory(factory.django.DjangoModelFactory):
    """An intake row with no red flags: every question of the catalog (as it stands) answered
    no, so none is missing (``INTAKE_INCOMPLETE``); tests of intake rules use ``intake_record``."""

    class Meta:
        model = Intake
        skip_postgeneration_save = True

    spa = factory.SubFactory(SpaFactory)
    client_ref = factory.Sequence(lambda n: f"C-{n:05d}")
    focus_regions = factory.LazyFunction(list)
    screening = factory.LazyFunction(
        lambda: dict.fromkeys(ScreeningQuestion.objects.values_list("code", flat=True), False)
    )
    clearances = factory.LazyFunction(dict)
    pain_score = 4
    recorded_at = factory.LazyFunction(timezone.now)
    valid_until = factory.LazyAttribute(lambda o: o.recorded_at + dt.timedelta(days=7))

    @factory.post_generation
    def conditions(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.conditions.set(extracted)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory("core.tests.factories.UserFactory")
    role = "registry-admin"
