"""Intakes, eligibility, bookings and the decision log: the booking gate over HTTP.

Client data, minimum necessary: intakes (conditions, screening answers, the client reference)
reach the spa that recorded them and the therapist assigned to a booking on them. A registry
admin reads a booking's decision log by its id (incident review), and that read is audited;
no admin list shows client data.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import django_filters
from django import forms
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.exceptions import problem
from api.filters import BooleanFilter
from api.idempotency import idempotent
from api.permissions import THERAPIST_SPA_ADMIN, roles
from api.serializers.outcomes import (
    AdverseEventInputSerializer,
    AdverseEventSerializer,
    CompletedBookingSerializer,
    CompleteInputSerializer,
    IncidentSerializer,
    OutcomeInputSerializer,
    SessionOutcomeSerializer,
)
from api.serializers.registry import (
    BookingCreateSerializer,
    BookingSerializer,
    DecisionSerializer,
    EligibilityCheckSerializer,
    EligibilityResultSerializer,
    EligibilitySearchResultSerializer,
    IntakeCreateSerializer,
    IntakeSerializer,
    ReassignSerializer,
    SlotInputSerializer,
)
from api.serializers.writes_common import NAIVE_TIME
from api.tenancy import role_of
from api.views.base import ReadOnlyViewSet, RegistryAPIView, RegistryViewSet
from api.views.outcomes import adverse_events_of, outcome_of
from core.errors import DomainError
from core.errors import NotFound as DomainNotFound
from core.services import audit_record
from protocols.models import Condition
from registry import rls
from registry.choices import BookingStatus, Role
from registry.models import Booking, Decision, Intake
from registry.services.bookings import (
    KEEP_SUPERVISOR,
    BookingOutcome,
    booking_cancel,
    booking_complete,
    booking_create,
    booking_reassign,
    eligibility_check,
    eligibility_search,
    slot_validate,
)
from registry.services.intakes import intake_record
from registry.services.outcomes import (
    adverse_event_report,
    booking_complete_with_outcome,
    session_outcome_record,
)

SPA_STAFF = roles(Role.SPA_STAFF)
THERAPIST_AND_SPA = roles(Role.THERAPIST, Role.SPA_STAFF)
SPA_AND_ADMIN_REVIEW = roles(Role.SPA_STAFF, Role.REGISTRY_ADMIN)


def _slot(data):
    """The session asked for, checked by the booking service (``slot_validate``)."""
    return slot_validate(
        spa=data["spa"],
        intake=data["intake"],
        start=data["start"],
        duration_minutes=data["duration_minutes"],
        focus_region=data.get("focus_region"),
        focus_minutes=data.get("focus_minutes") or 0,
    )


def _session(data) -> dict:
    """The session of an eligibility check or search, as the services take it (by ids)."""
    return {
        "spa": data["spa"],
        "intake_id": data["intake"],
        "start": data["start"],
        "duration_minutes": data["duration_minutes"],
        "focus_region": data.get("focus_region"),
        "focus_minutes": data.get("focus_minutes") or 0,
    }


def _refused(outcome: BookingOutcome, therapist) -> Response:
    result = outcome.result.as_dict()
    return problem(
        "booking-refused",
        409,
        f"{therapist.name} may not take this session: {len(result['reasons'])} reason(s).",
        reasons=result["reasons"],
        warnings=result["warnings"],
    )


# --- intakes -------------------------------------------------------------------------------------


class IntakeFilter(django_filters.FilterSet):
    client_ref = django_filters.CharFilter()

    class Meta:
        model = Intake
        fields = ["client_ref"]


class IntakeViewSet(ReadOnlyViewSet):
    """Intakes: recorded by the caller's spa (spa staff), or of a booking assigned to them
    (therapist). Newest first; ``?client_ref=``."""

    queryset = Intake.objects.prefetch_related(
        Prefetch("conditions", queryset=Condition.objects.order_by("code"))
    ).order_by("-recorded_at", "id")
    serializer_class = IntakeSerializer
    filterset_class = IntakeFilter
    tenant_resource = "intakes"
    action_roles = {"list": THERAPIST_AND_SPA, "retrieve": THERAPIST_AND_SPA, "create": SPA_STAFF}

    @extend_schema(request=IntakeCreateSerializer, responses={201: IntakeSerializer})
    @idempotent
    def create(self, request):
        """Record an intake: conditions, red-flag screening (every question that applies must
        be answered), physician clearances, pain score. ``referral`` says whom to send the
        client to; the intake serves sessions starting before ``valid_until``."""
        serializer = IntakeCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        intake = intake_record(
            actor=request.user,
            spa=data["spa"],
            client_ref=data["client_ref"],
            condition_codes=data["conditions"],
            screening=data["screening"],
            pain_score=data["pain_score"],
            focus_regions=data.get("focus_regions"),
            clearances=data.get("clearances"),
        )
        intake = self.get_queryset().get(pk=intake.pk)
        return Response(IntakeSerializer(intake).data, status=status.HTTP_201_CREATED)


# --- eligibility ---------------------------------------------------------------------------------


class EligibilityCheckView(RegistryAPIView):
    action_roles = {"post": SPA_STAFF}

    @extend_schema(request=EligibilityCheckSerializer, responses=EligibilityResultSerializer)
    def post(self, request):
        """May this therapist take this session? Every reason they may not, and the warnings.
        Nothing is recorded; a booking decides again."""
        serializer = EligibilityCheckSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = eligibility_check(
            therapist_id=data["therapist"], supervisor_id=data.get("supervisor"), **_session(data)
        )
        return Response(result.as_dict())


class EligibilitySearchView(RegistryAPIView):
    action_roles = {"post": SPA_STAFF}

    @extend_schema(request=SlotInputSerializer, responses=EligibilitySearchResultSerializer)
    def post(self, request):
        """Every therapist employed at the spa, decided for this session: allowed first, then
        by name. A ``provisional`` therapist needs a supervisor: ``supervisors`` names the spa's
        therapists qualified and free to supervise this session."""
        serializer = SlotInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        candidates = eligibility_search(**_session(serializer.validated_data))
        return Response(
            {
                "therapists": [
                    {
                        "therapist": str(c.therapist_id),
                        "name": c.name,
                        **c.result.as_dict(),
                        "provisional": c.provisional,
                        "supervisors": [{"therapist": pk, "name": name} for pk, name in c.supervisors],
                    }
                    for c in candidates
                ]
            }
        )


# --- bookings ------------------------------------------------------------------------------------


class AwareIsoDateTimeField(forms.DateTimeField):
    """A query-string time with its offset (``+`` URL-encoded); a naive time is refused."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            parsed = parse_datetime(str(value).strip())
        except ValueError:  # well formed, but no such time (month 13)
            parsed = None
        if parsed is None:
            raise forms.ValidationError("Enter a valid RFC 3339 date-time.", code="invalid")
        if timezone.is_naive(parsed):
            raise forms.ValidationError(NAIVE_TIME, code="naive")
        try:
            # In UTC: PostgreSQL takes offsets up to 15:59 only, RFC 3339 up to 23:59.
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("The time is out of range.", code="invalid") from None


