"""Delivering outbox events: to each matching webhook (signed) and to the tenant's contact
e-mail, at least once, with exponential back-off and jitter up to a cap."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import secrets
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import OutboxEvent, User
from credentials.models import School
from registry.choices import Role
from registry.models import Delivery, DeliveryAttempt, Spa, WebhookSubscription


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def backoff_seconds(attempts: int) -> float:
    """Exponential back-off with full jitter, capped: base·2^(n-1) scaled by [0.5, 1]."""
    base = settings.REGISTRY_DELIVERY_BACKOFF_BASE
    cap = settings.REGISTRY_DELIVERY_BACKOFF_CAP
    return min(cap, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)  # noqa: S311


def event_body(event: OutboxEvent) -> bytes:
    payload = {
        "id": str(event.pk),
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _tenant(audience: str) -> tuple[str, str]:
    kind, _, pk = audience.partition(":")
    return kind, pk


@transaction.atomic
def event_dispatch(*, event_id: Any, now: dt.datetime | None = None) -> list[Delivery]:
    """Fan an event out to one delivery per matching active webhook and per contact e-mail of
    the tenants in its audience; the ``registry`` audience (e.g. ``adverse_event.reported``) is
    the e-mail addresses of the active registry admins. Idempotent: run twice, it creates
    nothing new."""
    now = now or timezone.now()
    event = OutboxEvent.objects.select_for_update().get(pk=event_id)
    spa_ids = [pk for kind, pk in map(_tenant, event.audience) if kind == "spa"]
    school_ids = [pk for kind, pk in map(_tenant, event.audience) if kind == "school"]
    webhooks = WebhookSubscription.objects.filter(
        Q(spa_id__in=spa_ids) | Q(school_id__in=school_ids), active=True, events__contains=[event.type]
    )
    emails = {
        *Spa.objects.filter(pk__in=spa_ids).exclude(contact_email="").values_list("contact_email", flat=True),
        *School.objects.filter(pk__in=school_ids)
        .exclude(contact_email="")
        .values_list("contact_email", flat=True),
    }
    if "registry" in event.audience:
        emails.update(
            User.objects.filter(is_active=True, membership__role=Role.REGISTRY_ADMIN)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    for webhook in webhooks:
        Delivery.objects.get_or_create(
            event=event,
            subscription=webhook,
            defaults={"channel": Delivery.Channel.WEBHOOK, "next_attempt_at": now},
        )
    for email in sorted(emails):
        Delivery.objects.get_or_create(
            event=event,
            channel=Delivery.Channel.EMAIL,
            email=email,
            defaults={"next_attempt_at": now},
        )
    if event.dispatched_at is None:
        event.dispatched_at = now
        event.save(update_fields=["dispatched_at"])
    return list(event.deliveries.filter(delivered_at__isnull=True))


def _send_webhook(delivery: Delivery, body: bytes) -> tuple[int | None, str]:
    webhook = delivery.subscription
    timestamp = int(timezone.now().timestamp())
    request = urllib.request.Request(  # noqa: S310 - receivers' URLs are http(s) (URLField)
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "therapist-registry-webhooks/1",
            "X-Registry-Event-Id": str(delivery.event_id),
            "X-Registry-Signature": signature_header(webhook.secret, body, timestamp),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.REGISTRY_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, str(error)[:500]


def _send_email(delivery: Delivery, body: bytes) -> tuple[int | None, str]:
    event = delivery.event
    try:
        send_mail(
            subject=f"[registry] {event.type}",
            message=json.dumps(json.loads(body), indent=2),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[delivery.email],
        )
    except Exception as error:
        return None, str(error)[:500]
    return 250, ""


def delivery_attempt(*, delivery_id: Any, now: dt.datetime | None = None) -> Delivery | None:
    """Try one due delivery once and record the attempt. Returns the delivery (delivered or
    rescheduled), or None when it is not due, already delivered, or being tried elsewhere."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "subscription")
            .filter(pk=delivery_id, delivered_at__isnull=True, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        body = event_body(delivery.event)
        if delivery.channel == Delivery.Channel.WEBHOOK:
            if delivery.subscription is None or not delivery.subscription.active:
                delivery.delivered_at = now  # nobody to tell any more
                delivery.save(update_fields=["delivered_at"])
                return delivery
            status, error = _send_webhook(delivery, body)
            succeeded = status is not None and 200 <= status < 300
        else:
            status, error = _send_email(delivery, body)
            succeeded = status == 250
        delivery.attempts += 1
        DeliveryAttempt.objects.create(
            delivery=delivery, at=timezone.now(), status_code=status, error=error, succeeded=succeeded
        )
        if succeeded:
            delivery.delivered_at = timezone.now()
        else:
            delivery.next_attempt_at = timezone.now() + dt.timedelta(
                seconds=backoff_seconds(delivery.attempts)
            )
        delivery.save(update_fields=["attempts", "delivered_at", "next_attempt_at"])
    return delivery


def due_work(*, now: dt.datetime | None = None, limit: int = 500) -> tuple[list[str], list[str]]:
    """What the sweep re-enqueues: events never fanned out, and deliveries due and undelivered.
    This, not the broker's visibility timeout, recovers a lost message."""
    now = now or timezone.now()
    events = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, created_at__lte=now)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    deliveries = list(
        Delivery.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return [str(e) for e in events], [str(d) for d in deliveries]
