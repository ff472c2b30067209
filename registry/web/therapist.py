"""A therapist's own page: what they may treat now (their scope: protocols with the dates
their certificates hold, and the conditions those cover), what expires soon, their upcoming
bookings with the intake each needs, their safety record (what followed their sessions, per
protocol: counts only), and their certificates with the public page and PDF.

Only the therapist's own records show. An intake's conditions, screening and clearances show
only for bookings assigned to them (the assigned therapist reads the intake; nobody else's).
The scope is ``therapist_scope``'s (the engine's rules), the certificates
``certification_list``'s; dates are in UTC, a booking's times in its spa's timezone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from credentials.choices import CertificationStatus, LicenseStatus
from credentials.models import Certification, License, Therapist
from credentials.selectors import certification_list
from protocols.choices import BodyRegion, ScreeningAction
from protocols.models import Condition, Protocol, ScreeningQuestion
from registry.choices import ACTIVE_BOOKING_STATUSES, Role
from registry.events import certification_provisional
from registry.models import Booking, SessionCertification
from registry.selectors import safety_records, therapist_scope
from registry.web.auth import role_required
from registry.web.safety import with_periods

therapist_required = role_required(Role.THERAPIST)

# "Expires soon": within this many days.
EXPIRES_SOON_DAYS = 60
UPCOMING_LIMIT = 100
REGION_LABELS = dict(BodyRegion.choices)


def _protocol_rows(scope_protocols: list[str], active: list[Certification], soon: dt.datetime):
    """Each protocol of the scope with the certificates that hold it now and the last day it
    holds (the latest expiry among them)."""
    by_slug: dict[str, list[Certification]] = {}
    for certification in active:
        by_slug.setdefault(certification.protocol.slug, []).append(certification)
    names = dict(Protocol.objects.filter(slug__in=scope_protocols).values_list("slug", "name"))
    rows = []
    for slug in scope_protocols:
        holding = by_slug.get(slug, [])
        until = max((c.expires_at for c in holding), default=None)
        since = min((c.valid_from for c in holding), default=None)
        rows.append(
            {
                "slug": slug,
                "name": names.get(slug, slug),
                "valid_from": since,
                "expires_at": until,
                "expires_soon": until is not None and until <= soon,
            }
        )
    return rows


def _licences(therapist: Therapist, today: dt.date, soon_day: dt.date) -> list[dict[str, Any]]:
    return [
        {
            "license": licence,
            "active": licence.status == LicenseStatus.ACTIVE
            and licence.valid_from <= today <= licence.expires_on,
            "expires_soon": licence.status == LicenseStatus.ACTIVE
            and today <= licence.expires_on <= soon_day,
        }
        for licence in License.objects.filter(therapist=therapist).order_by(
            "jurisdiction", "expires_on", "id"
        )
    ]


def _bookings(therapist: Therapist, now: dt.datetime) -> list[Booking]:
    """The therapist's upcoming bookings that hold their time (confirmed, or waiting for the
    spa to reassign), each with its spa and intake: only theirs."""
    return list(
        Booking.objects.filter(
            therapist=therapist, end__gt=now, status__in=[s.value for s in ACTIVE_BOOKING_STATUSES]
        )
        .select_related("spa", "intake")
        .prefetch_related(Prefetch("intake__conditions", queryset=Condition.objects.order_by("code")))
        .order_by("start", "id")[:UPCOMING_LIMIT]
    )


def _intake_views(bookings: list[Booking]) -> None:
    """What each booking's intake says, in words: regions, red-flag answers given yes (with
    the physician's clearance where one was recorded) and the referral, if any."""
    codes: set[str] = set()
    for booking in bookings:
        intake = booking.intake
        codes |= {code for code, answer in (intake.screening or {}).items() if answer}
        codes |= set((intake.referral or {}).get("questions") or [])
    questions = {q.code: q for q in ScreeningQuestion.objects.filter(code__in=codes)}
    for booking in bookings:
        intake = booking.intake
        clearances = intake.clearances or {}
        flags = []
        for code, answer in sorted((intake.screening or {}).items()):
            if not answer:
                continue
            question = questions.get(code)
            clearance = clearances.get(code) or {}
            flags.append(
                {
                    "text": question.text if question else code,
                    "emergency": question is None or question.action == ScreeningAction.REFER_EMERGENCY,
                    "cleared_on": clearance.get("cleared_on"),
                    "cleared_by": clearance.get("cleared_by"),
                }
            )
        referral = intake.referral or None
        booking.view = {
            "regions": [
                REGION_LABELS.get(r, r)
                for r in dict.fromkeys(
                    [c.region for c in intake.conditions.all()] + list(intake.focus_regions)
                )
            ],
            "flags": flags,
            "referral": (
                {
                    "emergency": referral.get("action") != ScreeningAction.REFER_PHYSICIAN,
                    "questions": [
                        questions[c].text if c in questions else c for c in referral.get("questions") or []
                    ],
                }
                if referral
                else None
            ),
            "focus_region": REGION_LABELS.get(booking.focus_region or "", ""),
        }


@require_safe
@therapist_required
def home(request: HttpRequest) -> HttpResponse:
    """The therapist's page: scope, what expires soon, upcoming bookings, the safety record,
    certificates."""
    therapist = request.membership.therapist
    now = timezone.now()
    today = timezone.localdate(now)
    soon = now + dt.timedelta(days=EXPIRES_SOON_DAYS)
    scope = therapist_scope(therapist_id=therapist.pk, at=now)
    certificates = list(certification_list(therapist=therapist, at=now))
    active = [c for c in certificates if c.status == CertificationStatus.ACTIVE]
    protocols = _protocol_rows(scope.protocols, active, soon)
    licences = _licences(therapist, today, soon.date())
    conditions = list(Condition.objects.filter(code__in=scope.conditions).order_by("code"))
    bookings = _bookings(therapist, now)
    _intake_views(bookings)
    for certificate in certificates:
        # issue 23: "3 of 5 supervised sessions done" while the certification is provisional
        certificate.provisional = certification_provisional(certificate)
        certificate.supervised_shown = min(
            certificate.supervised_sessions_done, certificate.protocol.supervised_sessions
        )
        certificate.public_url = reverse("verify-certificate", args=[certificate.serial])
        certificate.pdf_url = reverse("verify-certificate-pdf", args=[certificate.serial])
    context = {
        "therapist": therapist,
        "today": today,
        "soon_days": EXPIRES_SOON_DAYS,
        "protocols": protocols,
        "conditions": conditions,
        "licences": licences,
        "has_active_licence": any(row["active"] for row in licences),
        "expiring": {
            "protocols": [row for row in protocols if row["expires_soon"]],
            "licences": [row for row in licences if row["expires_soon"]],
        },
        "bookings": bookings,
        "certificates": certificates,
        "safety": with_periods(
            safety_records(rows=SessionCertification.objects.filter(booking__therapist=therapist))
        ),
    }
    return render(request, "therapist/home.html", context)
