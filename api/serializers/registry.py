"""Spas, employments, intakes, eligibility, bookings and the decision log (HTTP shapes).

Inputs name what the caller may read (``TenantPrimaryKeyRelatedField``): another spa, another
spa's intake or a therapist not employed at the caller's spa answer 400 "does not exist" —
except hiring, which may name any therapist by id (API.md). The eligibility check and search,
the hottest reads, take the ids as plain UUIDs and leave them to their services, which resolve
them with the statements that load the case and the facts and answer a foreign id the same way
(``registry.services.bookings.eligibility_check``). Times are RFC 3339 with an offset; a naive
time is a 400.
"""

from __future__ import annotations

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import models
from django.db.models import Value
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import ReasonSerializer
from api.serializers.fields import (
    CallerSpaField,
    CallerSpaRelatedField,
    CharField,
    EnumField,
    FlatInputSerializer,
    IntegerField,
    JurisdictionField,
    OptionalEmailField,
    TenantPrimaryKeyRelatedField,
    TimezoneField,
    UUIDField,
)
from api.serializers.writes_common import AwareDateTimeField
from credentials.models import Therapist
from protocols.choices import BodyRegion, ScreeningAction
from registry.choices import BookingStatus
from registry.models import Booking, Decision, Employment, Intake, Spa


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only (no ``"yes"``, ``1``): a screening answer is not guessed."""

    default_error_messages = {"invalid": "Answer true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")
        return None  # unreachable: fail() raises


# --- spas and employments -------------------------------------------------------------------


class SpaSerializer(serializers.ModelSerializer):
    """A spa: licences count in its ``jurisdiction`` (ISO 3166-2); employment and licence days
    are read in its ``timezone`` (IANA name)."""

    # Strings only (``api.serializers.fields.CharField``), for the model's text fields too.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: CharField,
    }

    jurisdiction = JurisdictionField()
    timezone = TimezoneField()
    contact_email = OptionalEmailField(default="")

    class Meta:
        model = Spa
        fields = ["id", "name", "jurisdiction", "timezone", "contact_email"]
        read_only_fields = ["id"]


class EmploymentSerializer(serializers.ModelSerializer):
    """A therapist working at a spa over ``[started_on, ended_on]`` (inclusive days in the
    spa's timezone). A spa may hire any therapist by id; ``ended_on`` is set by ending it."""

    spa = TenantPrimaryKeyRelatedField(resource="spas", queryset=Spa.objects.all())
    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all())
    started_on = serializers.DateField(required=False, help_text="Default: today in the spa's timezone.")

    class Meta:
        model = Employment
        fields = ["id", "spa", "therapist", "started_on", "ended_on"]
        read_only_fields = ["id", "ended_on"]


# --- intakes -----------------------------------------------------------------------------------


class ClearanceSerializer(serializers.Serializer):
    """A physician's clearance of a ``refer-physician`` flag."""

    cleared_on = serializers.DateField()
    cleared_by = CharField(max_length=200)


class ReferralSerializer(serializers.Serializer):
    """Whom to send the client to: the most urgent action of the yes-answers not cleared."""

    action = EnumField(ScreeningAction, read_only=True)
    questions = serializers.ListField(child=serializers.CharField(), read_only=True)


class IntakeCreateSerializer(serializers.Serializer):
    """Input of ``POST /intakes/``. Every screening question whose regions meet the intake's
    regions (its conditions' plus ``focus_regions``) must be answered."""

    spa = TenantPrimaryKeyRelatedField(resource="spas", queryset=Spa.objects.all())
    client_ref = CharField(max_length=64, help_text="A spa-local reference; no name.")
    conditions = serializers.ListField(child=CharField(max_length=20), help_text="Condition codes.")
    focus_regions = serializers.ListField(child=EnumField(BodyRegion), required=False, default=list)
    screening = serializers.DictField(child=StrictBooleanField(), help_text="{question_code: true|false}")
    clearances = serializers.DictField(child=ClearanceSerializer(), required=False, default=dict)
    pain_score = IntegerField(min_value=0, max_value=10)


class IntakeSerializer(serializers.ModelSerializer):
    """An intake as recorded. It serves sessions starting before ``valid_until``;
    ``referral`` is ``null`` or the action its red flags call for."""

    conditions = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    focus_regions = serializers.ListField(child=EnumField(BodyRegion), read_only=True)
    screening = serializers.DictField(child=serializers.BooleanField(), read_only=True)
    clearances = serializers.DictField(child=ClearanceSerializer(), read_only=True)
    referral = ReferralSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Intake
        fields = [
            "id",
            "spa",
            "client_ref",
            "conditions",
            "focus_regions",
            "screening",
            "clearances",
            "pain_score",
            "recorded_at",
            "valid_until",
            "referral",
        ]
        read_only_fields = fields


# --- eligibility and bookings --------------------------------------------------------------------


class _SessionSerializer(serializers.Serializer):
    """The session asked for. ``focus_region`` null means no focused work (``focus_minutes``
    0); a focus region is one of the intake's regions or ``whole-body``."""

    start = AwareDateTimeField(help_text="RFC 3339 with an offset.")
    duration_minutes = IntegerField(min_value=1, max_value=480)
    focus_region = EnumField(BodyRegion, allow_null=True, required=False, default=None)
    focus_minutes = IntegerField(min_value=0, required=False, default=0)


