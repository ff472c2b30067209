"""Events the registry tells spas and schools about, written to the outbox (never client data)."""

from __future__ import annotations

from core.services import outbox_add, outbox_add_many
from registry.models import Booking

# Reason keys safe outside the spa: no condition codes, screening questions or free text
# that could name them.
_PUBLIC_REASON_KEYS = ("code", "protocols", "certification")


def public_reasons(reasons: list[dict]) -> list[dict]:
    return [{k: r[k] for k in _PUBLIC_REASON_KEYS if k in r} for r in reasons]


def _needs_reassignment(booking: Booking) -> tuple[str, dict, list[str]]:
    return (
        "booking.needs_reassignment",
        {
            "booking": str(booking.pk),
            "spa": str(booking.spa_id),
            "therapist": str(booking.therapist_id),
            "start": booking.start.isoformat(),
            "reasons": public_reasons(booking.reasons),
            "suggested_therapists": [str(t) for t in booking.suggested_therapists],
        },
        [f"spa:{booking.spa_id}"],
    )


def booking_needs_reassignment(booking: Booking) -> None:
    type_, data, audience = _needs_reassignment(booking)
    outbox_add(type=type_, data=data, audience=audience)


def bookings_need_reassignment(bookings: list[Booking]) -> None:
    """One event per booking, written in one INSERT (a re-check can move thousands)."""
    outbox_add_many([_needs_reassignment(b) for b in bookings])


def _employer_audience(therapist_id) -> list[str]:
    """Spas currently employing the therapist (employment not ended)."""
    from django.db.models import Q
    from django.utils import timezone

    from registry.models import Employment

    today = timezone.now().date()
    spa_ids = (
        Employment.objects.filter(therapist_id=therapist_id)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=today))
        .values_list("spa_id", flat=True)
    )
    return [f"spa:{pk}" for pk in spa_ids]


def _certification_data(certification, reason: str) -> dict:
    return {
        "certification": str(certification.pk),
        "serial": certification.serial,
        "therapist": str(certification.therapist_id),
        "protocol": certification.protocol.slug,
        "school": str(certification.school_id),
        "valid_from": certification.valid_from.isoformat(),
        "expires_at": certification.expires_at.isoformat(),
        "revoked_at": certification.revoked_at.isoformat() if certification.revoked_at else None,
        "reason": reason,
        "provisional": certification_provisional(certification),
        "supervised_sessions_done": certification.supervised_sessions_done,
    }


def certification_provisional(certification) -> bool:
    """Provisional: its protocol asks for supervised sessions and it is not yet full (issue 23)."""
    return certification.protocol.supervised_sessions > 0 and certification.scope_full_at is None


def certification_event(type: str, certification, *, reason: str = "") -> None:
    """``certification.issued`` / ``.review_required`` go to the school; ``.revoked``,
    ``.expiring`` and ``.scope_full`` (a provisional certification became full) also to the spas
    employing the therapist."""
    audience = [f"school:{certification.school_id}"]
    if type in ("certification.revoked", "certification.expiring", "certification.scope_full"):
        audience += _employer_audience(certification.therapist_id)
    outbox_add(type=type, data=_certification_data(certification, reason), audience=audience)


def certifications_issued(certifications: list) -> None:
    """``certification.issued`` for each (to its school), in one INSERT (an import's chunk)."""
    outbox_add_many(
        [
            ("certification.issued", _certification_data(c, ""), [f"school:{c.school_id}"])
            for c in certifications
        ]
    )


def license_expiring(license) -> None:
    outbox_add(
        type="license.expiring",
        data={
            "license": str(license.pk),
            "therapist": str(license.therapist_id),
            "jurisdiction": license.jurisdiction,
            "expires_on": license.expires_on.isoformat(),
        },
        audience=_employer_audience(license.therapist_id),
    )


def adverse_event_reported(event, *, certifications, protocol_slug: str | None) -> None:
    """``adverse_event.reported``: to the registry, the spa of the session and the schools that
    issued the certifications it rested on. Ids, protocol, region, minutes and severity only:
    no client reference, condition, sign or narrative."""
    audience = ["registry", f"spa:{event.booking.spa_id}"]
    audience += [f"school:{certification.school_id}" for certification in certifications]
    outbox_add(
        type="adverse_event.reported",
        data={
            "adverse_event": str(event.pk),
            "booking": str(event.booking_id),
            "therapist": str(event.therapist_id),
            "certifications": sorted(str(certification.pk) for certification in certifications),
            "protocol": protocol_slug,
            "focus_region": event.focus_region,
            "focus_minutes": event.focus_minutes,
            "severity": event.severity,
            "kind": event.kind,
            "reported_at": event.reported_at.isoformat(),
        },
        audience=audience,
    )
