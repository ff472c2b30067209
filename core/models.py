"""Cross-cutting records: users and the append-only audit trail."""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class User(AbstractUser):
    """A person or client who signs in. Their role lives in ``registry.Membership``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)


class AuditEvent(models.Model):
    """One change to one object, by whom, when and why. Append-only: a database trigger
    refuses UPDATE and DELETE, so the trail cannot be rewritten after the fact."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class IdempotencyKey(models.Model):
    """A creating POST's claim on an ``Idempotency-Key``: committed with the work it did, so a
    retry with the same key and body replays the first response instead of doing it again."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="idempotency_key_unique_per_user",
                violation_error_message="This idempotency key was already used.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class OutboxEvent(models.Model):
    """An event leaving the system (webhook, e-mail), written in the same transaction as the
    change that causes it and delivered afterwards by Celery with retries: nothing is lost when
    the broker or a receiver is down. ``audience`` names the tenants told (``spa:<id>``,
    ``school:<id>``). ``data`` never carries client data."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    audience = ArrayField(models.CharField(max_length=80), default=list)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
