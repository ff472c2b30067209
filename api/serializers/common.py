"""Shapes shared by several resources: the reason of a refusal, the problem body."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import EnumField
from protocols.choices import ScreeningAction


class ReasonSerializer(serializers.Serializer):
    """Why something was refused (or warned about): a stable ``code``, a human ``message``,
    and the ids it is about where they apply. Warnings have the same shape."""

    code = serializers.CharField()
    message = serializers.CharField()
    condition = serializers.CharField(required=False, help_text="Condition code.")
    protocols = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Slugs of the unmet group."
    )
    certification = serializers.UUIDField(required=False)
    question = serializers.CharField(required=False, help_text="Screening question code.")
    action = EnumField(ScreeningAction, required=False)
    booking = serializers.UUIDField(required=False)


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem: every error the API answers, as ``application/problem+json``."""

    type = serializers.CharField(help_text="`/problems/<name>`, e.g. `/problems/not-found`.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="validation-error only: messages by field, nested fields as dotted paths.",
    )
    reasons = ReasonSerializer(
        many=True, required=False, help_text="booking-refused and issuance-refused: every reason."
    )


class ValidationProblemSerializer(serializers.Serializer):
    """A 400 ``validation-error`` problem: ``errors`` maps dotted field paths to messages."""

    type = serializers.CharField(help_text="`/problems/validation-error`.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