class SlotInputSerializer(FlatInputSerializer, _SessionSerializer):
    """Input of ``POST /eligibility/search/``. The spa is the caller's; the intake one the spa
    recorded (checked by the service while it loads the case: a foreign id is "does not
    exist")."""

    spa = CallerSpaField()
    intake = UUIDField()


class EligibilityCheckSerializer(SlotInputSerializer):
    """Input of ``POST /eligibility/check/``: the session and a therapist employed at the
    caller's spa (checked by the service while it loads the facts)."""

    therapist = UUIDField()
    supervisor = UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="A therapist employed at the spa to supervise a session resting on a provisional "
        "certification (issue 23).",
    )


class BookingCreateSerializer(_SessionSerializer):
    """Input of ``POST /bookings/``: the fields of an eligibility check."""

    spa = CallerSpaRelatedField(resource="spas", queryset=Spa.objects.all())  # no query: the caller's
    intake = TenantPrimaryKeyRelatedField(
        resource="intakes",
        queryset=Intake.objects.select_related("spa").annotate(
            # the regions slot_validate checks the focus region against, in the same query
            condition_regions=ArrayAgg("conditions__region", distinct=True, default=Value([]))
        ),
    )
    therapist = TenantPrimaryKeyRelatedField(resource="therapists", queryset=Therapist.objects.all())
    supervisor = TenantPrimaryKeyRelatedField(
        resource="therapists",
        queryset=Therapist.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Needed when the session rests on a provisional certification (SUPERVISION_REQUIRED): "
        "a therapist employed at the spa with a full, valid certification in the same protocol, free "
        "in the slot. Their slot is held too.",
    )


class EligibilityResultSerializer(serializers.Serializer):
    """The engine's decision: every reason it may not be, and the warnings."""

    allowed = serializers.BooleanField()
    reasons = ReasonSerializer(many=True)
    warnings = ReasonSerializer(many=True)


class SupervisorCandidateSerializer(serializers.Serializer):
    therapist = serializers.UUIDField()
    name = serializers.CharField()


class CandidateSerializer(EligibilityResultSerializer):
    therapist = serializers.UUIDField()
    name = serializers.CharField()
    provisional = serializers.BooleanField(
        help_text="The session would rest on a provisional certification: it needs a supervisor."
    )
    supervisors = SupervisorCandidateSerializer(
        many=True, help_text="Provisional: the spa's therapists qualified and free to supervise this session."
    )


class EligibilitySearchResultSerializer(serializers.Serializer):
    """Every therapist employed at the spa, allowed first, then by name."""

    therapists = CandidateSerializer(many=True)


class BookingSerializer(serializers.ModelSerializer):
    """A booking. ``confirmed`` and ``needs-reassignment`` hold the therapist's slot; a
    ``needs-reassignment`` booking carries its ``reasons`` and ``suggested_therapists`` (ids
    allowed for the same intake and slot)."""

    focus_region = EnumField(BodyRegion, read_only=True, allow_null=True)
    status = EnumField(BookingStatus, read_only=True)
    reasons = ReasonSerializer(many=True, read_only=True)
    warnings = ReasonSerializer(many=True, read_only=True)
    suggested_therapists = serializers.ListField(child=serializers.UUIDField(), read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "spa",
            "therapist",
            "supervisor",
            "intake",
            "start",
            "end",
            "focus_region",
            "focus_minutes",
            "status",
            "reasons",
            "warnings",
            "suggested_therapists",
            "created_at",
        ]
        read_only_fields = fields


class ReassignSerializer(serializers.Serializer):
    """The therapist to move the booking to and, for a provisional one, the supervisor."""

    therapist = TenantPrimaryKeyRelatedField(resource="therapists", queryset=Therapist.objects.all())
    supervisor = TenantPrimaryKeyRelatedField(
        resource="therapists",
        queryset=Therapist.objects.all(),
        required=False,
        allow_null=True,
        help_text="As for a new booking: needed when the session rests on a provisional certification. "
        "Omitted: the same `therapist` keeps the booking's current supervisor (if any); another therapist "
        "gets none (`SUPERVISION_REQUIRED` when the session needs one). `null`: no supervisor.",
    )


@extend_schema_field(
    {
        "type": "object",
        "description": "The session decided: spa, therapist, intake, start, end, focus region and minutes; "
        "with supervision (issue 23) also `supervisor` (id or null) and `provisional` (the provisional "
        "certifications the session rested on at decision time, each with `certification`, `protocol`, "
        "`supervised_sessions_done`, `supervised_sessions`).",
        "additionalProperties": True,
    }
)
class CaseField(serializers.JSONField):
    pass


class DecisionSerializer(serializers.ModelSerializer):
    """One entry of the append-only decision log: a booking attempt, a re-check after a change,
    or a reassignment. ``booking`` is null for a refused attempt."""

    case = CaseField(read_only=True)
    reasons = ReasonSerializer(many=True, read_only=True)
    warnings = ReasonSerializer(many=True, read_only=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "made_at",
            "made_by",
            "booking",
            "therapist",
            "case",
            "allowed",
            "reasons",
            "warnings",
        ]
        read_only_fields = fields
