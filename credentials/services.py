"""Credential writes: every change with a rule. Each function is one transaction that also
writes one audit event per changed object (invariant 4).

A refused issuance is a result (``IssuanceOutcome`` with reasons), not an exception;
``DomainError`` is for input that cannot be processed at all, ``Conflict`` for a request that
clashes with the current state (revoking twice, withdrawing twice).

Licence changes and revocations here do not re-check bookings: ``registry.services`` wraps
them and re-checks in the same transaction (invariant 5). Withdrawing an instructor's
experience or a school's authorisation never revokes certificates; it flags the ones it
underpinned for registry review.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.db import insert_many
from core.errors import Conflict, DomainError, field_error
from core.models import User
from core.services import audit_record, audit_record_many
from credentials.choices import IssuanceReasonCode, LicenseStatus
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    ModuleCompletion,
    School,
    SchoolAuthorization,
    Therapist,
)
from credentials.selectors import qualifying_experience
from credentials.vc.status_list import status_list_allocate, status_list_allocate_many, status_list_revoke
from protocols.choices import ModuleKind
from protocols.models import Protocol

JURISDICTION_RE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")  # ISO 3166-2, e.g. US-CA


# --- outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuanceReason:
    """One rule of invariant 3 the request fails, in words a school office understands."""

    code: IssuanceReasonCode
    message: str
    protocols: tuple[str, ...] = ()
    module: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.protocols:
            data["protocols"] = list(self.protocols)
        if self.module is not None:
            data["module"] = self.module
        return data


@dataclass(frozen=True)
class IssuanceOutcome:
    """The certification issued (and no reasons), or None with every rule that failed."""

    certification: Certification | None
    reasons: list[IssuanceReason]

    @property
    def issued(self) -> bool:
        return self.certification is not None


class LicenseChange(NamedTuple):
    """The changed licence, and whether it now permits less than before (status away from
    active, or an earlier expiry): then the bookings resting on it must be re-checked.
    A named tuple, so ``license, less_permissive = license_change(...)`` reads naturally."""

    license: License
    less_permissive: bool


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawn fact a certificate rested on when issued — an instructor's verified clinical
    experience, or a school's authorisation — and the certifications it underpinned, now
    flagged for registry review (not revoked)."""

    withdrawn: ClinicalExperience | SchoolAuthorization
    flagged: list[Certification]


# --- small input checks -----------------------------------------------------------------------


def _user(actor: User | None) -> User | None:
    return actor if actor is not None and actor.pk else None


def _text(field: str, value: Any, *, max_length: int | None = None, label: str | None = None) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise field_error(field, f"This field is required: {label or field}.")
    if max_length is not None and len(text) > max_length:
        raise field_error(field, f"At most {max_length} characters.")
    return text


def _email(field: str, value: Any) -> str:
    email = value.strip() if isinstance(value, str) else ""
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise field_error(field, "Enter a valid e-mail address.") from None
    return email


def _date(field: str, value: Any) -> dt.date:
    # A datetime is a date too; a date field must not silently take one.
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise field_error(field, "Give a date (YYYY-MM-DD).")
    return value


