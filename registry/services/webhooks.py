"""Webhook subscriptions: a spa's or a school's endpoint for the events about it.

A spa hears about its bookings (their adverse events included) and the credentials of the
therapists it employs; a school about the certifications it issued and the adverse events of
sessions that rested on them. The signing secret is generated when none is given and is never
written to the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction

from core.errors import DomainError
from core.models import User
from core.services import audit_record
from credentials.models import School
from registry.delivery import new_webhook_secret
from registry.models import Spa, WebhookSubscription

# The event types each kind of tenant may subscribe to (API.md, "Events, webhooks, imports").
SPA_EVENTS = (
    "booking.needs_reassignment",
    "certification.revoked",
    "certification.expiring",
    "license.expiring",
    "adverse_event.reported",
    "certification.scope_full",
)
SCHOOL_EVENTS = (
    "certification.issued",
    "certification.revoked",
    "certification.expiring",
    "certification.review_required",
    "adverse_event.reported",
    "certification.scope_full",
)
EVENT_TYPES = tuple(dict.fromkeys((*SPA_EVENTS, *SCHOOL_EVENTS)))

MIN_SECRET_LENGTH = 16


def _check_url(url: str, errors: dict[str, list[str]]) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["url"] = ["Give an absolute http(s) URL."]
    return url


def _check_events(events: Iterable[str], allowed: tuple[str, ...], errors: dict[str, list[str]]) -> list[str]:
    events = list(dict.fromkeys(events))
    if not events:
        errors["events"] = ["Subscribe to at least one event type."]
    for index, event in enumerate(events):
        if event not in EVENT_TYPES:
            errors[f"events.{index}"] = [f"Unknown event type '{event}'."]
        elif event not in allowed:
            errors[f"events.{index}"] = [
                f"'{event}' is not sent to this subscriber; choose among {', '.join(allowed)}."
            ]
    return events


def _check_secret(secret: str, errors: dict[str, list[str]]) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        errors["secret"] = [f"A secret has at least {MIN_SECRET_LENGTH} characters."]
    elif len(secret) > 128:
        errors["secret"] = ["A secret has at most 128 characters."]
    return secret


def _allowed_events(webhook: WebhookSubscription) -> tuple[str, ...]:
    return SPA_EVENTS if webhook.spa_id else SCHOOL_EVENTS


def _public(webhook: WebhookSubscription) -> dict[str, Any]:
    """What the audit trail keeps of a webhook (never the secret)."""
    return {"url": webhook.url, "events": list(webhook.events), "active": webhook.active}


@transaction.atomic
def webhook_create(
    *,
    actor: User | None,
    url: str,
    events: Iterable[str],
    spa: Spa | None = None,
    school: School | None = None,
    secret: str | None = None,
    active: bool = True,
) -> WebhookSubscription:
    """Subscribe one spa or one school (exactly one) to event types it receives. Without a
    ``secret`` one is generated; the caller shows it once."""
    errors: dict[str, list[str]] = {}
    if (spa is None) == (school is None):
        errors["non_field_errors"] = ["A webhook belongs to one spa or one school."]
    url = _check_url(url, errors)
    events = _check_events(events, SPA_EVENTS if spa is not None else SCHOOL_EVENTS, errors)
    secret = new_webhook_secret() if secret is None else _check_secret(secret, errors)
    if errors:
        raise DomainError("The webhook has invalid fields.", errors=errors)
    webhook = WebhookSubscription.objects.create(
        spa=spa, school=school, url=url, events=events, secret=secret, active=active
    )
    audit_record(actor=actor, action="webhook.create", obj=webhook, after=_public(webhook))
    return webhook


@transaction.atomic
def webhook_update(
    *,
    actor: User | None,
    webhook: WebhookSubscription,
    url: str | None = None,
    events: Iterable[str] | None = None,
    active: bool | None = None,
    secret: str | None = None,
) -> WebhookSubscription:
    """Change the URL, the event types, ``active`` or the secret (rotation: the new secret
    signs every delivery from now on, retries included)."""
    webhook = WebhookSubscription.objects.select_for_update().get(pk=webhook.pk)
    before = _public(webhook)
    errors: dict[str, list[str]] = {}
    if url is not None:
        webhook.url = _check_url(url, errors)
    if events is not None:
        webhook.events = _check_events(events, _allowed_events(webhook), errors)
    if secret is not None:
        webhook.secret = _check_secret(secret, errors)
    if active is not None:
        webhook.active = active
    if errors:
        raise DomainError("The webhook has invalid fields.", errors=errors)
    webhook.save()
    after = {**_public(webhook), "secret_rotated": secret is not None}
    audit_record(actor=actor, action="webhook.update", obj=webhook, before=before, after=after)
    return webhook


@transaction.atomic
def webhook_delete(*, actor: User | None, webhook: WebhookSubscription) -> None:
    """Unsubscribe. Deliveries already made keep their record (their webhook reference is
    cleared); undelivered ones stop."""
    webhook = WebhookSubscription.objects.select_for_update().get(pk=webhook.pk)
    audit_record(actor=actor, action="webhook.delete", obj=webhook, before=_public(webhook))
    webhook.delete()
