"""The clinical catalog: protocols, conditions, screening questions (read shapes)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.fields import EnumField
from protocols.choices import BodyRegion, ModuleKind, ScreeningAction
from protocols.models import Condition, Module, Protocol, ScreeningQuestion


class ModuleSerializer(serializers.ModelSerializer):
    kind = EnumField(ModuleKind, read_only=True)
    min_hours = serializers.DecimalField(
        max_digits=6, decimal_places=2, coerce_to_string=False, read_only=True
    )

    class Meta:
        model = Module
        fields = ["kind", "title", "min_hours"]


class ProtocolSerializer(serializers.ModelSerializer):
    """A protocol, addressed by ``slug``; ``modules`` are its three training parts."""

    region = EnumField(BodyRegion, read_only=True)
    prerequisites = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    modules = ModuleSerializer(many=True, read_only=True)

    class Meta:
        model = Protocol
        fields = [
            "slug",
            "name",
            "region",
            "max_focus_minutes",
            "validity_months",
            "min_instructor_years",
            "min_instructor_cases",
            "prerequisites",
            "modules",
            "source",
            "version",
            "supervised_sessions",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "supervised_sessions": {
                "help_text": "A new certification in this protocol is provisional until its therapist "
                "has completed this many supervised sessions under it (0: full at once)."
            }
        }


class ConditionSerializer(serializers.ModelSerializer):
    """A condition, addressed by ``code``. ``requirements``: every group must be met, a group
    by a certification in any one of its protocols; ``[]`` needs no protocol."""

    region = EnumField(BodyRegion, read_only=True)
    requirements = serializers.SerializerMethodField()

    class Meta:
        model = Condition
        fields = ["code", "code_system", "name", "region", "requirements", "source"]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "array", "items": {"type": "array", "items": {"type": "string"}}, "example": [["a", "b"]]}
    )
    def get_requirements(self, condition: Condition) -> list[list[str]]:
        # Uses the prefetched groups and protocols (see the view's queryset): no query here.
        return [
            sorted(protocol.slug for protocol in group.protocols.all())
            for group in sorted(condition.requirement_groups.all(), key=lambda g: g.position)
        ]


class ScreeningQuestionSerializer(serializers.ModelSerializer):
    """A red-flag question; ``regions`` empty: asked at every intake."""

    action = EnumField(ScreeningAction, read_only=True)
    regions = serializers.ListField(child=EnumField(BodyRegion), read_only=True)

    class Meta:
        model = ScreeningQuestion
        fields = ["code", "text", "action", "regions", "source"]
        read_only_fields = fields