def _aware(field: str, value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise field_error(field, "Give a date and time.")
    if timezone.is_naive(value):
        raise field_error(field, "Give the time with its UTC offset.")
    return value


def _count(field: str, value: Any, *, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise field_error(field, f"Give a whole number from 0 to {maximum}.")
    return value


# --- therapists and licences ----------------------------------------------------------------


@transaction.atomic
def therapist_create(*, actor: User | None, name: str, email: str = "") -> Therapist:
    """A therapist is known to the registry by a non-blank name (and optionally an e-mail)."""
    therapist = Therapist.objects.create(**_therapist_fields(name=name, email=email))
    audit_record(
        actor=actor,
        action="therapist.created",
        obj=therapist,
        after={"name": therapist.name, "email": therapist.email},
    )
    return therapist


def _therapist_fields(*, name: Any, email: Any) -> dict[str, str]:
    """A new therapist's fields, cleaned; the first that is wrong raises (``DomainError``)."""
    return {"name": _text("name", name, max_length=200), "email": _email("email", email)}


@transaction.atomic
def therapist_update(
    *, actor: User | None, therapist: Therapist, name: str | None = None, email: str | None = None
) -> Therapist:
    """Correct a therapist's name or e-mail (same rules as creating). No change: no event."""
    current = Therapist.objects.select_for_update().get(pk=therapist.pk)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _text("name", name, max_length=200)
    if email is not None:
        changes["email"] = _email("email", email)
    changes = {field: value for field, value in changes.items() if getattr(current, field) != value}
    if not changes:
        return current
    before = {field: getattr(current, field) for field in changes}
    for field, value in changes.items():
        setattr(current, field, value)
    current.save(update_fields=list(changes))
    audit_record(actor=actor, action="therapist.updated", obj=current, before=before, after=changes)
    return current


def _license_snapshot(license: License) -> dict[str, Any]:
    return {
        "therapist": str(license.therapist_id),
        "jurisdiction": license.jurisdiction,
        "number": license.number,
        "status": license.status,
        "valid_from": license.valid_from,
        "expires_on": license.expires_on,
    }


def _license_status(field: str, value: Any) -> str:
    if value not in LicenseStatus.values:
        raise field_error(field, f"Unknown licence status; one of {', '.join(LicenseStatus.values)}.")
    return str(value)


@transaction.atomic
def license_create(
    *,
    actor: User | None,
    therapist: Therapist,
    jurisdiction: str,
    number: str,
    status: str,
    valid_from: dt.date,
    expires_on: dt.date,
) -> License:
    """A licence to practise in one ISO 3166-2 jurisdiction, over the inclusive dates
    ``[valid_from, expires_on]``; its number is unique in its jurisdiction."""
    fields = _license_fields(
        jurisdiction=jurisdiction, number=number, status=status, valid_from=valid_from, expires_on=expires_on
    )
    jurisdiction, number, status = fields["jurisdiction"], fields["number"], fields["status"]
    valid_from, expires_on = fields["valid_from"], fields["expires_on"]
    duplicate = _duplicate_licence()
    if License.objects.filter(jurisdiction=jurisdiction, number=number).exists():
        raise duplicate
    try:
        with transaction.atomic():  # a concurrent insert of the same number loses here
            license = License.objects.create(
                therapist=therapist,
                jurisdiction=jurisdiction,
                number=number,
                status=status,
                valid_from=valid_from,
                expires_on=expires_on,
            )
    except IntegrityError:
        raise duplicate from None
    audit_record(actor=actor, action="license.created", obj=license, after=_license_snapshot(license))
    return license


def _license_fields(*, jurisdiction: Any, number: Any, status: Any, valid_from: Any, expires_on: Any) -> dict:
    """A new licence's fields, cleaned, in the order ``license_create`` checks them; the first
    that is wrong raises (``DomainError``). Uniqueness is checked by the caller."""
    jurisdiction = _text("jurisdiction", jurisdiction).upper()
    if not JURISDICTION_RE.match(jurisdiction):
        raise field_error("jurisdiction", "Give an ISO 3166-2 subdivision code such as US-CA.")
    number = _text("number", number, max_length=60, label="licence number")
    status = _license_status("status", status)
    valid_from = _date("valid_from", valid_from)
    expires_on = _date("expires_on", expires_on)
    if expires_on < valid_from:
        raise field_error("expires_on", "A licence cannot expire before it is valid.")
    return {
        "jurisdiction": jurisdiction,
        "number": number,
        "status": status,
        "valid_from": valid_from,
        "expires_on": expires_on,
    }


def _duplicate_licence() -> DomainError:
    return field_error("number", "A licence with this number exists in this jurisdiction.")


class TherapistWithLicence(NamedTuple):
    """One therapist and their first licence, as ``therapists_with_licences_create`` takes them
    (the arguments of ``therapist_create`` and ``license_create``)."""

    name: Any
    email: Any
    jurisdiction: Any
    number: Any
    status: Any
    valid_from: Any
    expires_on: Any


@transaction.atomic
def therapists_with_licences_create(
    *, actor: User | None, rows: Sequence[TherapistWithLicence]
) -> list[DomainError | None]:
    """``therapist_create`` then ``license_create`` for each row, in bulk (an import's chunk):
    the same rules, each row refused with the error those services would raise first (the
    therapist's fields, then the licence's, then a number already held in the jurisdiction,
    by the registry or by an earlier row); the accepted rows written in one INSERT each for
    therapists, licences and their audit events. Returns, per row, ``None`` (created) or its
    error. A concurrent insert of the same number fails the whole call (``IntegrityError``):
    the caller then goes row by row."""
    outcome: list[DomainError | None] = []
    cleaned: list[tuple[int, dict[str, str], dict[str, Any]]] = []
    for index, row in enumerate(rows):
        try:
            therapist = _therapist_fields(name=row.name, email=row.email)
            licence = _license_fields(
                jurisdiction=row.jurisdiction,
                number=row.number,
                status=row.status,
                valid_from=row.valid_from,
                expires_on=row.expires_on,
            )
        except DomainError as error:
            outcome.append(error)
            continue
        outcome.append(None)
        cleaned.append((index, therapist, licence))
    held = _licence_numbers_held({(lic["jurisdiction"], lic["number"]) for _, _, lic in cleaned})
    therapists: list[Therapist] = []
    licences: list[License] = []
    for index, therapist_fields, licence_fields in cleaned:
        key = (licence_fields["jurisdiction"], licence_fields["number"])
        if key in held:
            outcome[index] = _duplicate_licence()
            continue
        held.add(key)
        therapist = Therapist(**therapist_fields)
        therapists.append(therapist)
        licences.append(License(therapist=therapist, **licence_fields))
    insert_many(therapists)
    insert_many(licences)
    audit_record_many(
        actor=actor,
        events=[
            event
            for therapist, licence in zip(therapists, licences, strict=True)
            for event in (
                ("therapist.created", therapist, None, {"name": therapist.name, "email": therapist.email}),
                ("license.created", licence, None, _license_snapshot(licence)),
            )
        ],
    )
    return outcome


def _licence_numbers_held(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (jurisdiction, number) pairs a licence already holds: one query."""
    if not keys:
        return set()
    query = Q()
    for jurisdiction in {j for j, _ in keys}:
        query |= Q(jurisdiction=jurisdiction, number__in=[n for j, n in keys if j == jurisdiction])
    return set(License.objects.filter(query).values_list("jurisdiction", "number"))


@transaction.atomic
def license_change(
    *,
    actor: User | None,
    license: License,
    status: str | None = None,
    expires_on: dt.date | None = None,
    reason: str,
) -> LicenseChange:
    """Change a licence's status or expiry (a renewal moves ``expires_on``), with a reason.
    The result says whether the licence now permits less (status away from active, or an
    earlier expiry): the registry layer then re-checks the bookings resting on it. The
    therapist row is locked, so an issuance deciding on this licence waits for the change."""
    reason = _text("reason", reason)
    if status is None and expires_on is None:
        raise DomainError(
            "Give a new status or expiry date.",
            errors={"status": ["Give a new status or expiry date."]},
        )
    if status is not None:
        status = _license_status("status", status)
    if expires_on is not None:
        expires_on = _date("expires_on", expires_on)
    Therapist.objects.select_for_update().filter(pk=license.therapist_id).first()
    current = License.objects.select_for_update().get(pk=license.pk)
    new_status = current.status if status is None else status
    new_expires_on = current.expires_on if expires_on is None else expires_on
    if new_expires_on < current.valid_from:
        raise field_error("expires_on", "A licence cannot expire before it is valid.")
    if new_status == current.status and new_expires_on == current.expires_on:
        return LicenseChange(license=current, less_permissive=False)
    less_permissive = (
        current.status == LicenseStatus.ACTIVE and new_status != LicenseStatus.ACTIVE
    ) or new_expires_on < current.expires_on
    before = {"status": current.status, "expires_on": current.expires_on}
    current.status = new_status
    current.expires_on = new_expires_on
    current.save(update_fields=["status", "expires_on"])
    audit_record(
        actor=actor,
        action="license.changed",
        obj=current,
        before=before,
        after={"status": current.status, "expires_on": current.expires_on},
        reason=reason,
    )
    return LicenseChange(license=current, less_permissive=less_permissive)


@transaction.atomic
def license_verify(*, actor: User | None, license: License, source: str, at: dt.datetime) -> License:
    """Record that the licence was checked at the primary source (a licensing board's roster)
    at ``at``: its status and expiry there are the registry's now (change them first, through
    ``license_change``). Names the source; audited."""
    source = _text("verified_source", source, max_length=200, label="verification source")
    at = _aware("verified_at", at)
    current = License.objects.select_for_update().get(pk=license.pk)
    before = {"verified_at": current.verified_at, "verified_source": current.verified_source}
    current.verified_at = at
    current.verified_source = source
    current.save(update_fields=["verified_at", "verified_source"])
    audit_record(
        actor=actor,
        action="license.verified",
        obj=current,
        before=before,
        after={"verified_at": at, "verified_source": source},
    )
    return current


# --- schools and instructors ----------------------------------------------------------------


@transaction.atomic
def school_create(*, actor: User | None, name: str, jurisdiction: str, contact_email: str = "") -> School:
    """A school, by a unique name, in one ISO 3166-2 jurisdiction. It certifies nothing until
    the registry authorises it for a protocol."""
    name = _text("name", name, max_length=200)
    jurisdiction = _text("jurisdiction", jurisdiction).upper()
    if not JURISDICTION_RE.match(jurisdiction):
        raise field_error("jurisdiction", "Give an ISO 3166-2 subdivision code such as US-CA.")
    contact_email = _email("contact_email", contact_email)
    duplicate = field_error("name", "A school with this name exists.")
    if School.objects.filter(name=name).exists():
        raise duplicate
    try:
        with transaction.atomic():
            school = School.objects.create(name=name, jurisdiction=jurisdiction, contact_email=contact_email)
    except IntegrityError:
        raise duplicate from None
    audit_record(
        actor=actor,
        action="school.created",
        obj=school,
        after={"name": name, "jurisdiction": jurisdiction, "contact_email": contact_email},
    )
    return school


@transaction.atomic
def instructor_create(*, actor: User | None, name: str, schools: Iterable[School] = ()) -> Instructor:
    """An instructor on the rosters of ``schools``. They may teach a protocol only once the
    registry verifies their clinical experience in it."""
    schools = list(schools)
    instructor = Instructor.objects.create(name=_text("name", name, max_length=200))
    instructor.schools.set(schools)
    audit_record(
        actor=actor,
        action="instructor.created",
        obj=instructor,
        after={"name": instructor.name, "schools": sorted(str(s.pk) for s in schools)},
    )
    return instructor


@transaction.atomic
def instructor_add_school(*, actor: User | None, instructor: Instructor, school: School) -> Instructor:
    """Put an instructor on a school's roster. Already there: nothing changes (no event)."""
    if instructor.schools.filter(pk=school.pk).exists():
        return instructor
    instructor.schools.add(school)
    audit_record(
        actor=actor,
        action="instructor.school_added",
        obj=instructor,
        after={"school": str(school.pk)},
    )
    return instructor


@transaction.atomic
def instructor_remove_school(*, actor: User | None, instructor: Instructor, school: School) -> Instructor:
    """Take an instructor off a school's roster: the school can no longer certify what they
    teach. Certificates already issued are untouched. Not there: nothing changes (no event)."""
    if not instructor.schools.filter(pk=school.pk).exists():
        return instructor
    instructor.schools.remove(school)
    audit_record(
        actor=actor,
        action="instructor.school_removed",
        obj=instructor,
        before={"school": str(school.pk)},
    )
    return instructor


# --- authorisations and clinical experience -------------------------------------------------


@transaction.atomic
def school_authorization_grant(
    *, actor: User | None, school: School, protocol: Protocol, at: dt.datetime | None = None
) -> SchoolAuthorization:
    """Authorise a school to certify a protocol from ``at`` (default now). A school holds at
    most one open authorisation per protocol: granting it again is a conflict."""
    granted_at = timezone.now() if at is None else _aware("at", at)
    School.objects.select_for_update().filter(pk=school.pk).first()  # serialise grants
    if SchoolAuthorization.objects.filter(
        school=school, protocol=protocol, withdrawn_at__isnull=True
    ).exists():
        raise Conflict(f"{school.name} is already authorised for {protocol.name}.")
    authorization = SchoolAuthorization.objects.create(
        school=school, protocol=protocol, granted_at=granted_at, granted_by=_user(actor)
    )
    audit_record(
        actor=actor,
        action="school_authorization.granted",
        obj=authorization,
        after={
            "school": str(school.pk),
            "protocol": protocol.slug,
            "granted_at": granted_at,
        },
    )
    return authorization


def _flag_for_review(
    *, actor: User | None, certifications: QuerySet[Certification], review_reason: str
) -> list[Certification]:
    """Flag each certification for registry review (one audit event each)."""
    flagged = list(certifications.select_for_update().order_by("pk"))
    for certification in flagged:
        before = {
            "review_required": certification.review_required,
            "review_reason": certification.review_reason,
            "reviewed_at": certification.reviewed_at,
        }
        # Still flagged from an earlier withdrawal: the review now has both reasons to weigh.
        if certification.review_required and certification.review_reason:
            certification.review_reason = f"{certification.review_reason}\n{review_reason}"
        else:
            certification.review_reason = review_reason
        certification.review_required = True
        # A new flag asks for a new review: the last one no longer answers it.
        certification.reviewed_at = None
        certification.reviewed_by = None
        certification.save(update_fields=["review_required", "review_reason", "reviewed_at", "reviewed_by"])
        audit_record(
            actor=actor,
            action="certification.review_required",
            obj=certification,
            before=before,
            after={"review_required": True, "review_reason": certification.review_reason},
            reason=review_reason,
        )
    return flagged


def _withdraw(
    *,
    actor: User | None,
    current: ClinicalExperience | SchoolAuthorization,
    what: str,
    withdrawn_at: dt.datetime,
    reason: str,
    action: str,
    underpinned: QuerySet[Certification],
    review_reason: str,
) -> Withdrawal:
    """The one shape of a withdrawal: the fact (locked by the caller) withdrawn from
    ``withdrawn_at`` with who and why, audited, and the certificates it underpinned flagged."""
    if current.withdrawn_at is not None:
        raise Conflict(f"This {what} is already withdrawn.")
    current.withdrawn_at = withdrawn_at
    current.withdrawn_by = _user(actor)
    current.withdrawn_reason = reason
    current.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    audit_record(
        actor=actor,
        action=action,
        obj=current,
        before={"withdrawn_at": None},
        after={"withdrawn_at": current.withdrawn_at},
        reason=reason,
    )
    flagged = _flag_for_review(actor=actor, certifications=underpinned, review_reason=review_reason)
    return Withdrawal(withdrawn=current, flagged=flagged)


@transaction.atomic
def certifications_flag_for_review(
    *, actor: User | None, certifications: Iterable[Certification], reason: str
) -> list[Certification]:
    """Flag certifications for registry review, e.g. after a serious adverse event on a session
    that rested on them. They keep counting until registry staff keep or revoke them; one audit
    event each. A revoked certification is not flagged: nothing is left to review."""
    reason = _text("reason", reason)
    ids = [c.pk for c in certifications]
    return _flag_for_review(
        actor=actor,
        certifications=Certification.objects.filter(pk__in=ids, revoked_at__isnull=True),
        review_reason=reason,
    )


@transaction.atomic
def school_authorization_withdraw(
    *, actor: User | None, authorization: SchoolAuthorization, reason: str
) -> Withdrawal:
    """Withdraw a school's authorisation for a protocol from now. Certificates already issued
    stay valid: the school's certifications of that protocol issued at or after the grant (and
    not revoked) are flagged for registry review and returned."""
    reason = _text("reason", reason)
    current = (
        SchoolAuthorization.objects.select_for_update(of=("self",))
        .select_related("school", "protocol")
        .get(pk=authorization.pk)
    )
    return _withdraw(
        actor=actor,
        current=current,
        what="authorisation",
        # A grant dated in the future is withdrawn before it ever took effect.
        withdrawn_at=max(timezone.now(), current.granted_at),
        reason=reason,
        action="school_authorization.withdrawn",
        underpinned=Certification.objects.filter(
            school_id=current.school_id,
            protocol_id=current.protocol_id,
            issued_at__gte=current.granted_at,
            revoked_at__isnull=True,
        ),
        review_reason=(
            f"{current.school.name}'s authorisation for {current.protocol.name} was withdrawn: {reason}"
        ),
    )


@transaction.atomic
def clinical_experience_verify(
    *,
    actor: User | None,
    instructor: Instructor,
    protocol: Protocol,
    years: int,
    cases: int,
    evidence: str,
    verified_on: dt.date | None = None,
) -> ClinicalExperience:
    """The registry attests that an instructor has ``years`` and ``cases`` of clinical
    experience performing ``protocol``, held from ``verified_on`` (today or earlier; default
    today). Whether it suffices to teach is decided against the protocol's minimums."""
    years = _count("years", years, maximum=32767)
    cases = _count("cases", cases, maximum=2147483647)
    evidence = _text("evidence", evidence)
    today = timezone.localdate()
    verified_on = today if verified_on is None else _date("verified_on", verified_on)
    if verified_on > today:
        raise field_error("verified_on", "Experience cannot be attested from a future date.")
    experience = ClinicalExperience.objects.create(
        instructor=instructor,
        protocol=protocol,
        years=years,
        cases=cases,
        evidence=evidence,
        verified_on=verified_on,
        verified_at=timezone.now(),
        verified_by=_user(actor),
    )
    audit_record(
        actor=actor,
        action="clinical_experience.verified",
        obj=experience,
        after={
            "instructor": str(instructor.pk),
            "protocol": protocol.slug,
            "years": years,
            "cases": cases,
            "verified_on": verified_on,
        },
    )
    return experience


@transaction.atomic
def clinical_experience_withdraw(
    *, actor: User | None, experience: ClinicalExperience, reason: str
) -> Withdrawal:
    """Withdraw a verification of clinical experience from now. Certificates already issued
    stay valid: those the instructor taught for that protocol on or after the experience's
    ``verified_on`` (and not revoked) are flagged for registry review and returned."""
    reason = _text("reason", reason)
    current = (
        ClinicalExperience.objects.select_for_update(of=("self",))
        .select_related("instructor", "protocol")
        .get(pk=experience.pk)
    )
    return _withdraw(
        actor=actor,
        current=current,
        what="clinical experience",
        withdrawn_at=timezone.now(),
        reason=reason,
        action="clinical_experience.withdrawn",
        underpinned=Certification.objects.filter(
            instructor_id=current.instructor_id,
            protocol_id=current.protocol_id,
            taught_on__gte=current.verified_on,
            revoked_at__isnull=True,
        ),
        review_reason=(
            f"{current.instructor.name}'s verified experience in {current.protocol.name} "
            f"was withdrawn: {reason}"
        ),
    )


# --- certifications -------------------------------------------------------------------------


@dataclass(frozen=True)
class _ModuleInput:
    kind: str
    completed_on: dt.date
    hours: Decimal
    assessment_passed: bool


def _parse_modules(
    modules: Sequence[Mapping[str, Any]], *, issue_date: dt.date, errors: dict[str, list[str]]
) -> dict[str, _ModuleInput]:
    """The completions by kind; problems go to ``errors`` under dotted paths (``modules.0.hours``)."""
    parsed: dict[str, _ModuleInput] = {}
    if not isinstance(modules, Sequence) or isinstance(modules, str | bytes):
        errors["modules"] = ["Give a list of module completions."]
        return parsed
    for index, item in enumerate(modules):
        path = f"modules.{index}"

        def fail(key: str, message: str, path: str = path) -> None:
            errors.setdefault(f"{path}.{key}", []).append(message)

        if not isinstance(item, Mapping):
            errors[path] = ["Give kind, completed_on, hours and assessment_passed."]
            continue
        kind = item.get("kind")
        if kind not in ModuleKind.values:
            fail("kind", f"Unknown module kind; one of {', '.join(ModuleKind.values)}.")
        elif kind in parsed:
            fail("kind", f"The {kind} module is given twice.")
        completed_on = item.get("completed_on")
        if not isinstance(completed_on, dt.date) or isinstance(completed_on, dt.datetime):
            fail("completed_on", "Give the date the module was completed (YYYY-MM-DD).")
        elif completed_on > issue_date:
            fail("completed_on", "A module cannot be completed after the certificate is issued.")
        raw_hours = item.get("hours")
        hours: Decimal | None = None
        if isinstance(raw_hours, bool) or raw_hours is None:
            fail("hours", "Give the hours completed.")
        else:
            try:
                hours = Decimal(str(raw_hours))
            except InvalidOperation:
                fail("hours", "Give the hours completed as a number.")
            else:
                if not hours.is_finite() or hours < 0 or hours >= Decimal("10000"):
                    fail("hours", "Give the hours completed, from 0 to 9999.99.")
                    hours = None
                elif hours != hours.quantize(Decimal("0.01")):
                    fail("hours", "Give hours to at most two decimal places.")
                    hours = None
        passed = item.get("assessment_passed")
        if not isinstance(passed, bool):
            fail("assessment_passed", "Say whether the assessment was passed (true or false).")
        if (
            kind in ModuleKind.values
            and kind not in parsed
            and isinstance(completed_on, dt.date)
            and hours is not None
            and isinstance(passed, bool)
            and not any(key.startswith(f"{path}.") for key in errors)
        ):
            parsed[kind] = _ModuleInput(kind, completed_on, hours, passed)
    return parsed


def _not_authorised(school: School, protocol: Protocol, now: dt.datetime) -> IssuanceReason:
    return IssuanceReason(
        IssuanceReasonCode.SCHOOL_NOT_AUTHORIZED,
        f"{school.name} is not authorised by the registry to certify {protocol.name} "
        f"on {timezone.localdate(now).isoformat()}.",
        protocols=(protocol.slug,),
    )


def _not_at_school(instructor: Instructor, school: School) -> IssuanceReason:
    return IssuanceReason(
        IssuanceReasonCode.INSTRUCTOR_NOT_AT_SCHOOL,
        f"{instructor.name} is not on {school.name}'s list of instructors.",
    )


def _not_qualified(instructor: Instructor, protocol: Protocol, taught_on: dt.date) -> IssuanceReason:
    return IssuanceReason(
        IssuanceReasonCode.INSTRUCTOR_NOT_QUALIFIED,
        f"{instructor.name} had no verified clinical experience in {protocol.name} on "
        f"{taught_on.isoformat()}, the day it was taught (the protocol asks for at least "
        f"{protocol.min_instructor_years} years and {protocol.min_instructor_cases} cases).",
        protocols=(protocol.slug,),
    )


def _prerequisite_missing(protocol: Protocol, prerequisite: Protocol) -> IssuanceReason:
    return IssuanceReason(
        IssuanceReasonCode.PREREQUISITE_MISSING,
        f"{protocol.name} requires a valid certification in {prerequisite.name} first.",
        protocols=(prerequisite.slug,),
    )


def _check_school(
    *, school: School, protocol: Protocol, now: dt.datetime
) -> tuple[list[IssuanceReason], list[SchoolAuthorization]]:
    # Locked: a withdrawal waits for this issuance (and then flags what it issued), or this
    # issuance waits for the withdrawal and sees the authorisation closed.
    open_authorizations = list(
        SchoolAuthorization.objects.select_for_update()
        .filter(school=school, protocol=protocol, granted_at__lte=now)
        .filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=now))
        .order_by("pk")
    )
    if open_authorizations:
        return [], open_authorizations
    return [_not_authorised(school, protocol, now)], []


def _check_instructor(
    *, instructor: Instructor, school: School, protocol: Protocol, taught_on: dt.date
) -> list[IssuanceReason]:
    reasons: list[IssuanceReason] = []
    if not instructor.schools.filter(pk=school.pk).exists():
        reasons.append(_not_at_school(instructor, school))
    experience = qualifying_experience(instructor=instructor, protocol=protocol, on=taught_on)
    if not list(experience.select_for_update().order_by("pk")):
        reasons.append(_not_qualified(instructor, protocol, taught_on))
    return reasons


def _check_license(*, therapist: Therapist, on: dt.date) -> list[IssuanceReason]:
    return _licence_reasons(therapist, list(License.objects.filter(therapist=therapist)), on)


def _check_prerequisites(
    *, therapist: Therapist, protocol: Protocol, now: dt.datetime
) -> list[IssuanceReason]:
    prerequisites = list(protocol.prerequisites.order_by("slug"))
    if not prerequisites:
        return []
    held = {
        certification.protocol_id
        for certification in Certification.objects.select_for_update()
        .filter(therapist=therapist, protocol__in=prerequisites, valid_from__lte=now, expires_at__gt=now)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=now))
        .order_by("pk")
    }
    return [
        _prerequisite_missing(protocol, prerequisite)
        for prerequisite in prerequisites
        if prerequisite.pk not in held
    ]


