"""The coverage reports' shapes: a spa's coverage and a school's demand.

A suppressed count (of clients: 1 to 4, see ``registry.coverage.report``) is ``null``; every
count field is a nullable integer, and ``suppressed_below`` says the threshold.
"""

from __future__ import annotations

from rest_framework import serializers

from registry.coverage.report import SUPPRESS_BELOW

SUPPRESSED_HELP = f"A count of clients; `null` when suppressed (1 to {SUPPRESS_BELOW - 1})."


def _count(help_text: str = SUPPRESSED_HELP) -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True, min_value=0, help_text=help_text)


class CoverageQuerySerializer(serializers.Serializer):
    """``?from=&to=``: local days of the spa, inclusive; by default the last 90 days to today."""

    def get_fields(self):
        return {
            "from": serializers.DateField(
                required=False, help_text="First day (inclusive, spa timezone); default `to` minus 89 days."
            ),
            "to": serializers.DateField(
                required=False, help_text="Last day (inclusive, the spa's timezone); default today."
            ),
        }


class ProtocolNeedSerializer(serializers.Serializer):
    protocol = serializers.CharField(help_text="Slug of a protocol of a scope refusal's unmet group.")
    name = serializers.CharField()
    intakes = _count("Intakes it would have covered; `null` when suppressed.")


class ConditionCoverageSerializer(serializers.Serializer):
    condition = serializers.CharField(help_text="Condition code.")
    name = serializers.CharField()
    intakes = _count("Intakes in the window naming the condition; `null` when suppressed.")
    allowed = _count("Of them, intakes with an allowed booking attempt; `null` when suppressed.")
    refused_scope = _count(
        "Of them, intakes with an attempt refused `PROTOCOL_NOT_CERTIFIED` for this condition; "
        "`null` when suppressed."
    )
    refused_focus = _count(
        "Of them, intakes with an attempt refused `FOCUS_EXCEEDS_PROTOCOL_LIMIT` by one of the "
        "condition's protocols; `null` when suppressed."
    )
    protocols = ProtocolNeedSerializer(many=True, help_text="The protocols that would have covered them.")


class ForecastPointSerializer(serializers.Serializer):
    days = serializers.IntegerField(help_text="Days after `as_of`: 0, 30, 60, 90.")
    at = serializers.DateTimeField()
    therapists = serializers.IntegerField(
        min_value=0, help_text="The spa's therapists who may treat the group then (not suppressed)."
    )


class GroupForecastSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Stable key of the requirements.")
    label = serializers.CharField()
    requirements = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Requirement groups (protocol slugs) the conditions share, as in `/conditions/`.",
    )
    conditions = serializers.ListField(child=serializers.CharField(), help_text="Condition codes.")
    points = ForecastPointSerializer(many=True)


class SpaCoverageSerializer(serializers.Serializer):
    spa = serializers.UUIDField(source="spa_id")
    # ``from`` is a keyword: declared in get_fields
    as_of = serializers.DateTimeField()
    suppressed_below = serializers.SerializerMethodField()
    conditions = ConditionCoverageSerializer(many=True)
    forecast = GroupForecastSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        return {
            "spa": fields.pop("spa"),
            "from": serializers.DateField(source="first_day"),
            "to": serializers.DateField(source="last_day"),
            **fields,
        }

    def get_suppressed_below(self, obj) -> int:
        return SUPPRESS_BELOW


class ProtocolDemandSerializer(serializers.Serializer):
    protocol = serializers.CharField(help_text="Slug of a protocol the school is authorised to teach.")
    name = serializers.CharField()
    refusals = _count(
        "Booking attempts refused `PROTOCOL_NOT_CERTIFIED` whose unmet group names the protocol; "
        "`null` when suppressed (under 5, or from a single spa)."
    )
    intakes = _count("The intakes (clients) of those refusals; `null` when suppressed.")


class SchoolDemandSerializer(serializers.Serializer):
    school = serializers.UUIDField(source="school_id")
    jurisdiction = serializers.CharField(help_text="The spas counted are those of this jurisdiction.")
    since = serializers.DateTimeField(help_text="Start of the window (exclusive): 90 days before `until`.")
    until = serializers.DateTimeField()
    suppressed_below = serializers.SerializerMethodField()
    protocols = ProtocolDemandSerializer(many=True)

    def get_suppressed_below(self, obj) -> int:
        return SUPPRESS_BELOW
