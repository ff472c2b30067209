"""The front desk in a browser: record an intake, find who may take a session, book, and keep
the day's bookings right when a credential changes.

Every page is for spa staff and shows only their own spa's intakes and bookings (another
spa's answers 404). The pages call the services and selectors the API calls —
``intake_record``, ``slot_validate``, ``eligible_therapists``, ``booking_create``,
``booking_reassign``, ``booking_cancel``, ``condition_list``, ``screening_question_list`` —
and hold no rule of their own: a refusal shows the engine's reasons in its own words.

Times are read and shown in the spa's timezone (``role_required`` activates it). A little
HTMX refreshes the condition list while searching and the screening questions while
conditions are chosen; every such step also works without JavaScript, by a submit button that
re-shows the form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.errors import Conflict, DomainError
from credentials.models import Therapist
from protocols.choices import BodyRegion, ScreeningAction
from protocols.models import Condition
from protocols.selectors import condition_list, outcome_sign_list, screening_question_list
from registry.choices import BookingStatus, Role
from registry.models import AdverseEvent, Booking, Intake, SessionOutcome, Spa
from registry.services.bookings import (
    KEEP_SUPERVISOR,
    Candidate,
    booking_cancel,
    booking_create,
    booking_reassign,
    eligible_therapists,
    slot_of,
    slot_validate,
)
from registry.services.intakes import applicable_questions, intake_record
from registry.services.outcomes import (
    OUTCOME_WINDOW,
    adverse_event_report,
    booking_complete_with_outcome,
    session_outcome_record,
)
from registry.web.auth import role_required
from registry.web.forms import AdverseEventForm, IntakeForm, OutcomeForm, SlotForm, TherapistChoiceForm

spa_staff_required = role_required(Role.SPA_STAFF)

# How many conditions the picker lists at once (the chosen ones always show).
CONDITION_PICKER_LIMIT = 50

# A referral's action in plain words, and what the front desk does about it.
REFERRALS: dict[str, dict[str, str]] = {
    ScreeningAction.REFER_EMERGENCY: {
        "title": "Emergency care now — do not massage",
        "text": (
            "The client answered yes to a red-flag question that needs emergency care. Do not "
            "massage and do not book a session: send the client to emergency care now."
        ),
    },
    ScreeningAction.REFER_PHYSICIAN: {
        "title": "See a physician first",
        "text": (
            "The client answered yes to a red-flag question that needs a physician's assessment "
            "first. No session can be booked on this intake. Once a physician has cleared the "
            "client, record a new intake with the clearance."
        ),
    },
}

REGION_LABELS = dict(BodyRegion.choices)


def _spa(request: HttpRequest) -> Spa:
    return request.membership.spa


def _intakes(spa: Spa):
    """The spa's intakes (the only ones its staff may see), conditions by code."""
    return Intake.objects.filter(spa=spa).prefetch_related(
        Prefetch("conditions", queryset=Condition.objects.order_by("code"))
    )


def _bookings(spa: Spa):
    """The spa's bookings (the only ones its staff may see)."""
    return Booking.objects.filter(spa=spa).select_related("therapist", "supervisor", "intake")


def _spa_therapist(spa: Spa, therapist_id: Any) -> Therapist | None:
    """A therapist the spa may name: one it employs or has employed. (Whether they may take
    the session is the engine's to say.)"""
    return Therapist.objects.filter(pk=therapist_id, employments__spa=spa).distinct().first()


def _therapist_names(ids: set[str]) -> dict[str, str]:
    return {str(pk): name for pk, name in Therapist.objects.filter(pk__in=ids).values_list("id", "name")}


def _suggestions(booking: Booking, names: dict[str, str]) -> list[dict[str, str]]:
    return [{"id": str(pk), "name": names.get(str(pk), str(pk))} for pk in booking.suggested_therapists or []]


