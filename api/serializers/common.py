"""Shapes shared by several resources: the reason of a refusal, the problem body."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import EnumField
from credentials.choices import IssuanceReasonCode
from protocols.choices import ScreeningAction
from registry.eligibility import ReasonCode

# Every stable code a reason or a warning may carry: the booking gate's and issuance's.
REASON_CODES = sorted({*(c.value for c in ReasonCode), *(c.value for c in IssuanceReasonCode)})


class ReasonCodeField(serializers.CharField):
    """A reason's stable code: documented as the ``ReasonCode`` enum (``api.schema``)."""


class SupervisorReasonSerializer(serializers.Serializer):
    """One of a supervisor's own reasons (the shape of a reason, without nesting further)."""

    code = ReasonCodeField()
    message = serializers.CharField()
    protocols = serializers.ListField(child=serializers.CharField(), required=False)
    certification = serializers.UUIDField(required=False)


class ReasonSerializer(serializers.Serializer):
    """Why something was refused (or warned about): a stable ``code``, a human ``message``,
    and the ids it is about where they apply. Warnings have the same shape. Supervision reasons
    (issue 23) name the ``supervisor``; ``SUPERVISOR_NOT_QUALIFIED`` gives the supervisor's own
    reasons in ``supervisor_reasons``."""

    code = ReasonCodeField()
    message = serializers.CharField()
    condition = serializers.CharField(required=False, help_text="Condition code.")
    protocols = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Slugs of the unmet group."
    )
    certification = serializers.UUIDField(required=False)
    question = serializers.CharField(required=False, help_text="Screening question code.")
    action = EnumField(ScreeningAction, required=False)
    booking = serializers.UUIDField(required=False)
    supervisor = serializers.UUIDField(required=False, help_text="The supervisor named (issue 23).")
    supervisor_reasons = SupervisorReasonSerializer(
        many=True, required=False, help_text="SUPERVISOR_NOT_QUALIFIED: why the supervisor may not."
    )


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
