"""Outbox delivery in-process: e-mail to the tenant's contact address, fan-out idempotent."""

import pytest
from django.core import mail

from core.services import outbox_add
from registry.delivery import delivery_attempt, event_dispatch, signature_header
from registry.models import Delivery, WebhookSubscription

pytestmark = pytest.mark.django_db


def test_an_event_is_mailed_to_the_spas_contact_address_once(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    event = outbox_add(
        type="booking.needs_reassignment", data={"booking": "b-1"}, audience=[f"spa:{world.spa.pk}"]
    )
    deliveries = event_dispatch(event_id=event.pk)
    assert event_dispatch(event_id=event.pk) == deliveries  # nothing new the second time
    (delivery,) = deliveries
    assert delivery.channel == Delivery.Channel.EMAIL
    delivery_attempt(delivery_id=delivery.pk)
    assert delivery_attempt(delivery_id=delivery.pk) is None  # already delivered
    (message,) = mail.outbox
    assert message.to == [world.spa.contact_email]
    assert "booking.needs_reassignment" in message.subject


def test_only_webhooks_subscribed_to_the_type_get_a_delivery(world):
    WebhookSubscription.objects.create(
        spa=world.spa, url="http://127.0.0.1:9/hook", events=["license.expiring"], secret="s"
    )
    wanted = WebhookSubscription.objects.create(
        spa=world.spa, url="http://127.0.0.1:9/hook2", events=["booking.needs_reassignment"], secret="s"
    )
    event = outbox_add(type="booking.needs_reassignment", data={}, audience=[f"spa:{world.spa.pk}"])
    webhooks = [d for d in event_dispatch(event_id=event.pk) if d.channel == Delivery.Channel.WEBHOOK]
    assert [d.subscription_id for d in webhooks] == [wanted.pk]


def test_the_signature_is_hmac_sha256_of_timestamp_and_body():
    import hashlib
    import hmac

    header = signature_header("secret", b'{"a":1}', 1700000000)
    expected = hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_an_event_for_the_registry_is_mailed_to_the_registry_admins(world):
    """``adverse_event.reported`` names the registry in its audience: its staff are told by
    e-mail (a registry admin has no webhook of their own), not only the spa and the school."""
    from registry.services.accounts import user_create

    admin, _ = user_create(actor=None, username="safety-officer", role="registry-admin")
    admin.email = "safety@registry.example.org"
    admin.save(update_fields=["email"])
    user_create(actor=None, username="no-address", role="registry-admin")
    event = outbox_add(type="adverse_event.reported", data={"severity": "serious"}, audience=["registry"])
    deliveries = event_dispatch(event_id=event.pk)
    assert [(d.channel, d.email) for d in deliveries] == [
        (Delivery.Channel.EMAIL, "safety@registry.example.org")
    ]
