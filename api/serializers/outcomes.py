"""After the session (HTTP shapes): the signs asked, a session's outcome, adverse events, the
incident review of one booking and the safety record. Inputs check shape only; what a sign is,
whether every sign was answered, the 72-hour window and the rest are the services' (a 400 names
the field, a 409 the state)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.fields import CharField, EnumField, IntegerField
from api.serializers.registry import BookingSerializer, DecisionSerializer, StrictBooleanField
from protocols.choices import BodyRegion, SignSeverity
from protocols.models import OutcomeSign
from registry.choices import AdverseEventKind, OutcomeSeverity
from registry.models import AdverseEvent, SessionOutcome


class OutcomeSignSerializer(serializers.ModelSerializer):
    """A sign asked after every session: how much it matters, what the client is told, and the
    source of the rule. ``serious`` signs (cauda equina) carry the emergency referral."""

    severity = EnumField(SignSeverity, read_only=True)

    class Meta:
        model = OutcomeSign
        fields = ["code", "label", "severity", "instruction", "source", "position"]
        read_only_fields = fields


class AdviceSerializer(serializers.Serializer):
    """What the client was told for one sign present (serious first), as the catalog said it
    when it was recorded."""

    sign = serializers.CharField(help_text="Sign code.")
    label = serializers.CharField()
    severity = EnumField(SignSeverity)
    instruction = serializers.CharField()


class _AfterSessionSerializer(serializers.ModelSerializer):
    advice = AdviceSerializer(many=True, read_only=True)
    signs = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Sign codes present."
    )
    emergency = serializers.SerializerMethodField(
        help_text="A serious sign is present: the client is sent to emergency care (`advice` first)."
    )

    def get_emergency(self, obj) -> bool:
        return any(item.get("severity") == SignSeverity.SERIOUS for item in obj.advice)


class SessionOutcomeSerializer(_AfterSessionSerializer):
    """How the client was after the session. ``pain_before`` is the intake's score; a higher
    ``pain_after`` counts as ``pain-worse``. ``severity``: the worst sign (``none`` without one);
    ``adverse_event``: the event a moderate or serious sign raised."""

    severity = EnumField(OutcomeSeverity, read_only=True)
    asked = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Every sign asked."
    )
    adverse_event = serializers.SerializerMethodField()

    class Meta:
        model = SessionOutcome
        fields = [
            "id",
            "booking",
            "pain_before",
            "pain_after",
            "pain_worse",
            "signs",
            "asked",
            "severity",
            "emergency",
            "advice",
            "adverse_event",
            "recorded_at",
            "recorded_by",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_adverse_event(self, obj: SessionOutcome) -> str | None:
        event = next(iter(obj.adverse_events.all()), None)
        return str(event.pk) if event else None


class AdverseEventSerializer(_AfterSessionSerializer):
    """An adverse event: raised by an outcome (``kind`` ``outcome``) or reported later
    (``report``, with a ``narrative``). Linked to the therapist, the certifications the session
    rested on, the session's protocol (slug; null when it rested on none), focus region and
    minutes. A ``serious`` one put those certifications under registry review."""

    kind = EnumField(AdverseEventKind, read_only=True)
    severity = EnumField(SignSeverity, read_only=True)
    protocol = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    focus_region = EnumField(BodyRegion, read_only=True, allow_null=True)
    certifications = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = AdverseEvent
        fields = [
            "id",
            "booking",
            "kind",
            "severity",
            "signs",
            "emergency",
            "advice",
            "narrative",
            "therapist",
            "protocol",
            "focus_region",
            "focus_minutes",
            "certifications",
            "reported_at",
            "reported_by",
        ]
        read_only_fields = fields


# --- inputs ----------------------------------------------------------------------------------------


class OutcomeInputSerializer(serializers.Serializer):
    """Input of ``POST /bookings/{id}/outcome/`` (and ``outcome`` of ``.../complete/``): the pain
    score after the session and every sign of ``/outcome-signs/`` answered ``true`` or ``false``."""

    pain_after = IntegerField(min_value=0, max_value=10, help_text="0 = no pain, 10 = worst imaginable.")
    signs = serializers.DictField(
        child=StrictBooleanField(), help_text="{sign_code: true|false}, every sign of /outcome-signs/."
    )


class CompleteInputSerializer(serializers.Serializer):
    """Optional input of ``POST /bookings/{id}/complete/``: the session's outcome, recorded with
    the completion in one transaction (a refused outcome completes nothing). No body: the
    booking is completed and the outcome can follow within 72 hours."""

    outcome = OutcomeInputSerializer(required=False)


class AdverseEventInputSerializer(serializers.Serializer):
    """Input of ``POST /bookings/{id}/adverse-events/``: the signs noticed (codes of
    ``/outcome-signs/``) and what happened, in a few words."""

    signs = serializers.ListField(child=CharField(max_length=40), min_length=1, max_length=20)
    narrative = CharField(max_length=4000)


# --- outputs of several parts ---------------------------------------------------------------------


class CompletedBookingSerializer(BookingSerializer):
    """The completed booking, as ``BookingSerializer``, plus its ``outcome`` (null until one is
    recorded)."""

    outcome = serializers.SerializerMethodField()

    class Meta(BookingSerializer.Meta):
        fields = [*BookingSerializer.Meta.fields, "outcome"]
        read_only_fields = fields

    @extend_schema_field(SessionOutcomeSerializer(allow_null=True))
    def get_outcome(self, booking) -> dict | None:
        outcome = self.context.get("outcome")
        return SessionOutcomeSerializer(outcome).data if outcome is not None else None


class IncidentSerializer(serializers.Serializer):
    """One booking's incident review: the booking, its decision log (as
    ``/bookings/{id}/decisions/``, oldest first, unpaginated), its outcome (null when none was
    recorded) and its adverse events (oldest first)."""

    booking = BookingSerializer()
    decisions = DecisionSerializer(many=True)
    outcome = SessionOutcomeSerializer(allow_null=True)
    adverse_events = AdverseEventSerializer(many=True)


class SafetyCountsSerializer(serializers.Serializer):
    """Completed sessions and what followed, over one period. A session counts once at its
    worst recorded sign (outcome or adverse event)."""

    sessions_completed = serializers.IntegerField()
    outcomes_recorded = serializers.IntegerField()
    pain_worse = serializers.IntegerField(help_text="Outcomes with pain worse than before.")
    pain_worse_share = serializers.FloatField(
        allow_null=True, help_text="pain_worse / outcomes_recorded (null without outcomes)."
    )
    mild = serializers.IntegerField()
    moderate = serializers.IntegerField()
    serious = serializers.IntegerField()


class SafetyRecordSerializer(serializers.Serializer):
    """A therapist's safety record in one protocol: the completed sessions that rested on a
    certification in it. No client identifier."""

    therapist = serializers.UUIDField(source="therapist_id")
    therapist_name = serializers.CharField()
    protocol = serializers.CharField(help_text="Protocol slug.")
    protocol_name = serializers.CharField()
    last_90_days = SafetyCountsSerializer(help_text="Sessions that started in the last 90 days.")
    all_time = SafetyCountsSerializer()