def _check_modules(*, protocol: Protocol, completions: dict[str, _ModuleInput]) -> list[IssuanceReason]:
    reasons: list[IssuanceReason] = []
    for module in sorted(protocol.modules.all(), key=lambda m: ModuleKind.values.index(m.kind)):
        label = ModuleKind(module.kind).label
        completion = completions.get(module.kind)
        if completion is None:
            problems = ["was not completed"]
        else:
            problems = []
            if not completion.assessment_passed:
                problems.append("its assessment was not passed")
            if completion.hours < module.min_hours:
                problems.append(
                    f"{completion.hours.normalize():f} hours were completed, "
                    f"{module.min_hours.normalize():f} are required"
                )
        if problems:
            reasons.append(
                IssuanceReason(
                    IssuanceReasonCode.MODULE_INCOMPLETE,
                    f'The "{label}" module ({module.kind}) is incomplete: {"; ".join(problems)}.',
                    module=module.kind,
                )
            )
    return reasons


@transaction.atomic
def certification_issue(
    *,
    actor: User | None,
    therapist: Therapist,
    protocol: Protocol,
    school: School,
    instructor: Instructor,
    taught_on: dt.date,
    valid_from: dt.datetime | None = None,
    modules: Sequence[Mapping[str, Any]],
    now: dt.datetime | None = None,
) -> IssuanceOutcome:
    """Issue a certification only if (invariant 3): the school is authorised for the protocol
    at the issue time; the instructor is on the school's roster and qualified for the protocol
    on the teaching date; the therapist holds a licence active on the issue date (any
    jurisdiction); every prerequisite protocol is held as a currently valid certification;
    every module was completed with its minimum hours and a passed assessment.

    Refused: nothing is written and the outcome carries every failed rule. The therapist row,
    the open authorisation, the qualifying experience and the prerequisite certifications are
    locked, so a concurrent licence change, withdrawal or revocation cannot slip between the
    check and the insert. Dates (issue date) are read in the project's time zone."""
    errors: dict[str, list[str]] = {}
    now = timezone.now() if now is None else _aware("now", now)
    issue_date = timezone.localdate(now)
    if valid_from is None:
        valid_from = now
    elif not isinstance(valid_from, dt.datetime) or timezone.is_naive(valid_from):
        errors["valid_from"] = ["Give the date and time the certificate becomes valid, with its UTC offset."]
    if not isinstance(taught_on, dt.date) or isinstance(taught_on, dt.datetime):
        errors["taught_on"] = ["Give the date the protocol was taught (YYYY-MM-DD)."]
    elif taught_on > issue_date:
        errors["taught_on"] = ["A certificate cannot be issued for teaching that has not happened yet."]
    completions = _parse_modules(modules, issue_date=issue_date, errors=errors)
    if errors:
        raise DomainError("The certification request cannot be processed.", errors=errors)

    therapist = Therapist.objects.select_for_update().get(pk=therapist.pk)
    protocol = Protocol.objects.prefetch_related("modules").get(pk=protocol.pk)
    reasons, _authorizations = _check_school(school=school, protocol=protocol, now=now)
    reasons += _check_instructor(instructor=instructor, school=school, protocol=protocol, taught_on=taught_on)
    reasons += _check_license(therapist=therapist, on=issue_date)
    reasons += _check_prerequisites(therapist=therapist, protocol=protocol, now=now)
    reasons += _check_modules(protocol=protocol, completions=completions)
    if reasons:
        return IssuanceOutcome(certification=None, reasons=reasons)

    status_list, status_index = status_list_allocate()  # in the INSERT: the row is append-only
    certification = Certification.objects.create(
        status_list=status_list,
        status_index=status_index,
        serial=Certification.new_serial(),
        therapist=therapist,
        protocol=protocol,
        school=school,
        instructor=instructor,
        taught_on=taught_on,
        valid_from=valid_from,
        expires_at=valid_from + relativedelta(months=protocol.validity_months),
        issued_at=now,
        issued_by=_user(actor),
    )
    ModuleCompletion.objects.bulk_create(
        ModuleCompletion(
            certification=certification,
            kind=completion.kind,
            completed_on=completion.completed_on,
            hours=completion.hours,
            assessment_passed=completion.assessment_passed,
        )
        for completion in completions.values()
    )
    audit_record(
        actor=actor,
        action="certification.issued",
        obj=certification,
        after=_issued_record(certification, completions),
    )
    return IssuanceOutcome(certification=certification, reasons=[])


