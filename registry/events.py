"""Events the registry tells spas and schools about, written to the outbox (never client data)."""

from __future__ import annotations

from core.services import outbox_add
from registry.models import Booking

# Reason keys safe outside the spa: no condition codes, screening questions or free text
# that could name them.
_PUBLIC_REASON_KEYS = ("code", "protocols", "certification")


def public_reasons(reasons: list[dict]) -> list[dict]:
    return [{k: r[k] for k in _PUBLIC_REASON_KEYS if k in r} for r in reasons]


def booking_needs_reassignment(booking: Booking) -> None:
    outbox_add(
        type="booking.needs_reassignment",
        data={
            "booking": str(booking.pk),
            "spa": str(booking.spa_id),
            "therapist": str(booking.therapist_id),
            "start": booking.start.isoformat(),
            "reasons": public_reasons(booking.reasons),
            "suggested_therapists": [str(t) for t in booking.suggested_therapists],
        },
        audience=[f"spa:{booking.spa_id}"],
    )
