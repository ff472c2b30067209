"""The school office in a browser: the school's instructors and what each may teach, issuing
a certificate (every refusal reason next to the field it concerns), the school's certificates
(filtered by status, protocol and review flag), revoking one with a reason, the certificates
the registry flagged for review (read-only here: registry staff decide), the safety record of
the school's certificates, and CSV imports with their report.

Every page is for school staff and shows only their own school's objects: another school's
certificate or import answers 404. The pages call the services and selectors the API calls —
``certification_issue``, ``certification_revoke``, ``certification_list``,
``instructor_qualified_protocols``, ``import_create`` (then the ``run_import`` task once the
transaction commits) — and hold no rule of their own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.errors import Conflict, DomainError
from credentials.choices import CertificationStatus
from credentials.models import Certification, Instructor, School, SchoolAuthorization
from credentials.selectors import certification_list, instructors_qualified_protocols
from protocols.models import Protocol
from protocols.selectors import protocol_list, protocol_modules
from registry.choices import Role
from registry.models import ImportJob, SessionCertification
from registry.selectors import safety_records
from registry.services.credentials import certification_issue, certification_revoke
from registry.services.imports import CERTIFICATION_COLUMNS, import_create
from registry.tasks import run_import
from registry.web.auth import role_required
from registry.web.forms_school import CertificationFilterForm, CertificationIssueForm, ImportForm, ReasonForm
from registry.web.safety import with_periods

school_staff_required = role_required(Role.SCHOOL_STAFF)

PAGE_SIZE = 50


def _school(request: HttpRequest) -> School:
    return request.membership.school


def _certifications(school: School, **filters: Any):
    """The school's certificates (the only ones its staff may see), status as of now."""
    return certification_list(school=school, **filters)


def _imports(school: School):
    """The school's certificate imports (the only ones its staff may see)."""
    return ImportJob.objects.filter(school=school, kind=ImportJob.Kind.CERTIFICATIONS)


def _authorised_protocols(school: School) -> list[Protocol]:
    """The protocols the registry authorises the school to certify now (shown, not decided:
    ``certification_issue`` checks the authorisation itself)."""
    now = timezone.now()
    open_now = SchoolAuthorization.objects.filter(school=school, granted_at__lte=now).filter(
        Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=now)
    )
    return list(Protocol.objects.filter(id__in=open_now.values("protocol_id")).order_by("name"))


def _roster(school: School) -> list[Instructor]:
    return list(school.instructors.order_by("name", "id"))


# --- home and instructors ------------------------------------------------------------------------


@require_safe
@school_staff_required
def home(request: HttpRequest) -> HttpResponse:
    """What the office works on: the protocols it may certify, the certificates the registry
    flagged for review, and the latest certificates issued."""
    school = _school(request)
    certifications = _certifications(school)
    context = {
        "school": school,
        "authorised": _authorised_protocols(school),
        "flagged_count": certifications.filter(review_required=True).count(),
        "active_count": _certifications(school, status=CertificationStatus.ACTIVE).count(),
        "latest": list(certifications[:5]),
        "instructor_count": school.instructors.count(),
    }
    return render(request, "school/home.html", context)


@require_safe
@school_staff_required
def instructors(request: HttpRequest) -> HttpResponse:
    """The instructors on the school's list, each with the protocols the registry has verified
    them to teach today (``instructors_qualified_protocols``), and whether the school may
    certify those."""
    school = _school(request)
    today = timezone.localdate()
    authorised = {p.pk for p in _authorised_protocols(school)}
    roster = _roster(school)
    qualified = instructors_qualified_protocols(instructors=roster, on=today)  # one query
    rows = [
        {
            "instructor": instructor,
            "protocols": [
                {"protocol": protocol, "authorised": protocol.pk in authorised}
                for protocol in qualified[instructor.pk]
            ],
        }
        for instructor in roster
    ]
    return render(request, "school/instructors.html", {"school": school, "rows": rows, "today": today})


# --- issuing -------------------------------------------------------------------------------------


