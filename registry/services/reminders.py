"""Expiry reminders: ``certification.expiring`` and ``license.expiring``, 60, 30 and 7 days
ahead, each once per credential, threshold and expiry — selected set-wise, one query per
threshold and kind, never a loop over therapists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.services import outbox_add_many
from credentials.choices import LicenseStatus
from credentials.models import Certification, License
from registry.models import Employment, ExpiryReminder

THRESHOLDS_DAYS = (60, 30, 7)


@dataclass(frozen=True)
class ReminderCounts:
    certifications: int
    licenses: int


def _employers(therapist_ids: set, today: dt.date) -> dict:
    """therapist id → audiences of the spas employing them (one query)."""
    out: dict = {}
    rows = Employment.objects.filter(therapist_id__in=therapist_ids).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=today)
    )
    for therapist_id, spa_id in rows.values_list("therapist_id", "spa_id"):
        out.setdefault(therapist_id, []).append(f"spa:{spa_id}")
    return out


def _due_certifications(now: dt.datetime, days: int):
    reminded = ExpiryReminder.objects.filter(
        kind=ExpiryReminder.Kind.CERTIFICATION,
        object_id=OuterRef("pk"),
        threshold_days=days,
        expires=OuterRef("expires_at"),
    )
    # A renewal: another live certification in the same protocol that runs on past this one.
    renewed = Certification.objects.filter(
        therapist_id=OuterRef("therapist_id"),
        protocol_id=OuterRef("protocol_id"),
        revoked_at__isnull=True,
        expires_at__gt=OuterRef("expires_at"),
    )
    return (
        Certification.objects.filter(
            revoked_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + dt.timedelta(days=days),
        )
        .exclude(Exists(reminded))
        .exclude(Exists(renewed))
        .select_related("protocol")
    )


def _due_licenses(today: dt.date, days: int):
    reminded = ExpiryReminder.objects.filter(
        kind=ExpiryReminder.Kind.LICENSE,
        object_id=OuterRef("pk"),
        threshold_days=days,
        expires=OuterRef("expires_on"),
    )
    renewed = License.objects.filter(
        therapist_id=OuterRef("therapist_id"),
        jurisdiction=OuterRef("jurisdiction"),
        status=LicenseStatus.ACTIVE,
        expires_on__gt=OuterRef("expires_on"),
    )
    return (
        License.objects.filter(
            status=LicenseStatus.ACTIVE,
            expires_on__gte=today,
            expires_on__lte=today + dt.timedelta(days=days),
        )
        .exclude(Exists(reminded))
        .exclude(Exists(renewed))
    )


@transaction.atomic
def expiry_reminders_send(*, now: dt.datetime | None = None) -> ReminderCounts:
    """Raise every reminder due today; run twice on the same day, it raises nothing new.
    The longest threshold reached first is the one raised (a credential found 5 days before
    expiry gets the 7-day reminder, and the 60- and 30-day ones are marked as passed)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    certification_count = license_count = 0
    for days in sorted(THRESHOLDS_DAYS):  # nearest first: a credential gets the most urgent one
        certifications = list(_due_certifications(now, days))
        licenses = list(_due_licenses(today, days))
        employers = _employers(
            {c.therapist_id for c in certifications} | {lic.therapist_id for lic in licenses}, today
        )
        reminders = []
        outgoing = []
        for certification in certifications:
            outgoing.append(
                (
                    "certification.expiring",
                    {
                        "certification": str(certification.pk),
                        "serial": certification.serial,
                        "therapist": str(certification.therapist_id),
                        "protocol": certification.protocol.slug,
                        "school": str(certification.school_id),
                        "valid_from": certification.valid_from.isoformat(),
                        "expires_at": certification.expires_at.isoformat(),
                        "revoked_at": None,
                        "reason": f"Expires within {days} days.",
                    },
                    [f"school:{certification.school_id}", *employers.get(certification.therapist_id, [])],
                )
            )
            # The longer thresholds are passed too: never remind "60 days" after "7 days".
            reminders += [
                ExpiryReminder(
                    kind=ExpiryReminder.Kind.CERTIFICATION,
                    object_id=certification.pk,
                    threshold_days=t,
                    expires=certification.expires_at,
                    sent_at=now,
                )
                for t in THRESHOLDS_DAYS
                if t >= days
            ]
        for licence in licenses:
            outgoing.append(
                (
                    "license.expiring",
                    {
                        "license": str(licence.pk),
                        "therapist": str(licence.therapist_id),
                        "jurisdiction": licence.jurisdiction,
                        "expires_on": licence.expires_on.isoformat(),
                    },
                    employers.get(licence.therapist_id, []),
                )
            )
            expires = dt.datetime.combine(licence.expires_on, dt.time(), tzinfo=dt.UTC)
            reminders += [
                ExpiryReminder(
                    kind=ExpiryReminder.Kind.LICENSE,
                    object_id=licence.pk,
                    threshold_days=t,
                    expires=expires,
                    sent_at=now,
                )
                for t in THRESHOLDS_DAYS
                if t >= days
            ]
        outbox_add_many(outgoing)
        ExpiryReminder.objects.bulk_create(reminders, ignore_conflicts=True)
        certification_count += len(certifications)
        license_count += len(licenses)
    return ReminderCounts(certifications=certification_count, licenses=license_count)