class IssueRequest(NamedTuple):
    """One certificate a school asks for, as ``certifications_issue_many`` takes them (the
    arguments of ``certification_issue``; the school is the batch's)."""

    therapist: Therapist
    protocol: Protocol
    instructor: Instructor
    taught_on: Any
    modules: Sequence[Mapping[str, Any]]


@transaction.atomic
def certifications_issue_many(
    *, actor: User | None, school: School, requests: Sequence[IssueRequest], now: dt.datetime | None = None
) -> list[IssuanceOutcome | DomainError]:
    """``certification_issue`` for many requests of one school (an import's chunk), in order,
    with the same rules (invariant 3) and the same reasons per request — an earlier request's
    certificate counts as a prerequisite for a later one, as it would one by one — but the
    rows each rule reads loaded, and locked, once for the batch: the therapists, authorisations,
    qualifying experience and prerequisite certificates (rosters and licences read); the
    issued certificates, their module completions and audit events then written in one
    INSERT each. One ``now`` for the batch. Returns per request its outcome, or the
    ``DomainError`` its input raises."""
    now = timezone.now() if now is None else _aware("now", now)
    issue_date = timezone.localdate(now)
    results: list[Any] = []
    parsed: dict[int, dict[str, _ModuleInput]] = {}
    for index, request in enumerate(requests):
        errors: dict[str, list[str]] = {}
        taught_on = request.taught_on
        if not isinstance(taught_on, dt.date) or isinstance(taught_on, dt.datetime):
            errors["taught_on"] = ["Give the date the protocol was taught (YYYY-MM-DD)."]
        elif taught_on > issue_date:
            errors["taught_on"] = ["A certificate cannot be issued for teaching that has not happened yet."]
        completions = _parse_modules(request.modules, issue_date=issue_date, errors=errors)
        if errors:
            results.append(DomainError("The certification request cannot be processed.", errors=errors))
            continue
        results.append(None)
        parsed[index] = completions
    todo = [(index, requests[index]) for index in parsed]
    if not todo:
        return results
    therapist_ids = sorted({r.therapist.pk for _, r in todo}, key=str)
    therapists = {
        t.pk: t for t in Therapist.objects.select_for_update().filter(pk__in=therapist_ids).order_by("pk")
    }
    protocols = {
        p.pk: p
        for p in Protocol.objects.filter(pk__in={r.protocol.pk for _, r in todo}).prefetch_related(
            "modules", "prerequisites"
        )
    }
    authorised = set(
        SchoolAuthorization.objects.select_for_update()
        .filter(school=school, protocol__in=list(protocols), granted_at__lte=now)
        .filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=now))
        .order_by("pk")
        .values_list("protocol_id", flat=True)
    )
    instructor_ids = {r.instructor.pk for _, r in todo}
    on_roster = set(
        Instructor.objects.filter(pk__in=instructor_ids, schools=school).values_list("pk", flat=True)
    )
    experience: dict[tuple[Any, Any], list[ClinicalExperience]] = {}
    for item in (
        ClinicalExperience.objects.select_for_update()
        .filter(instructor__in=instructor_ids, protocol__in=list(protocols), withdrawn_at__isnull=True)
        .order_by("pk")
    ):
        experience.setdefault((item.instructor_id, item.protocol_id), []).append(item)
    licences: dict[Any, list[License]] = {}
    for licence in License.objects.filter(therapist__in=therapist_ids):
        licences.setdefault(licence.therapist_id, []).append(licence)
    prerequisite_ids = {q.pk for p in protocols.values() for q in p.prerequisites.all()}
    held: dict[Any, set[Any]] = {}
    if prerequisite_ids:
        for therapist_id, protocol_id in (
            Certification.objects.select_for_update()
            .filter(
                therapist__in=therapist_ids,
                protocol__in=prerequisite_ids,
                valid_from__lte=now,
                expires_at__gt=now,
            )
            .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=now))
            .order_by("pk")
            .values_list("therapist_id", "protocol_id")
        ):
            held.setdefault(therapist_id, set()).add(protocol_id)

    issued: list[tuple[Certification, dict[str, _ModuleInput]]] = []
    for index, request in todo:
        therapist, protocol = therapists[request.therapist.pk], protocols[request.protocol.pk]
        instructor, taught_on = request.instructor, request.taught_on
        reasons: list[IssuanceReason] = []
        if protocol.pk not in authorised:
            reasons.append(_not_authorised(school, protocol, now))
        if instructor.pk not in on_roster:
            reasons.append(_not_at_school(instructor, school))
        if not any(
            e.verified_on <= taught_on
            and e.years >= protocol.min_instructor_years
            and e.cases >= protocol.min_instructor_cases
            for e in experience.get((instructor.pk, protocol.pk), ())
        ):
            reasons.append(_not_qualified(instructor, protocol, taught_on))
        reasons += _licence_reasons(therapist, licences.get(therapist.pk, []), issue_date)
        reasons += [
            _prerequisite_missing(protocol, prerequisite)
            for prerequisite in sorted(protocol.prerequisites.all(), key=lambda p: p.slug)
            if prerequisite.pk not in held.get(therapist.pk, set())
        ]
        reasons += _check_modules(protocol=protocol, completions=parsed[index])
        if reasons:
            results[index] = IssuanceOutcome(certification=None, reasons=reasons)
            continue
        certification = Certification(
            serial=Certification.new_serial(),
            therapist=therapist,
            protocol=protocol,
            school=school,
            instructor=instructor,
            taught_on=taught_on,
            valid_from=now,
            expires_at=now + relativedelta(months=protocol.validity_months),
            issued_at=now,
            issued_by=_user(actor),
        )
        held.setdefault(therapist.pk, set()).add(protocol.pk)  # a prerequisite for later requests
        issued.append((certification, parsed[index]))
        results[index] = IssuanceOutcome(certification=certification, reasons=[])
    if issued:
        # allocated for the INSERT (the rows are append-only), the lists locked till commit
        for (certification, _), (status_list, status_index) in zip(
            issued, status_list_allocate_many(len(issued)), strict=True
        ):
            certification.status_list, certification.status_index = status_list, status_index
        insert_many([c for c, _ in issued])
        insert_many(
            [
                ModuleCompletion(
                    certification=certification,
                    kind=completion.kind,
                    completed_on=completion.completed_on,
                    hours=completion.hours,
                    assessment_passed=completion.assessment_passed,
                )
                for certification, completions in issued
                for completion in completions.values()
            ]
        )
        audit_record_many(
            actor=actor,
            events=[
                ("certification.issued", certification, None, _issued_record(certification, completions))
                for certification, completions in issued
            ],
        )
    return results