def _supervised_options(booking: Booking) -> list[Candidate]:
    """Who may take a booking needing reassignment once a supervisor is named: the therapists
    "Find a therapist" offers a supervisor picker for (``eligible_therapists`` on the booking's
    slot, its own holds aside), the booking's own therapist included — a supervisor who no
    longer qualifies is replaced this way. Two queries."""
    candidates = eligible_therapists(slot=slot_of(booking), exclude_booking_id=booking.pk)
    return [c for c in candidates if c.needs_only_a_supervisor]


def _when(value: dt.datetime) -> str:
    """A time in words, in the spa's timezone: "Tuesday 5 May 2026, 10:00"."""
    return dateformat.format(timezone.localtime(value), "l j F Y, H:i")


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- the day -------------------------------------------------------------------------------------


@require_safe
@spa_staff_required
def home(request: HttpRequest) -> HttpResponse:
    """Today's and upcoming bookings, those needing reassignment first with the suggested
    replacements; the sessions of the last 72 hours whose outcome is still to record; and the
    intakes that can still be booked."""
    spa = _spa(request)
    now = timezone.now()
    today = timezone.localdate(now)
    day_start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    current = _bookings(spa).filter(end__gt=day_start).order_by("start", "id")
    needs = list(current.filter(status=BookingStatus.NEEDS_REASSIGNMENT))
    names = _therapist_names({str(pk) for b in needs for pk in b.suggested_therapists or []})
    for booking in needs:
        booking.suggestions = _suggestions(booking, names)
        booking.supervised_options = None  # on the booking's page (two queries a booking)
    others = list(current.filter(status__in=[BookingStatus.CONFIRMED, BookingStatus.COMPLETED])[:200])
    waiting = list(
        _bookings(spa)
        .filter(
            start__lte=now,
            end__gte=now - OUTCOME_WINDOW,
            status__in=[BookingStatus.CONFIRMED, BookingStatus.COMPLETED],
            outcome__isnull=True,
        )
        .order_by("start", "id")[:100]
    )
    context = {
        "spa": spa,
        "today": today,
        "waiting_for_outcome": waiting,
        "needs_reassignment": needs,
        "todays": [b for b in others if timezone.localdate(b.start) == today],
        "upcoming": [b for b in others if timezone.localdate(b.start) > today],
        "intakes": list(_intakes(spa).filter(valid_until__gt=now).order_by("-recorded_at", "id")[:20]),
    }
    return render(request, "frontdesk/home.html", context)


# --- intakes -------------------------------------------------------------------------------------


def _condition_options(query: str, chosen: list[str]) -> dict[str, Any]:
    """The picker's rows: the chosen conditions first (always shown, ticked), then those whose
    code or name holds every word searched for."""
    chosen_rows = list(condition_list().filter(code__in=chosen))
    matches = condition_list().exclude(code__in=chosen)
    for term in query.split():
        matches = matches.filter(Q(code__icontains=term) | Q(name__icontains=term))
    found = list(matches[: CONDITION_PICKER_LIMIT + 1])
    return {
        "options": [(c, True) for c in chosen_rows] + [(c, False) for c in found[:CONDITION_PICKER_LIMIT]],
        "more": len(found) > CONDITION_PICKER_LIMIT,
        "query": query,
        "no_match": bool(query.split()) and not found,
    }


def _questions_for(codes: list[str], focus_regions: list[str]):
    """The screening questions that apply to the chosen conditions' and focus regions' body
    regions (the service's ``applicable_questions``)."""
    regions = set(Condition.objects.filter(code__in=codes).values_list("region", flat=True))
    regions |= {r for r in focus_regions if r in BodyRegion.values}
    return applicable_questions(screening_question_list(), regions)