def _issue_form(school: School, data=None, **kwargs: Any) -> CertificationIssueForm:
    authorised = _authorised_protocols(school)
    others = Protocol.objects.exclude(pk__in=[p.pk for p in authorised]).order_by("name")
    groups = [
        (f"Authorised for {school.name}", authorised),
        ("Not authorised for this school", list(others)),
    ]
    return CertificationIssueForm(data, protocol_groups=groups, roster=_roster(school), **kwargs)


def _issue_defaults() -> dict[str, Any]:
    return {f"{kind}-passed": True for kind in ("fundamentals", "critical-details", "harm-avoidance")}


def _module_minimums() -> list[dict[str, Any]]:
    """Each protocol's modules and their minimum hours (a hint beside the form)."""
    return [{"protocol": p, "modules": protocol_modules(p)} for p in protocol_list().order_by("name")]


@require_http_methods(["GET", "HEAD", "POST"])
@school_staff_required
def certification_new(request: HttpRequest) -> HttpResponse:
    """Issue a certificate for the school (``certification_issue``). Issued: to its page.
    Refused: the form again (422) with every reason next to the field it concerns."""
    school = _school(request)
    status = 200
    if request.method == "POST":
        form = _issue_form(school, request.POST)
        status = 400
        if form.is_valid():
            try:
                outcome = certification_issue(actor=request.user, school=school, **form.service_arguments())
            except DomainError as error:
                form.add_service_errors(error.errors)
            else:
                if outcome.certification is not None:
                    certification = outcome.certification
                    messages.success(
                        request,
                        f"Certificate issued: {certification.therapist.name}, "
                        f"{certification.protocol.name} (serial {certification.serial}).",
                    )
                    return redirect("web:school-certification", pk=certification.pk)
                form.add_refusal(outcome.reasons)
                status = 422
    else:
        form = _issue_form(school, initial=_issue_defaults())
    context = {"school": school, "form": form, "minimums": _module_minimums()}
    return render(request, "school/certification_new.html", context, status=status)


# --- the school's certificates -------------------------------------------------------------------


@require_safe
@school_staff_required
def certifications(request: HttpRequest) -> HttpResponse:
    """The school's certificates, newest first, filtered by status (as of now), protocol and
    review flag (``certification_list``)."""
    school = _school(request)
    filters = CertificationFilterForm(request.GET or None)
    arguments = filters.selector_arguments() if request.GET else {}
    page = Paginator(_certifications(school, **arguments), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "school": school,
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(v not in (None, "") for v in arguments.values()),
    }
    return render(request, "school/certifications.html", context)


def _certification_page(
    request: HttpRequest, certification: Certification, revoke_form: ReasonForm, *, status: int = 200
) -> HttpResponse:
    context = {
        "school": _school(request),
        "certification": certification,
        "modules": sorted(certification.modules.all(), key=lambda m: _MODULE_ORDER.get(m.kind, 9)),
        "revoke_form": revoke_form,
        "public_url": reverse("verify-certificate", args=[certification.serial]),
        "pdf_url": reverse("verify-certificate-pdf", args=[certification.serial]),
    }
    return render(request, "school/certification_detail.html", context, status=status)


_MODULE_ORDER = {"fundamentals": 0, "critical-details": 1, "harm-avoidance": 2}


def _revoke_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        label="Reason for revoking",
        help_text="Shown on the public page of the certificate and kept in the audit trail.",
    )


@require_safe
@school_staff_required
def certification_detail(request: HttpRequest, pk) -> HttpResponse:
    """One of the school's certificates: its facts, modules, status, public page and PDF, and
    (unless revoked) the revocation form."""
    certification = get_object_or_404(_certifications(_school(request)), pk=pk)
    return _certification_page(request, certification, _revoke_form())


@require_POST
@school_staff_required
def certification_revoke_view(request: HttpRequest, pk) -> HttpResponse:
    """Revoke one of the school's certificates with a reason (``certification_revoke``: bookings
    resting on it are re-checked, spas told). It shows as revoked on the public page at once."""
    school = _school(request)
    certification = get_object_or_404(_certifications(school), pk=pk)
    form = _revoke_form(request.POST)
    form.is_valid()
    try:
        certification_revoke(
            actor=request.user, certification=certification, reason=form.cleaned_data.get("reason", "")
        )
    except Conflict as error:
        messages.error(request, f"Not revoked: {error.detail}")
        return redirect("web:school-certification", pk=certification.pk)
    except DomainError as error:
        form.add_service_errors(error.errors, error.detail)
        return _certification_page(request, certification, form, status=400)
    messages.success(
        request,
        f"Certificate {certification.serial} revoked ({certification.therapist.name}, "
        f"{certification.protocol.name}). Its public page now says it is revoked.",
    )
    return redirect("web:school-certification", pk=certification.pk)