def _issued_record(certification: Certification, completions: dict[str, _ModuleInput]) -> dict[str, Any]:
    return {
        "serial": certification.serial,
        "therapist": str(certification.therapist_id),
        "protocol": certification.protocol.slug,
        "school": str(certification.school_id),
        "instructor": str(certification.instructor_id),
        "taught_on": certification.taught_on,
        "valid_from": certification.valid_from,
        "expires_at": certification.expires_at,
        "modules": [
            {
                "kind": c.kind,
                "completed_on": c.completed_on,
                "hours": c.hours,
                "assessment_passed": c.assessment_passed,
            }
            for c in completions.values()
        ],
    }


def _licence_reasons(therapist: Therapist, licenses: list[License], on: dt.date) -> list[IssuanceReason]:
    if not licenses:
        return [
            IssuanceReason(
                IssuanceReasonCode.LICENSE_MISSING,
                f"{therapist.name} has no licence to practise on record.",
            )
        ]
    if not any(
        lic.status == LicenseStatus.ACTIVE and lic.valid_from <= on <= lic.expires_on for lic in licenses
    ):
        return [
            IssuanceReason(
                IssuanceReasonCode.LICENSE_INACTIVE,
                f"{therapist.name} holds no licence that is active on {on.isoformat()}.",
            )
        ]
    return []