def _intake_form(data, *, bound: bool) -> IntakeForm:
    codes = data.getlist("conditions") if data is not None else []
    focus = data.getlist("focus_regions") if data is not None else []
    kwargs = {
        "questions": _questions_for(codes, focus),
        "condition_codes": Condition.objects.values_list("code", flat=True),
    }
    if bound:
        return IntakeForm(data, **kwargs)
    return IntakeForm(initial=IntakeForm.initial_from(data) if data is not None else None, **kwargs)


@require_http_methods(["GET", "HEAD", "POST"])
@spa_staff_required
def intake_new(request: HttpRequest) -> HttpResponse:
    """Record an intake. "Search" and "Show the questions" re-show the form with what was
    entered (the way it works without JavaScript); "Record the intake" records it through
    ``intake_record``, whose field errors show next to their fields."""
    spa = _spa(request)
    data = request.POST if request.method == "POST" else None
    action = data.get("action", "record") if data is not None else None
    status = 200
    if action == "record":
        form = _intake_form(data, bound=True)
        if form.is_valid():
            try:
                intake = intake_record(actor=request.user, spa=spa, **form.service_arguments())
            except DomainError as error:
                form.add_service_errors(error.errors)
            else:
                messages.success(request, f"Intake recorded for client {intake.client_ref}.")
                return redirect("web:intake", pk=intake.pk)
        status = 400
    else:
        form = _intake_form(data, bound=False)
    chosen = data.getlist("conditions") if data is not None else []
    query = (data.get("q", "") if data is not None else request.GET.get("q", "")).strip()
    context = {"spa": spa, "form": form, **_condition_options(query, chosen)}
    return render(request, "frontdesk/intake_new.html", context, status=status)


@require_safe
@spa_staff_required
def intake_conditions(request: HttpRequest) -> HttpResponse:
    """The condition picker's rows for a search (HTMX); the chosen ones stay ticked."""
    query = request.GET.get("q", "").strip()
    context = _condition_options(query, request.GET.getlist("conditions"))
    return render(request, "frontdesk/_condition_options.html", context)


@require_safe
@spa_staff_required
def intake_questions(request: HttpRequest) -> HttpResponse:
    """The screening questions for the conditions and focus regions chosen so far (HTMX),
    keeping the answers already given."""
    form = _intake_form(request.GET, bound=False)
    return render(request, "frontdesk/_screening.html", {"form": form, "announce": True})


def _regions_of(intake: Intake) -> list[str]:
    regions = [c.region for c in intake.conditions.all()] + list(intake.focus_regions)
    return list(dict.fromkeys(regions))


def _referral(intake: Intake) -> dict[str, Any] | None:
    if not intake.referral:
        return None
    codes = intake.referral.get("questions") or []
    texts = dict(screening_question_list().filter(code__in=codes).values_list("code", "text"))
    action = intake.referral.get("action")
    words = REFERRALS.get(action, REFERRALS[ScreeningAction.REFER_EMERGENCY])
    return {
        "action": action,
        "emergency": action != ScreeningAction.REFER_PHYSICIAN,
        "questions": [texts.get(code, code) for code in codes],
        **words,
    }


