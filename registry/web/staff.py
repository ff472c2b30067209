"""Registry staff's pages: a home linking to the Django admin, the review queue (every
certificate flagged for review — those behind a serious adverse event first — kept or revoked
with a reason through ``certification_review``), and verifying an instructor's clinical experience
(``clinical_experience_verify``), showing what the instructor is verified to teach today
(``instructor_qualified_protocols``).

Only registry admins open them (others: 403). No client data shows here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.errors import Conflict, DomainError
from credentials.models import Certification, ClinicalExperience, Instructor
from credentials.selectors import certification_list, instructor_qualified_protocols
from credentials.services import clinical_experience_verify
from protocols.choices import SignSeverity
from registry.choices import Role
from registry.models import AdverseEvent
from registry.services.credentials import certification_review
from registry.web.auth import role_required
from registry.web.forms_school import ClinicalExperienceForm, ReviewDecisionForm, is_uuid

registry_admin_required = role_required(Role.REGISTRY_ADMIN)


def _serious_events(certification_ids: list[Any]) -> dict[Any, list[AdverseEvent]]:
    """The serious adverse events of sessions that rested on each of these certificates,
    newest first (two queries). What they show holds no client data: when, severity, protocol,
    focus region and minutes."""
    links = (
        AdverseEvent.certifications.through.objects.filter(
            certification_id__in=certification_ids, adverseevent__severity=SignSeverity.SERIOUS
        )
        .select_related("adverseevent__protocol")
        .order_by("-adverseevent__reported_at", "adverseevent_id")
    )
    events: dict[Any, list[AdverseEvent]] = {}
    for link in links:
        events.setdefault(link.certification_id, []).append(link.adverseevent)
    return events


@require_safe
@registry_admin_required
def home(request: HttpRequest) -> HttpResponse:
    """Links to the registry's pages and the Django admin, with the review queue's length and
    how many serious adverse events wait in it."""
    flagged = certification_list(review_required=True)
    serious = AdverseEvent.objects.filter(
        severity=SignSeverity.SERIOUS, certifications__in=flagged.values("pk")
    ).distinct()
    context = {"flagged_count": flagged.count(), "serious_count": serious.count()}
    return render(request, "staff/home.html", context)


# --- the review queue ----------------------------------------------------------------------------


def _review_prefix(certification: Certification) -> str:
    return f"review-{certification.pk}"


def _queue_page(
    request: HttpRequest, bound: dict[Any, ReviewDecisionForm] | None = None, *, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    flagged = list(certification_list(review_required=True).order_by("issued_at", "id"))
    events = _serious_events([c.pk for c in flagged])
    for certification in flagged:
        certification.form = bound.get(certification.pk) or ReviewDecisionForm(
            prefix=_review_prefix(certification)
        )
        certification.serious_events = events.get(certification.pk, [])
    # serious adverse events first, the newest event first; then the rest, oldest first
    serious = sorted(
        (c for c in flagged if c.serious_events),
        key=lambda c: c.serious_events[0].reported_at,
        reverse=True,
    )
    others = [c for c in flagged if not c.serious_events]
    context = {"flagged": serious + others, "serious": serious, "others": others}
    return render(request, "staff/reviews.html", context, status=status)


@require_safe
@registry_admin_required
def reviews(request: HttpRequest) -> HttpResponse:
    """Every certificate flagged for review, each with the decision form: those resting on a
    session with a serious adverse event first (newest event first), then the rest, oldest
    first."""
    return _queue_page(request)


@require_POST
@registry_admin_required
def review_decide(request: HttpRequest, pk) -> HttpResponse:
    """Keep (clear the flag) or revoke a flagged certificate, with a reason
    (``certification_review``). Problems show on its card in the queue."""
    certification = get_object_or_404(Certification.objects.select_related("therapist", "protocol"), pk=pk)
    form = ReviewDecisionForm(request.POST, prefix=_review_prefix(certification))
    form.is_valid()
    data = form.cleaned_data
    try:
        _certification, changed = certification_review(
            actor=request.user,
            certification=certification,
            decision=data.get("decision") or "",
            reason=data.get("reason") or "",
        )
    except Conflict as error:
        messages.error(request, f"No decision recorded: {error.detail}")
        return redirect("web:staff-reviews")
    except DomainError as error:
        form.add_service_errors(error.errors, error.detail)
        return _queue_page(request, {certification.pk: form}, status=400)
    what = f"{certification.therapist.name}'s certificate in {certification.protocol.name}"
    if data.get("decision") == "revoke":
        rechecked = f" {len(changed)} booking(s) now need reassignment." if changed else ""
        messages.success(request, f"Revoked {what} (serial {certification.serial}).{rechecked}")
    else:
        messages.success(request, f"Kept {what} (serial {certification.serial}): the flag is cleared.")
    return redirect("web:staff-reviews")


# --- verifying clinical experience -----------------------------------------------------------------


def _instructor_panel(instructor: Instructor | None) -> dict[str, Any]:
    """What the registry holds about an instructor: the schools whose list they are on, the
    protocols they are verified to teach today, and every verification on record."""
    if instructor is None:
        return {"instructor": None}
    return {
        "instructor": instructor,
        "schools": list(instructor.schools.order_by("name")),
        "qualified": instructor_qualified_protocols(instructor=instructor, on=timezone.localdate()),
        "experience": list(
            ClinicalExperience.objects.filter(instructor=instructor)
            .select_related("protocol")
            .order_by("-verified_on", "-verified_at")
        ),
    }


def _panel_url() -> str:
    return reverse("web:staff-experience-instructor")


def _chosen_instructor(value: Any) -> Instructor | None:
    return Instructor.objects.filter(pk=value).first() if value and is_uuid(value) else None


@require_http_methods(["GET", "HEAD", "POST"])
@registry_admin_required
def experience(request: HttpRequest) -> HttpResponse:
    """Verify an instructor's clinical experience in a protocol. ``?instructor=`` (or "Show")
    shows what that instructor is verified to teach; after verifying, the page shows it again
    for the same instructor."""
    status = 200
    if request.method == "POST" and request.POST.get("action", "verify") == "verify":
        form = ClinicalExperienceForm(request.POST, panel_url=_panel_url())
        if form.is_valid():
            try:
                experience_row = _verify(request, form)
            except DomainError as error:
                form.add_service_errors(error.errors)
            else:
                return redirect(f"{request.path}?instructor={experience_row.instructor_id}")
        status = 400
        chosen = form.cleaned_data.get("instructor")
    else:
        data = request.POST if request.method == "POST" else request.GET
        form = ClinicalExperienceForm(
            initial={k: data.get(k) for k in data if k != "csrfmiddlewaretoken"}, panel_url=_panel_url()
        )
        chosen = _chosen_instructor(data.get("instructor"))
    context = {"form": form, **_instructor_panel(chosen)}
    return render(request, "staff/experience.html", context, status=status)


def _verify(request: HttpRequest, form: ClinicalExperienceForm) -> ClinicalExperience:
    row = clinical_experience_verify(actor=request.user, **form.service_arguments())
    qualified = {
        p.pk for p in instructor_qualified_protocols(instructor=row.instructor, on=timezone.localdate())
    }
    outcome = (
        f"{row.instructor.name} may now teach {row.protocol.name}."
        if row.protocol.pk in qualified
        else (
            f"{row.instructor.name} may not teach {row.protocol.name} yet: it asks "
            f"{row.protocol.min_instructor_years} years and {row.protocol.min_instructor_cases} cases."
        )
    )
    messages.success(
        request,
        f"Verified: {row.instructor.name}'s experience in {row.protocol.name} "
        f"({row.years} years, {row.cases} cases, from {row.verified_on:%Y-%m-%d}). {outcome}",
    )
    return row


@require_safe
@registry_admin_required
def experience_instructor(request: HttpRequest) -> HttpResponse:
    """The instructor panel for ``?instructor=`` (HTMX, as the instructor is chosen)."""
    panel = _instructor_panel(_chosen_instructor(request.GET.get("instructor")))
    return render(request, "staff/_instructor_panel.html", {**panel, "announce": True})