@transaction.atomic
def certification_revoke(
    *, actor: User | None, certification: Certification, reason: str, at: dt.datetime | None = None
) -> Certification:
    """A revocation is a new fact (who, when, why): the certification stops counting from
    ``at`` (default now). Revoking twice is a conflict. A pending review is settled by it.
    Bookings resting on it are re-checked by ``registry.services.certification_revoke``."""
    reason = _text("reason", reason)
    now = timezone.now()
    revoked_at = now if at is None else _aware("at", at)
    current = Certification.objects.select_for_update().get(pk=certification.pk)
    if current.revoked_at is not None:
        raise Conflict("This certification is already revoked.")
    before = {"revoked_at": None, "review_required": current.review_required}
    update_fields = ["revoked_at", "revoked_by", "revoked_reason"]
    current.revoked_at = revoked_at
    current.revoked_by = _user(actor)
    current.revoked_reason = reason
    if current.review_required:
        current.review_required = False
        current.reviewed_at = now
        current.reviewed_by = _user(actor)
        update_fields += ["review_required", "reviewed_at", "reviewed_by"]
    current.save(update_fields=update_fields)
    status_list_revoke(current)  # its bit in the public status list, in this transaction
    audit_record(
        actor=actor,
        action="certification.revoked",
        obj=current,
        before=before,
        after={"revoked_at": revoked_at, "review_required": current.review_required},
        reason=reason,
    )
    return current