def _slot_defaults(regions: list[str]) -> dict[str, Any]:
    now = timezone.localtime()
    next_hour = (now + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return {
        "date": next_hour.date(),
        "time": next_hour.time(),
        "duration_minutes": 60,
        "focus_region": regions[0] if regions else "",
        "focus_minutes": 0,
    }


def _intake_page(
    request: HttpRequest,
    intake: Intake,
    slot_form: SlotForm,
    *,
    refusal: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The intake, its referral (no booking then), the session form and, once a session is
    asked for, every therapist of the spa with the engine's decision: allowed first."""
    spa = _spa(request)
    referral = _referral(intake)
    candidates = None
    if slot_form.is_bound and not referral and slot_form.is_valid():
        try:
            slot = slot_validate(spa=spa, intake=intake, **slot_form.service_arguments(spa.timezone))
        except DomainError as error:
            slot_form.add_service_errors(error.errors)
        else:
            candidates = eligible_therapists(slot=slot)
    context = {
        "spa": spa,
        "intake": intake,
        "regions": [REGION_LABELS.get(r, r) for r in _regions_of(intake)],
        "referral": referral,
        "expired": intake.valid_until <= timezone.now(),
        "slot_form": slot_form,
        "candidates": candidates,
        "hidden_slot": slot_form.as_hidden_pairs() if candidates is not None else [],
        "refusal": refusal,
        "bookings": list(intake.bookings.select_related("therapist").order_by("start", "id")),
    }
    if slot_form.is_bound and slot_form.errors and status == 200:
        status = 400
    return render(request, "frontdesk/intake_detail.html", context, status=status)


@require_safe
@spa_staff_required
def intake_detail(request: HttpRequest, pk) -> HttpResponse:
    """An intake and the session search: ``?date=&time=&duration_minutes=&focus_region=
    &focus_minutes=`` lists the spa's therapists for that session."""
    intake = get_object_or_404(_intakes(_spa(request)), pk=pk)
    regions = _regions_of(intake)
    if "date" in request.GET:
        form = SlotForm(request.GET, regions=regions)
    else:
        form = SlotForm(initial=_slot_defaults(regions), regions=regions)
    return _intake_page(request, intake, form)


@require_POST
@spa_staff_required
def intake_book(request: HttpRequest, pk) -> HttpResponse:
    """Book one therapist for the session (``booking_create``). Booked: to the booking's page.
    Refused: the intake page again, with every reason."""
    spa = _spa(request)
    intake = get_object_or_404(_intakes(spa), pk=pk)
    slot_form = SlotForm(request.POST, regions=_regions_of(intake))
    choice = TherapistChoiceForm(request.POST)
    therapist = _spa_therapist(spa, choice.cleaned_data["therapist"]) if choice.is_valid() else None
    if therapist is None:
        slot_form.is_valid()
        slot_form.add_error(None, "Choose one of the spa's therapists from the list.")
        return _intake_page(request, intake, slot_form, status=400)
    if not slot_form.is_valid():
        return _intake_page(request, intake, slot_form, status=400)
    try:
        slot = slot_validate(spa=spa, intake=intake, **slot_form.service_arguments(spa.timezone))
    except DomainError as error:
        slot_form.add_service_errors(error.errors)
        return _intake_page(request, intake, slot_form, status=400)
    supervisor = None
    if choice.cleaned_data.get("supervisor"):
        supervisor = _spa_therapist(spa, choice.cleaned_data["supervisor"])
        if supervisor is None:
            slot_form.add_error(None, "Choose the supervisor from the list of the spa's therapists.")
            return _intake_page(request, intake, slot_form, status=400)
    outcome = booking_create(actor=request.user, therapist=therapist, slot=slot, supervisor=supervisor)
    if outcome.booking is not None:
        supervised = (
            f", supervised by {supervisor.name}"
            if supervisor is not None and outcome.booking.supervisor_id
            else ""
        )
        messages.success(
            request,
            f"Booked {therapist.name} for {_when(outcome.booking.start)}{supervised} "
            f"(client {intake.client_ref}).",
        )
        return redirect("web:booking", pk=outcome.booking.pk)
    refusal = {"name": therapist.name, **outcome.result.as_dict()}
    return _intake_page(request, intake, slot_form, refusal=refusal, status=409)


# --- bookings ------------------------------------------------------------------------------------


def _emergency(outcome: SessionOutcome | None, events: list[AdverseEvent]) -> list[dict[str, Any]]:
    """The serious signs recorded on a booking, grouped by the instruction the client must be
    given (in full, before anything else on the page)."""
    grouped: dict[str, list[str]] = {}
    for advice in [*(outcome.advice if outcome else []), *(a for e in events for a in e.advice)]:
        if advice.get("severity") == "serious":
            labels = grouped.setdefault(advice["instruction"], [])
            if advice["label"] not in labels:
                labels.append(advice["label"])
    return [{"instruction": text, "signs": labels} for text, labels in grouped.items()]


def _booking_page(
    request: HttpRequest,
    booking: Booking,
    *,
    outcome_form: OutcomeForm | None = None,
    event_form: AdverseEventForm | None = None,
    refusal: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """A booking, its reasons and suggested replacements when it needs reassignment (those
    allowed alone, and provisional therapists with a supervisor picker), what happened after
    the session (the outcome, or the form to record it; adverse events, and the form to report
    one), and its decision history. ``refusal``: a reassignment just refused, with every
    reason."""
    spa = _spa(request)
    now = timezone.now()
    decisions = list(booking.decisions.select_related("therapist", "made_by").order_by("made_at", "id"))
    booking.suggestions = _suggestions(booking, _therapist_names(set(map(str, booking.suggested_therapists))))
    booking.supervised_options = (
        _supervised_options(booking)
        if booking.status == BookingStatus.NEEDS_REASSIGNMENT and booking.start > now
        else []
    )
    outcome = SessionOutcome.objects.filter(booking=booking).first()
    events = list(AdverseEvent.objects.filter(booking=booking).order_by("reported_at", "id"))
    signs = list(outcome_sign_list())
    after_session = booking.start <= now and booking.status in (
        BookingStatus.CONFIRMED,
        BookingStatus.COMPLETED,
    )
    outcome_open = after_session and outcome is None and now <= booking.end + OUTCOME_WINDOW
    context = {
        "spa": spa,
        "booking": booking,
        "decisions": decisions,
        "active": booking.status in (BookingStatus.CONFIRMED, BookingStatus.NEEDS_REASSIGNMENT),
        "upcoming": booking.start > now,
        "after_session": after_session,
        "outcome": outcome,
        "outcome_deadline": booking.end + OUTCOME_WINDOW,
        "outcome_form": (outcome_form or OutcomeForm(signs=signs)) if outcome_open else None,
        "adverse_events": events,
        "event_form": (event_form or AdverseEventForm(signs=signs))
        if booking.status == BookingStatus.COMPLETED
        else None,
        "emergency": _emergency(outcome, events),
        "refusal": refusal,
    }
    return render(request, "frontdesk/booking_detail.html", context, status=status)


@require_safe
@spa_staff_required
def booking_detail(request: HttpRequest, pk) -> HttpResponse:
    """A booking: its status and reasons, what happened after the session, its decision
    history (every decision recorded on it: the booking, re-checks, reassignments)."""
    return _booking_page(request, get_object_or_404(_bookings(_spa(request)), pk=pk))


@require_POST
@spa_staff_required
def booking_outcome_view(request: HttpRequest, pk) -> HttpResponse:
    """Record the session's outcome (``session_outcome_record``); a confirmed booking is
    completed with it (``booking_complete_with_outcome``), in one transaction. Field problems
    show next to their fields; a refusal of the booking's state in a message."""
    booking = get_object_or_404(_bookings(_spa(request)), pk=pk)
    form = OutcomeForm(request.POST, signs=outcome_sign_list())
    if not form.is_valid():
        return _booking_page(request, booking, outcome_form=form, status=400)
    try:
        if booking.status == BookingStatus.CONFIRMED:
            _booking, result = booking_complete_with_outcome(
                actor=request.user, booking=booking, **form.service_arguments()
            )
        else:
            result = session_outcome_record(actor=request.user, booking=booking, **form.service_arguments())
    except Conflict as error:
        messages.error(request, f"Outcome not recorded: {error.detail}")
        return redirect("web:booking", pk=booking.pk)
    except DomainError as error:
        form.add_service_errors(error.errors)
        return _booking_page(request, booking, outcome_form=form, status=400)
    raised = ""
    if result.adverse_event is not None:
        raised = f" A {result.adverse_event.severity} adverse event was recorded."
    messages.success(request, f"Outcome recorded for client {booking.intake.client_ref}.{raised}")
    return redirect("web:booking", pk=booking.pk)


@require_POST
@spa_staff_required
def booking_adverse_event_view(request: HttpRequest, pk) -> HttpResponse:
    """Report a sign noticed after the session (``adverse_event_report``)."""
    booking = get_object_or_404(_bookings(_spa(request)), pk=pk)
    form = AdverseEventForm(request.POST, signs=outcome_sign_list())
    form.is_valid()
    try:
        event = adverse_event_report(
            actor=request.user,
            booking=booking,
            signs=form.cleaned_data.get("signs") or [],
            narrative=form.cleaned_data.get("narrative") or "",
        )
    except Conflict as error:
        messages.error(request, f"Not reported: {error.detail}")
        return redirect("web:booking", pk=booking.pk)
    except DomainError as error:
        form.add_service_errors(error.errors)
        return _booking_page(request, booking, event_form=form, status=400)
    messages.success(
        request, f"A {event.severity} adverse event was recorded for client {booking.intake.client_ref}."
    )
    return redirect("web:booking", pk=booking.pk)


@require_POST
@spa_staff_required
def booking_reassign_view(request: HttpRequest, pk) -> HttpResponse:
    """Move the booking to another therapist (``booking_reassign``: decided like a new
    booking), with the supervisor picked for a provisional one; none picked, the same therapist
    keeps the booking's supervisor (the service's rule). Reassigned: a message, to ``next``.
    Refused: the booking's page again, with every reason (the decision history keeps them)."""
    spa = _spa(request)
    booking = get_object_or_404(_bookings(spa), pk=pk)
    done = _safe_next(request, reverse("web:booking", kwargs={"pk": booking.pk}))
    choice = TherapistChoiceForm(request.POST)
    therapist = _spa_therapist(spa, choice.cleaned_data["therapist"]) if choice.is_valid() else None
    if therapist is None:
        messages.error(request, "Choose one of the spa's therapists from the list.")
        return redirect(done)
    supervisor = None
    if choice.cleaned_data.get("supervisor"):
        supervisor = _spa_therapist(spa, choice.cleaned_data["supervisor"])
        if supervisor is None:
            messages.error(request, "Choose the supervisor from the list of the spa's therapists.")
            return redirect(done)
    try:
        outcome = booking_reassign(
            actor=request.user,
            booking=booking,
            therapist=therapist,
            supervisor=supervisor if supervisor is not None else KEEP_SUPERVISOR,
        )
    except DomainError as error:
        messages.error(request, f"Not reassigned: {error.detail}")
        return redirect(done)
    if outcome.booking is None:
        refusal = {"name": therapist.name, **outcome.result.as_dict()}
        booking = get_object_or_404(_bookings(spa), pk=pk)  # as it stands: unchanged
        return _booking_page(request, booking, refusal=refusal, status=409)
    kept = outcome.booking.supervisor  # the one picked, or the one the booking keeps
    supervised = f", supervised by {kept.name}" if kept is not None else ""
    messages.success(
        request,
        f"Reassigned to {therapist.name}{supervised}: {_when(booking.start)} "
        f"(client {booking.intake.client_ref}).",
    )
    return redirect(done)


@require_POST
@spa_staff_required
def booking_cancel_view(request: HttpRequest, pk) -> HttpResponse:
    """Cancel the booking (``booking_cancel``); the therapist's slot is freed."""
    booking = get_object_or_404(_bookings(_spa(request)), pk=pk)
    try:
        booking_cancel(actor=request.user, booking=booking)
    except DomainError as error:
        messages.error(request, f"Not cancelled: {error.detail}")
    else:
        messages.success(request, f"Booking cancelled (client {booking.intake.client_ref}).")
    return redirect("web:booking", pk=booking.pk)
