"""Input shapes of the catalog writes (registry admins): the same fields as the catalog's
representation. Shape only — three modules one per kind, known prerequisite and requirement
slugs, code formats and uniqueness are the rules of ``protocols.services``, which report every
problem at once under dotted paths (``modules.2.min_hours``, ``requirements.0``).

Slugs and codes are identifiers clients hold: set at creation, not part of an update."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import CharField, EnumField, IntegerField
from protocols.choices import BodyRegion, ModuleKind, ScreeningAction
from protocols.services import FOCUS_MINUTES_RANGE, SUPERVISED_SESSIONS_RANGE, VALIDITY_MONTHS_RANGE


class ProtocolModuleInputSerializer(serializers.Serializer):
    kind = EnumField(ModuleKind)
    title = CharField(max_length=200)
    min_hours = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False)

    schema_constraints = {"min_hours": {"minimum": 0, "exclusiveMinimum": True}}


class ProtocolUpdateSerializer(serializers.Serializer):
    """A change to a protocol (``PATCH``: any of the fields). ``modules``, when given, are all
    three again."""

    name = CharField(max_length=200)
    region = EnumField(BodyRegion)
    max_focus_minutes = IntegerField(
        help_text="The dose limit: minutes of focused work on the region one session may hold."
    )
    validity_months = IntegerField()
    min_instructor_years = IntegerField()
    min_instructor_cases = IntegerField()
    prerequisites = serializers.ListField(
        child=CharField(), help_text="Slugs of protocols that must be held first."
    )
    modules = ProtocolModuleInputSerializer(
        many=True, help_text="Exactly three, one per kind: fundamentals, critical-details, harm-avoidance."
    )
    source = CharField(help_text="Where the rule comes from.")
    version = CharField(max_length=40)
    supervised_sessions = IntegerField(
        help_text="Supervised sessions a new certification needs before its scope is full (0: none). "
        "Raising it re-checks the future bookings resting on the protocol."
    )

    # Checked by protocols.services with every other rule of the write (documented here).
    schema_constraints = {
        "max_focus_minutes": {"minimum": FOCUS_MINUTES_RANGE[0], "maximum": FOCUS_MINUTES_RANGE[1]},
        "validity_months": {"minimum": VALIDITY_MONTHS_RANGE[0], "maximum": VALIDITY_MONTHS_RANGE[1]},
        "min_instructor_years": {"minimum": 0, "maximum": 32767},
        "min_instructor_cases": {"minimum": 0, "maximum": 2_147_483_647},
        "supervised_sessions": {
            "minimum": SUPERVISED_SESSIONS_RANGE[0],
            "maximum": SUPERVISED_SESSIONS_RANGE[1],
        },
        "modules": {"minItems": len(ModuleKind), "maxItems": len(ModuleKind)},
    }


class ProtocolCreateSerializer(ProtocolUpdateSerializer):
    """A new protocol, addressed by its ``slug`` from then on."""

    slug = CharField(max_length=80)
    prerequisites = serializers.ListField(
        child=CharField(),
        required=False,
        default=list,
        help_text="Slugs of protocols that must be held first.",
    )
    version = CharField(max_length=40, required=False, default="1")
    supervised_sessions = IntegerField(required=False, default=0)


class ConditionUpdateSerializer(serializers.Serializer):
    """A change to a condition (``PATCH``: any of the fields). ``requirements``, when given,
    replace every group."""

    code_system = CharField(
        max_length=40, allow_blank=True, help_text="e.g. `ICD-10-CM FY2026`; empty for a local code."
    )
    name = CharField(max_length=200)
    region = EnumField(BodyRegion)
    requirements = serializers.ListField(
        child=serializers.ListField(child=CharField()),
        help_text="Groups of protocol slugs: every group must be met, a group by any one of its "
        "protocols; `[]`: no protocol needed.",
    )
    source = CharField()

    # Checked by protocols.services (an empty group is refused; `[]` for no groups is fine).
    schema_constraints = {"requirements": {"items": {"minItems": 1}}}


class ConditionCreateSerializer(ConditionUpdateSerializer):
    """A new condition, addressed by its ``code`` (ICD-10-CM, or a local code such as
    ``WELLNESS`` with an empty ``code_system``)."""

    code = CharField(max_length=20)
    code_system = CharField(
        max_length=40,
        allow_blank=True,
        required=False,
        default="",
        help_text="e.g. `ICD-10-CM FY2026`; empty (the default) for a local code.",
    )


class ScreeningQuestionUpdateSerializer(serializers.Serializer):
    """A change to a red-flag question (``PATCH``: any of the fields)."""

    text = CharField()
    action = EnumField(ScreeningAction)
    regions = serializers.ListField(
        child=EnumField(BodyRegion), help_text="Asked at intakes touching these; empty: at every intake."
    )
    source = CharField()


class ScreeningQuestionCreateSerializer(ScreeningQuestionUpdateSerializer):
    """A new red-flag question, addressed by its ``code``."""

    code = CharField(max_length=40)
    regions = serializers.ListField(
        child=EnumField(BodyRegion),
        required=False,
        default=list,
        help_text="Asked at intakes touching these; empty (the default): at every intake.",
    )