@transaction.atomic
def certification_review_clear(
    *,
    actor: User | None,
    certification: Certification,
    reason: str,
    reviewed_reason: str | None = None,
) -> Certification:
    """The registry reviewed a flagged certification and keeps it: the flag is cleared and
    the review recorded (who, when; the reason in the audit trail). ``reviewed_reason``: the
    flag's reason as the reviewer read it; when the certification was flagged again since
    (a serious adverse event, another withdrawal), keeping it would clear a reason nobody
    weighed: a conflict, nothing changed. To revoke instead, use ``certification_revoke``."""
    reason = _text("reason", reason)
    current = Certification.objects.select_for_update().get(pk=certification.pk)
    if not current.review_required:
        raise Conflict("This certification is not flagged for review.")
    if reviewed_reason is not None and reviewed_reason.strip() != current.review_reason.strip():
        raise Conflict(
            f"The certification was flagged again since it was read; review it again: {current.review_reason}"
        )
    current.review_required = False
    current.reviewed_at = timezone.now()
    current.reviewed_by = _user(actor)
    current.save(update_fields=["review_required", "reviewed_at", "reviewed_by"])
    audit_record(
        actor=actor,
        action="certification.review_cleared",
        obj=current,
        before={"review_required": True},
        after={"review_required": False, "reviewed_at": current.reviewed_at},
        reason=reason,
    )
    return current


