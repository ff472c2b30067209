"""Credential use cases as the API, the admin, imports and pages call them: the credentials
service, plus what the registry adds in the same transaction — the outbox events that tell
schools and spas, and (for revocation) the re-check of bookings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction

from core.errors import DomainError
from core.models import User
from core.retry import retry_on_conflict
from credentials import services as credential_services
from credentials.models import Certification, ClinicalExperience, SchoolAuthorization
from registry import events
from registry.models import Booking
from registry.services import rechecks


@retry_on_conflict()
def certification_issue(**kwargs: Any) -> credential_services.IssuanceOutcome:
    """Issue (see ``credentials.services.certification_issue``) and tell the school."""
    with transaction.atomic():
        outcome = credential_services.certification_issue(**kwargs)
        if outcome.certification is not None:
            events.certification_event("certification.issued", outcome.certification)
    return outcome


def certifications_issue_many(
    *, actor: User | None, school: Any, requests: list[credential_services.IssueRequest]
) -> list[credential_services.IssuanceOutcome | DomainError]:
    """Issue many (see ``credentials.services.certifications_issue_many``) and tell the school,
    one event per certificate, in one INSERT. Call inside a transaction (an import's chunk)."""
    with transaction.atomic():
        outcomes = credential_services.certifications_issue_many(
            actor=actor, school=school, requests=requests
        )
        events.certifications_issued(
            [
                o.certification
                for o in outcomes
                if not isinstance(o, DomainError) and o.certification is not None
            ]
        )
    return outcomes


@retry_on_conflict()
def certification_revoke(
    *, actor: User | None, certification: Certification, reason: str, now: dt.datetime | None = None
) -> tuple[Certification, list[Booking]]:
    """Revoke, re-check the bookings resting on it, and tell the school and the spas
    employing the therapist — one transaction."""
    with transaction.atomic():
        certification, changed = rechecks.certification_revoke(
            actor=actor, certification=certification, reason=reason, now=now
        )
        events.certification_event(
            "certification.revoked", certification, reason=certification.revoked_reason
        )
    return certification, changed


def _flagged(certifications: list[Certification], reason: str) -> None:
    for certification in certifications:
        events.certification_event("certification.review_required", certification, reason=reason)


def _withdrawn_and_told(withdraw: Callable[..., credential_services.Withdrawal], **kwargs: Any):
    """A withdrawal (credentials' service) and, in the same transaction, a
    ``certification.review_required`` event to the school of each certificate it flagged."""
    with transaction.atomic():
        result = withdraw(**kwargs)
        _flagged(result.flagged, kwargs["reason"])
    return result


def certifications_flag_for_review(
    *, actor: User | None, certifications: list[Certification], reason: str
) -> list[Certification]:
    """Flag certifications for registry review (see
    ``credentials.services.certifications_flag_for_review``) and tell their schools
    (``certification.review_required``), in the caller's transaction."""
    with transaction.atomic():
        flagged = credential_services.certifications_flag_for_review(
            actor=actor, certifications=certifications, reason=reason
        )
        _flagged(flagged, reason)
    return flagged


@retry_on_conflict()
def clinical_experience_withdraw(
    *, actor: User | None, experience: ClinicalExperience, reason: str
) -> credential_services.Withdrawal:
    """Withdraw an instructor's experience; the certifications it underpinned are flagged for
    review (not revoked) and their schools told."""
    return _withdrawn_and_told(
        credential_services.clinical_experience_withdraw, actor=actor, experience=experience, reason=reason
    )


@retry_on_conflict()
def school_authorization_withdraw(
    *, actor: User | None, authorization: SchoolAuthorization, reason: str
) -> credential_services.Withdrawal:
    """Withdraw a school's authorisation; the certifications it underpinned are flagged for
    review (not revoked) and the school told."""
    return _withdrawn_and_told(
        credential_services.school_authorization_withdraw,
        actor=actor,
        authorization=authorization,
        reason=reason,
    )


def certification_review(
    *,
    actor: User | None,
    certification: Certification,
    decision: str,
    reason: str,
    reviewed_reason: str | None = None,
) -> tuple[Certification, list[Booking]]:
    """Registry staff clear a flagged certification: ``keep`` it (refused when it was flagged
    again after ``reviewed_reason`` was read), or ``revoke`` it through the same use case as
    the API (bookings re-checked, school and spas told)."""
    if decision == "keep":
        return credential_services.certification_review_clear(
            actor=actor, certification=certification, reason=reason, reviewed_reason=reviewed_reason
        ), []
    if decision == "revoke":
        if not certification.review_required:
            from core.errors import Conflict

            raise Conflict("This certification is not flagged for review.")
        return certification_revoke(actor=actor, certification=certification, reason=reason)
    raise DomainError("Decide keep or revoke.", errors={"decision": ['Choose "keep" or "revoke".']})


@retry_on_conflict()
def certification_scope_attest(
    *, actor: User | None, certification: Certification, reason: str, at: dt.datetime | None = None
) -> Certification:
    """Attest a provisional certification's supervised sessions (see
    ``credentials.services.certification_scope_attest``) and tell its school and the spas
    employing the therapist (``certification.scope_full``), in one transaction."""
    with transaction.atomic():
        certification = credential_services.certification_scope_attest(
            actor=actor, certification=certification, reason=reason, at=at
        )
        events.certification_event("certification.scope_full", certification, reason=reason)
    return certification
