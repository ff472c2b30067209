"""Credential factories. They build rows directly (for setting up states quickly); tests of a
rule should go through ``credentials.services`` instead."""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

import factory
from django.db import transaction
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
from credentials.vc.status_list import status_list_allocate, status_list_revoke
from protocols.choices import ModuleKind
from protocols.models import Protocol
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
    """A certification row as ``certification_issue`` would leave it (three passed modules, a
    bit in a revocation status list). The list and index are allocated before the INSERT, as
    the service does (the row is append-only: they cannot be set afterwards); pass
    ``status_list=None, status_index=None`` for a row from before status lists. Built revoked
    (``revoked_at=...``), its bit is set, as ``certification_revoke`` would."""

    class Meta:
        model = Certification
        skip_postgeneration_save = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if "status_list" in kwargs or "status_index" in kwargs:
            return super()._create(model_class, *args, **kwargs)
        with transaction.atomic():  # the list stays locked until the row is in
            kwargs["status_list"], kwargs["status_index"] = status_list_allocate()
            return super()._create(model_class, *args, **kwargs)

    serial = factory.LazyFunction(Certification.new_serial)
    therapist = factory.SubFactory(TherapistFactory)
    protocol = factory.SubFactory(ProtocolFactory)
    school = factory.SubFactory(SchoolFactory)
    instructor = factory.SubFactory(InstructorFactory)
    taught_on = dt.date(2024, 1, 10)
    valid_from = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    expires_at = factory.LazyAttribute(lambda o: o.valid_from + dt.timedelta(days=730))
    issued_at = factory.LazyAttribute(lambda o: o.valid_from)

    class Params:
        # Issue 23: a certification whose supervised sessions are behind it (full scope), as
        # ``certifications_supervised_count`` leaves it; without it a certification in a
        # protocol with ``supervised_sessions`` is provisional, as issued.
        full = factory.Trait(
            scope_full_at=factory.LazyAttribute(lambda o: o.valid_from + dt.timedelta(days=1))
        )

    @factory.post_generation
    def modules(obj, create, extracted, **kwargs):
        if not create:
            return
        for kind in ModuleKind.values:
            ModuleCompletion.objects.create(
                certification=obj,
                kind=kind,
                completed_on=obj.taught_on,
                hours=Decimal("10"),
                assessment_passed=True,
            )

    @factory.post_generation
    def status(obj, create, extracted, **kwargs):
        if create and obj.revoked_at is not None:
            with transaction.atomic():
                status_list_revoke(obj)


# --- states reached through the services (for tests of a rule) ---------------------------------


def passed_modules(completed_on: dt.date, hours: Decimal = Decimal("8")) -> list[dict]:
    """Module completions for all three kinds, each passed with ``hours``."""
    return [
        {"kind": kind, "completed_on": completed_on, "hours": hours, "assessment_passed": True}
        for kind in ModuleKind.values
    ]


@dataclass
class IssuanceScene:
    """Everything one issuance rests on, set up through the services so every rule holds."""

    actor: object
    protocol: Protocol
    school: School
    instructor: Instructor
    therapist: Therapist
    license: License
    authorization: SchoolAuthorization
    experience: ClinicalExperience
    taught_on: dt.date

    def issue(self, **overrides):
        from credentials import services

        arguments = {
            "actor": self.actor,
            "therapist": self.therapist,
            "protocol": self.protocol,
            "school": self.school,
            "instructor": self.instructor,
            "taught_on": self.taught_on,
            "modules": passed_modules(self.taught_on),
        }
        arguments.update(overrides)
        return services.certification_issue(**arguments)


def issuance_scene(
    *,
    actor=None,
    protocol: Protocol | None = None,
    verified_on: dt.date | None = None,
    taught_on: dt.date | None = None,
) -> IssuanceScene:
    """A licensed therapist, an authorised school and a qualified instructor on its roster."""
    from credentials import services

    today = timezone.localdate()
    protocol = protocol or ProtocolFactory()
    school = services.school_create(actor=actor, name=f"School {uuid.uuid4().hex[:8]}", jurisdiction="US-CA")
    authorization = services.school_authorization_grant(
        actor=actor, school=school, protocol=protocol, at=timezone.now() - dt.timedelta(days=3650)
    )
    instructor = services.instructor_create(actor=actor, name="Maria Okafor", schools=[school])
    experience = services.clinical_experience_verify(
        actor=actor,
        instructor=instructor,
        protocol=protocol,
        years=protocol.min_instructor_years,
        cases=protocol.min_instructor_cases,
        evidence="Clinic records reviewed by the registry",
        verified_on=verified_on or today - dt.timedelta(days=3000),
    )
    therapist = services.therapist_create(actor=actor, name="Ana Silva", email="ana@example.org")
    license = services.license_create(
        actor=actor,
        therapist=therapist,
        jurisdiction="US-CA",
        number=f"MT-{uuid.uuid4().hex[:8]}",
        status=LicenseStatus.ACTIVE,
        valid_from=today - dt.timedelta(days=2000),
        expires_on=today + dt.timedelta(days=2000),
    )
    return IssuanceScene(
        actor=actor,
        protocol=protocol,
        school=school,
        instructor=instructor,
        therapist=therapist,
        license=license,
        authorization=authorization,
        experience=experience,
        taught_on=taught_on or today - dt.timedelta(days=10),
    )