# --- provisional scope (issue 23) -------------------------------------------------------------


@transaction.atomic
def certification_scope_attest(
    *, actor: User | None, certification: Certification, reason: str, at: dt.datetime | None = None
) -> Certification:
    """Registry staff attest that a provisional certification's supervised sessions were done
    and evaluated outside the registry (before it existed, or under a hospital's proctoring):
    it is full from ``at``. Besides completing supervised sessions through the booking gate
    and grandfathering (``certifications_scope_grandfather``), the one way to full scope;
    audited with the reason. Refused (``Conflict``) for a revoked or already full
    certification, or one whose protocol asks for no supervised sessions."""
    at = at or timezone.now()
    reason = _text("reason", reason, label="why the scope is attested")
    locked = Certification.objects.select_for_update().select_related("protocol").get(pk=certification.pk)
    if locked.revoked_at is not None:
        raise Conflict("A revoked certification cannot be made full.")
    if locked.protocol.supervised_sessions <= 0:
        raise Conflict(
            f"{locked.protocol.slug} asks for no supervised sessions: this certification is not provisional."
        )
    if locked.scope_full_at is not None:
        raise Conflict("This certification's scope is already full: it is not provisional.")
    locked.scope_full_at = at
    locked.save(update_fields=["scope_full_at"])
    audit_record(
        actor=actor,
        action="certification.scope_attested",
        obj=locked,
        before={"scope_full_at": None},
        after={"scope_full_at": at, "supervised_sessions_done": locked.supervised_sessions_done},
        reason=reason,
    )
    return locked


@transaction.atomic
def certifications_scope_grandfather(
    *, actor: User | None, protocol: Protocol, at: dt.datetime, reason: str
) -> list[Certification]:
    """A protocol starts asking for supervised sessions (``supervised_sessions`` from 0 to
    N > 0): the certifications in it issued before ``at`` (not revoked, not yet full) are
    full from ``at`` — their holders were booking alone and keep doing so; only certifications
    issued from ``at`` on are provisional. Under review or not (the review decides on its own
    grounds). Set-wise: the rows locked in one SELECT, made full in ONE UPDATE, one audit event
    each (``certification.scope_grandfathered``, with ``reason``) in one INSERT; no event to
    schools or spas (nothing they can see changes). Returns the certifications made full.

    Call inside the protocol change's transaction. Issuance does not lock the protocol: a
    certification whose issuance commits after this SELECT stays provisional (the safe side;
    registry staff may attest it)."""
    reason = _text("reason", reason)
    holders = list(
        Certification.objects.select_for_update()
        .filter(protocol=protocol, issued_at__lt=at, scope_full_at__isnull=True, revoked_at__isnull=True)
        .only("pk", "supervised_sessions_done")
        .order_by("pk")
    )
    if not holders:
        return []
    Certification.objects.filter(pk__in=[c.pk for c in holders]).update(scope_full_at=at)
    for certification in holders:
        certification.scope_full_at = at
    audit_record_many(
        actor=actor,
        events=[
            (
                "certification.scope_grandfathered",
                certification,
                {"scope_full_at": None},
                {
                    "scope_full_at": at,
                    "supervised_sessions_done": certification.supervised_sessions_done,
                    "supervised_sessions": protocol.supervised_sessions,
                },
            )
            for certification in holders
        ],
        reason=reason,
    )
    return holders