class AwareDateTimeFilter(django_filters.Filter):
    field_class = AwareIsoDateTimeField


class BookingFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BookingStatus.choices)
    therapist = django_filters.UUIDFilter(field_name="therapist_id")
    start_after = AwareDateTimeFilter(
        field_name="start", lookup_expr="gte", help_text="Sessions starting at or after (RFC 3339)."
    )

    class Meta:
        model = Booking
        fields = ["status", "therapist", "start_after"]


class BookingViewSet(ReadOnlyViewSet):
    """Bookings: the caller's spa's (spa staff), those assigned to them (therapist). By start;
    ``?status=&therapist=&start_after=``."""

    queryset = Booking.objects.order_by("start", "id")
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    tenant_resource = "bookings"
    action_roles = {
        "list": THERAPIST_AND_SPA,
        "retrieve": THERAPIST_AND_SPA,
        "create": SPA_STAFF,
        "cancel": SPA_STAFF,
        "complete": SPA_STAFF,
        "reassign": SPA_STAFF,
        "decisions": SPA_AND_ADMIN_REVIEW,
        "outcome": THERAPIST_AND_SPA,
        "outcome_record": THERAPIST_AND_SPA,
        "adverse_events": THERAPIST_AND_SPA,
        "adverse_event_report": THERAPIST_SPA_ADMIN,
        "incident": SPA_AND_ADMIN_REVIEW,
    }

    @extend_schema(request=BookingCreateSerializer, responses={201: BookingSerializer})
    @idempotent
    def create(self, request):
        """Book the therapist for the session only if the engine allows it; otherwise 409
        ``booking-refused`` with every reason. Either way the decision is logged. A session
        resting on a provisional certification needs ``supervisor`` (``SUPERVISION_REQUIRED``,
        ``SUPERVISOR_NOT_QUALIFIED``, ``SUPERVISOR_UNAVAILABLE``); the supervisor's slot is held
        too."""
        serializer = BookingCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        therapist = serializer.validated_data["therapist"]
        outcome = booking_create(
            actor=request.user,
            therapist=therapist,
            slot=_slot(serializer.validated_data),
            supervisor=serializer.validated_data.get("supervisor"),
        )
        if outcome.booking is None:
            return _refused(outcome, therapist)
        return Response(BookingSerializer(outcome.booking).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BookingSerializer)
    @action(detail=True, methods=["post"], filter_backends=[], filterset_class=None)
    def cancel(self, request, pk=None):
        """Cancel a confirmed or needs-reassignment booking; the slot is freed."""
        return Response(BookingSerializer(booking_cancel(actor=request.user, booking=self.get_object())).data)

    @extend_schema(request=CompleteInputSerializer, responses=CompletedBookingSerializer)
    @action(detail=True, methods=["post"], filter_backends=[], filterset_class=None)
    def complete(self, request, pk=None):
        """Mark a confirmed booking completed once its session has started. With an
        ``outcome`` (optional), the session's outcome is recorded in the same transaction: a
        refused outcome (400, 409) completes nothing. The answer is the booking with its
        ``outcome`` (null when none was given)."""
        booking = self.get_object()
        serializer = CompleteInputSerializer(data=request.data or {}, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data.get("outcome")
        outcome = None
        if given is None:
            booking = booking_complete(actor=request.user, booking=booking)
        else:
            try:
                booking, _result = booking_complete_with_outcome(
                    actor=request.user, booking=booking, pain_after=given["pain_after"], signs=given["signs"]
                )
            except DomainError as error:
                if type(error) is not DomainError:  # a conflict or not-found: as it is
                    raise
                errors = {f"outcome.{field}": messages for field, messages in error.errors.items()}
                raise DomainError(error.detail, errors=errors) from error
            outcome = outcome_of(booking)
        return Response(CompletedBookingSerializer(booking, context={"outcome": outcome}).data)

    @extend_schema(request=ReassignSerializer, responses={200: BookingSerializer})
    @action(detail=True, methods=["post"], filter_backends=[], filterset_class=None)
    def reassign(self, request, pk=None):
        """Move the booking to another therapist, decided like a new booking for the same
        intake and slot; refused: 409 ``booking-refused``, the booking unchanged. ``supervisor``
        omitted: the same therapist keeps the current supervisor, another gets none; ``null``:
        none."""
        booking = self.get_object()
        serializer = ReassignSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        therapist = serializer.validated_data["therapist"]
        outcome = booking_reassign(
            actor=request.user,
            booking=booking,
            therapist=therapist,
            # omitted and null differ: omitted keeps the current supervisor for the same therapist
            supervisor=serializer.validated_data.get("supervisor", KEEP_SUPERVISOR),
        )
        if outcome.booking is None:
            return _refused(outcome, therapist)
        return Response(BookingSerializer(outcome.booking).data)

    @extend_schema(responses=DecisionSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        serializer_class=DecisionSerializer,
        filter_backends=[],
        filterset_class=None,
    )
    def decisions(self, request, pk=None):
        """The booking's decision log, oldest first: the attempt that made it, every re-check,
        every reassignment. Registry admins read it for incident review; their read is
        audited."""
        booking = self.get_object()
        if role_of(request.user) == Role.REGISTRY_ADMIN:
            audit_record(actor=request.user, action="decision_log.read", obj=booking)
        decisions = Decision.objects.filter(booking=booking).order_by("made_at", "id")
        return self.list_response(self.scope_queryset(decisions, resource="decisions"), DecisionSerializer)

    # --- after the session ------------------------------------------------------------------------

    @extend_schema(request=None, responses=SessionOutcomeSerializer)
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None)
    def outcome(self, request, pk=None):
        """The session's outcome (spa staff, the assigned therapist); 404 while none is
        recorded."""
        outcome = outcome_of(self.get_object())
        if outcome is None:
            raise DomainNotFound("No outcome is recorded for this booking yet.")
        return Response(SessionOutcomeSerializer(outcome).data)

    @extend_schema(request=OutcomeInputSerializer, responses={201: SessionOutcomeSerializer})
    @outcome.mapping.post
    @idempotent
    def outcome_record(self, request, pk=None):
        """Record the session's outcome, once, within 72 hours of its end (spa staff, the
        assigned therapist): the pain score after and every sign of ``/outcome-signs/``
        answered. The answer's ``advice`` tells the client what to do, serious signs
        (``emergency``) first; a moderate or serious sign raises an adverse event. Not
        completed, already recorded, or too late: 409."""
        booking = self.get_object()
        serializer = OutcomeInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        session_outcome_record(
            actor=request.user, booking=booking, pain_after=data["pain_after"], signs=data["signs"]
        )
        return Response(SessionOutcomeSerializer(outcome_of(booking)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=AdverseEventSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="adverse-events",
        serializer_class=AdverseEventSerializer,
        filter_backends=[],
        filterset_class=None,
    )
    def adverse_events(self, request, pk=None):
        """The booking's adverse events, oldest first (spa staff, the assigned therapist)."""
        booking = self.get_object()
        return self.list_response(adverse_events_of(booking), AdverseEventSerializer)

    @extend_schema(request=AdverseEventInputSerializer, responses={201: AdverseEventSerializer})
    @adverse_events.mapping.post
    @idempotent
    def adverse_event_report(self, request, pk=None):
        """Report a sign noticed after the session (hours or days later) with a narrative (spa
        staff, the assigned therapist, registry admins): an adverse event of its worst sign's
        severity. A serious one puts the certifications the session rested on under registry
        review; the registry, the spa and the issuing schools are told
        (``adverse_event.reported``). The answer's ``advice`` gives the client's instruction,
        the emergency referral first. A booking not completed: 409."""
        booking = self.get_object()
        serializer = AdverseEventInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        review = contextlib.nullcontext()
        if role_of(request.user) == Role.REGISTRY_ADMIN:
            # A registry admin reports on one booking (the report is audited by the service): the
            # service reads the booking with its intake, through the one bypass, this booking only.
            review = rls.incident_review(booking=booking)
        with review:
            event = adverse_event_report(
                actor=request.user, booking=booking, signs=data["signs"], narrative=data["narrative"]
            )
            body = AdverseEventSerializer(adverse_events_of(booking).get(pk=event.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None)
    def incident(self, request, pk=None):
        """What happened with one booking, in one answer for the incident review: the booking,
        its decision log (oldest first), its outcome and its adverse events. The spa's staff
        read their own; registry admins any by id, and their read is audited."""
        booking = self.get_object()
        review = contextlib.nullcontext()
        if role_of(request.user) == Role.REGISTRY_ADMIN:
            # Audited, then the one bypass of row-level security: this booking's rows only.
            audit_record(actor=request.user, action="incident.read", obj=booking)
            review = rls.incident_review(booking=booking)
        with review:
            decisions = self.scope_queryset(
                Decision.objects.filter(booking=booking).order_by("made_at", "id"), resource="decisions"
            )
            body = {
                "booking": booking,
                "decisions": list(decisions),
                "outcome": outcome_of(booking),
                "adverse_events": list(adverse_events_of(booking)),
            }
            data = IncidentSerializer(body).data
        return Response(data)


# --- the decision log ----------------------------------------------------------------------------


class DecisionFilter(django_filters.FilterSet):
    spa = django_filters.UUIDFilter(field_name="spa_id")
    therapist = django_filters.UUIDFilter(field_name="therapist_id")
    allowed = BooleanFilter()

    class Meta:
        model = Decision
        fields = ["spa", "therapist", "allowed"]


class DecisionViewSet(mixins.ListModelMixin, RegistryViewSet):
    """The caller's spa's decision log, oldest first: one entry per booking attempt, re-check
    and reassignment. ``?spa=&therapist=&allowed=``."""

    queryset = Decision.objects.order_by("made_at", "id")
    serializer_class = DecisionSerializer
    filterset_class = DecisionFilter
    tenant_resource = "decisions"
    action_roles = {"list": SPA_STAFF}
