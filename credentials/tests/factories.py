"""Credential factories. They build rows directly (for setting up states quickly); tests of a
rule should go through ``credentials.services`` instead."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from credentials.choices import LicenseStatus
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    ModuleCompletion,
    School,
    SchoolAuthorization,
    Therapist,
)
from protocols.choices import ModuleKind
from protocols.tests.factories import ProtocolFactory


class TherapistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapist

    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"{o.name.lower().replace(' ', '.')}@example.org")


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = License

    therapist = factory.SubFactory(TherapistFactory)
    jurisdiction = "US-CA"
    number = factory.Sequence(lambda n: f"MT{n:06d}")
    status = LicenseStatus.ACTIVE
    valid_from = dt.date(2020, 1, 1)
    expires_on = dt.date(2035, 12, 31)


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"School of Medical Massage {n}")
    jurisdiction = "US-CA"
    contact_email = factory.Sequence(lambda n: f"office{n}@school.example.org")


class SchoolAuthorizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolAuthorization

    school = factory.SubFactory(SchoolFactory)
    protocol = factory.SubFactory(ProtocolFactory)
    granted_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3650))


class InstructorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instructor
        skip_postgeneration_save = True

    name = factory.Faker("name")

    @factory.post_generation
    def schools(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.schools.set(extracted)


class ClinicalExperienceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClinicalExperience

    instructor = factory.SubFactory(InstructorFactory)
    protocol = factory.SubFactory(ProtocolFactory)
    years = 10
    cases = 500
    evidence = "Clinic records reviewed by the registry"
    verified_on = dt.date(2015, 1, 1)
    verified_at = factory.LazyFunction(timezone.now)


class CertificationFactory(factory.django.DjangoModelFactory):
    """A certification row as ``certification_issue`` would leave it (three passed modules)."""

    class Meta:
        model = Certification
        skip_postgeneration_save = True

    serial = factory.LazyFunction(Certification.new_serial)
    therapist = factory.SubFactory(TherapistFactory)
    protocol = factory.SubFactory(ProtocolFactory)
    school = factory.SubFactory(SchoolFactory)
    instructor = factory.SubFactory(InstructorFactory)
    taught_on = dt.date(2024, 1, 10)
    valid_from = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    expires_at = factory.LazyAttribute(lambda o: o.valid_from + dt.timedelta(days=730))
    issued_at = factory.LazyAttribute(lambda o: o.valid_from)

    @factory.post_generation
    def modules(obj, create, extracted, **kwargs):
        if not create:
            return
        for kind in ModuleKind.values:
            ModuleCompletion.objects.create(
                certification=obj, kind=kind, completed_on=obj.taught_on,
                hours=Decimal("10"), assessment_passed=True,
            )
