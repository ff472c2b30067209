"""Credential reads shared by the API, the admin and the pages, each in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from core.errors import field_error
from credentials.choices import CertificationStatus
from credentials.models import Certification, ClinicalExperience, Instructor, School, Therapist
from protocols.models import Protocol


def certification_status_q(*, status: str, at: dt.datetime) -> Q:
    """The certifications showing ``status`` at ``at``, mirroring ``Certification.status_at``:
    revocation wins over the window, then not yet valid, then expired."""
    revoked = Q(revoked_at__isnull=False, revoked_at__lte=at)
    if status == CertificationStatus.REVOKED:
        return revoked
    if status == CertificationStatus.NOT_YET_VALID:
        return ~revoked & Q(valid_from__gt=at)
    if status == CertificationStatus.EXPIRED:
        return ~revoked & Q(valid_from__lte=at, expires_at__lte=at)
    if status == CertificationStatus.ACTIVE:
        return ~revoked & Q(valid_from__lte=at, expires_at__gt=at)
    raise field_error("status", f"Unknown status {status!r}; one of {', '.join(CertificationStatus.values)}.")


def _status_annotation(at: dt.datetime) -> Case:
    return Case(
        When(revoked_at__lte=at, then=Value(CertificationStatus.REVOKED.value)),
        When(valid_from__gt=at, then=Value(CertificationStatus.NOT_YET_VALID.value)),
        When(expires_at__lte=at, then=Value(CertificationStatus.EXPIRED.value)),
        default=Value(CertificationStatus.ACTIVE.value),
    )


def certification_list(
    *,
    therapist: Therapist | None = None,
    school: School | None = None,
    protocol: Protocol | None = None,
    instructor: Instructor | None = None,
    status: str | None = None,
    review_required: bool | None = None,
    at: dt.datetime | None = None,
) -> QuerySet[Certification]:
    """Certifications, newest issue first, each annotated with ``status`` as seen at ``at``
    (default now). Evaluating it costs two queries whatever its length: the rows with their
    therapist, protocol, school and instructor, and their module completions."""
    at = at or timezone.now()
    queryset = (
        Certification.objects.select_related("therapist", "protocol", "school", "instructor")
        .prefetch_related("modules")
        .annotate(status=_status_annotation(at))
        .order_by("-issued_at", "id")
    )
    if therapist is not None:
        queryset = queryset.filter(therapist=therapist)
    if school is not None:
        queryset = queryset.filter(school=school)
    if protocol is not None:
        queryset = queryset.filter(protocol=protocol)
    if instructor is not None:
        queryset = queryset.filter(instructor=instructor)
    if status:
        queryset = queryset.filter(certification_status_q(status=status, at=at))
    if review_required is not None:
        queryset = queryset.filter(review_required=review_required)
    return queryset


def certification_by_serial(*, serial: str, at: dt.datetime | None = None) -> Certification | None:
    """The certification with this serial (status annotated as at ``at``), or None. Two queries."""
    return certification_list(at=at).filter(serial=serial).first()


def qualifying_experience(
    *, instructor: Instructor, protocol: Protocol, on: dt.date
) -> QuerySet[ClinicalExperience]:
    """Experience that qualifies ``instructor`` to teach ``protocol`` on ``on``: verified in that
    protocol from ``on`` or earlier, not withdrawn, meeting the protocol's minimum years and
    cases."""
    return ClinicalExperience.objects.filter(
        instructor=instructor,
        protocol=protocol,
        withdrawn_at__isnull=True,
        verified_on__lte=on,
        years__gte=protocol.min_instructor_years,
        cases__gte=protocol.min_instructor_cases,
    )


def instructors_qualified_protocols(
    *, instructors: list[Instructor], on: dt.date
) -> dict[Any, list[Protocol]]:
    """``instructor_qualified_protocols`` for many instructors (a roster page): instructor id ->
    the protocols they may teach on ``on``, by slug. One query whatever their number."""
    qualified: dict[Any, list[Protocol]] = {instructor.pk: [] for instructor in instructors}
    experience = (
        ClinicalExperience.objects.filter(
            instructor__in=[i.pk for i in instructors],
            withdrawn_at__isnull=True,
            verified_on__lte=on,
            years__gte=F("protocol__min_instructor_years"),
            cases__gte=F("protocol__min_instructor_cases"),
        )
        .select_related("protocol")
        .order_by("instructor_id", "protocol__slug", "protocol_id")
    )
    for item in experience:
        protocols = qualified[item.instructor_id]
        if not protocols or protocols[-1].pk != item.protocol_id:  # one per protocol
            protocols.append(item.protocol)
    return qualified


def instructor_qualified_protocols(*, instructor: Instructor, on: dt.date) -> list[Protocol]:
    """The protocols ``instructor`` may teach on ``on`` (see ``qualifying_experience``), by slug.
    One query."""
    experience = ClinicalExperience.objects.filter(
        instructor=instructor,
        withdrawn_at__isnull=True,
        verified_on__lte=on,
        years__gte=F("protocol__min_instructor_years"),
        cases__gte=F("protocol__min_instructor_cases"),
    ).values("protocol_id")
    return list(Protocol.objects.filter(id__in=experience).order_by("slug"))
