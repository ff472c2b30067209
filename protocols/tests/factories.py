"""Catalog factories. A protocol always gets its three modules (the database insists)."""

from decimal import Decimal

import factory
from django.db import transaction

from protocols.choices import BodyRegion, ModuleKind, ScreeningAction, SignSeverity
from protocols.models import Condition, Module, OutcomeSign, Protocol, RequirementGroup, ScreeningQuestion


class ProtocolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Protocol
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"protocol-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").capitalize())
    region = BodyRegion.LUMBAR
    max_focus_minutes = 30
    validity_months = 24
    min_instructor_years = 5
    min_instructor_cases = 200
    source = "Test source"
    version = "1"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # The protocol and its three modules in one transaction: the database checks the
        # three modules at commit (also in autocommit, as in transactional tests).
        with transaction.atomic():
            obj = super()._create(model_class, *args, **kwargs)
            if not obj.modules.exists():
                for kind in ModuleKind.values:
                    Module.objects.create(
                        protocol=obj, kind=kind, title=f"{obj.name}: {kind}", min_hours=Decimal("8")
                    )
        return obj

    @factory.post_generation
    def prerequisites(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.prerequisites.set(extracted)


class ConditionFactory(factory.django.DjangoModelFactory):
    """``requirements``: a list of groups, each a list of protocols."""

    class Meta:
        model = Condition
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"X{n:02d}.{n % 10}")
    code_system = "ICD-10-CM FY2026"
    name = factory.Sequence(lambda n: f"Condition {n}")
    region = BodyRegion.LUMBAR
    source = "Test source"

    @factory.post_generation
    def requirements(obj, create, extracted, **kwargs):
        if not create or not extracted:
            return
        for position, group in enumerate(extracted):
            rg = RequirementGroup.objects.create(condition=obj, position=position)
            rg.protocols.set(group)


class ScreeningQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreeningQuestion
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"question-{n}")
    text = factory.Sequence(lambda n: f"Red flag question {n}?")
    action = ScreeningAction.REFER_PHYSICIAN
    regions = factory.LazyFunction(list)
    source = "Test source"


def module_specs(name: str = "Protocol", *, hours: str = "8") -> list[dict]:
    """The three modules ``protocols.services.protocol_create`` takes, one per kind."""
    return [
        {"kind": kind, "title": f"{name}: {kind}", "min_hours": Decimal(hours)} for kind in ModuleKind.values
    ]


def protocol_kwargs(slug: str = "test-protocol", **overrides) -> dict:
    """Valid keyword arguments for ``protocol_create`` (without ``actor``)."""
    kwargs = {
        "slug": slug,
        "name": slug.replace("-", " ").capitalize(),
        "region": BodyRegion.LUMBAR,
        "max_focus_minutes": 30,
        "validity_months": 24,
        "min_instructor_years": 5,
        "min_instructor_cases": 200,
        "modules": module_specs(slug),
        "prerequisites": [],
        "source": "Test source",
    }
    kwargs.update(overrides)
    return kwargs


class OutcomeSignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutcomeSign
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"sign-{n}")
    label = factory.Sequence(lambda n: f"Sign {n}")
    severity = SignSeverity.MILD
    instruction = "Rest and call a doctor if it does not pass."
    source = "Test source"
    position = factory.Sequence(lambda n: n)