@require_safe
@school_staff_required
def reviews(request: HttpRequest) -> HttpResponse:
    """The school's certificates the registry flagged for review (an instructor's experience
    or the school's authorisation was withdrawn after they were issued). Read-only: registry
    staff keep or revoke each."""
    school = _school(request)
    flagged = list(_certifications(school, review_required=True))
    return render(request, "school/reviews.html", {"school": school, "flagged": flagged})


@require_safe
@school_staff_required
def safety(request: HttpRequest) -> HttpResponse:
    """The safety record of the school's certificates: per therapist and protocol, the
    completed sessions that rested on a certificate the school issued, their outcomes and the
    adverse events that followed (``safety_records``: counts only, no client identifier)."""
    school = _school(request)
    records = safety_records(rows=SessionCertification.objects.filter(certification__school=school))
    return render(request, "school/safety.html", {"school": school, "records": with_periods(records)})


# --- imports -------------------------------------------------------------------------------------


def _imports_page(request: HttpRequest, form: ImportForm, *, status: int = 200) -> HttpResponse:
    school = _school(request)
    context = {
        "school": school,
        "form": form,
        "columns": CERTIFICATION_COLUMNS,
        "jobs": list(_imports(school).order_by("-created_at", "id")[:20]),
        "max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    }
    return render(request, "school/imports.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@school_staff_required
def imports(request: HttpRequest) -> HttpResponse:
    """Import a CSV batch of certificates for the school (``import_create``, then the
    ``run_import`` task once committed); the school's earlier imports below."""
    if request.method != "POST":
        return _imports_page(request, ImportForm())
    form = ImportForm(request.POST, request.FILES)
    form.is_valid()
    upload = form.cleaned_data.get("file")
    if upload is None:
        if not form.errors:
            form.add_error("file", "Choose a CSV file to import.")
        return _imports_page(request, form, status=400)
    if upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        form.add_error(
            "file", f"The file is over the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; split it."
        )
        return _imports_page(request, form, status=400)
    try:
        content = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        form.add_error("file", "The file is not UTF-8 text.")
        return _imports_page(request, form, status=400)
    try:
        with transaction.atomic():
            job = import_create(
                actor=request.user,
                kind=ImportJob.Kind.CERTIFICATIONS,
                content=content,
                school=_school(request),
            )
            transaction.on_commit(lambda: run_import.delay(str(job.pk)))
    except DomainError as error:
        form.add_service_errors(error.errors)
        return _imports_page(request, form, status=400)
    messages.success(request, f"Import of {upload.name} queued.")
    return redirect("web:school-import", pk=job.pk)


def _report(job: ImportJob) -> list[dict[str, Any]]:
    """The refused rows, each with its reasons in words (a field problem names its column)."""
    rows = []
    for item in job.report or []:
        reasons = []
        for reason in item.get("reasons", []):
            field = reason.get("field")
            message = reason.get("message", "")
            reasons.append(
                {"code": reason.get("code", ""), "message": f"{field}: {message}" if field else message}
            )
        rows.append({"row": item.get("row"), "reasons": reasons})
    return rows


@require_safe
@school_staff_required
def import_detail(request: HttpRequest, pk) -> HttpResponse:
    """An import of the school and its report: rows, accepted, refused, and every refused
    line with its reasons. While it runs, HTMX refreshes the report (or the page is reloaded)."""
    job = get_object_or_404(_imports(_school(request)), pk=pk)
    context = {
        "school": _school(request),
        "job": job,
        "report": _report(job),
        "pending": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
        "checked_at": timezone.now(),
    }
    if getattr(request, "htmx", False):
        return render(request, "school/_import_report.html", context)
    return render(request, "school/import_detail.html", context)
