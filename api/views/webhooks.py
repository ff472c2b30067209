"""Webhooks: a spa's or a school's endpoint for the events about it (signed deliveries from the
outbox). The signing secret is shown once, in the answer that creates it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.permissions import roles
from api.serializers.integrations import (
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
)
from api.tenancy import membership_of
from api.views.base import ReadOnlyViewSet
from registry.choices import Role
from registry.models import WebhookSubscription
from registry.services.webhooks import webhook_create, webhook_delete, webhook_update

WEBHOOK_ROLES = roles(Role.SPA_STAFF, Role.SCHOOL_STAFF, Role.REGISTRY_ADMIN)


def _does_not_exist(field: serializers.Field, value) -> serializers.ValidationError:
    """The answer for naming another tenant: the same as for an id that does not exist."""
    return serializers.ValidationError({field: [f'Invalid pk "{value}" - object does not exist.']})


class WebhookViewSet(ReadOnlyViewSet):
    """Webhooks of the caller's spa (spa staff) or school (school staff); all (registry
    admin). Spas subscribe to ``booking.needs_reassignment``, ``certification.revoked``,
    ``certification.expiring``, ``license.expiring``, ``adverse_event.reported``; schools to
    ``certification.*`` and ``adverse_event.reported``."""

    queryset = WebhookSubscription.objects.order_by("created_at", "id")
    serializer_class = WebhookSerializer
    tenant_resource = "webhooks"
    action_roles = {
        "list": WEBHOOK_ROLES,
        "retrieve": WEBHOOK_ROLES,
        "create": WEBHOOK_ROLES,
        "partial_update": WEBHOOK_ROLES,
        "destroy": WEBHOOK_ROLES,
    }

    def _tenant(self, data) -> dict:
        """The subscriber: staff subscribe their own spa or school; an admin names one."""
        membership = membership_of(self.request.user)
        spa, school = data.get("spa"), data.get("school")
        if membership.role == Role.SPA_STAFF:
            if school is not None:
                raise _does_not_exist("school", school.pk)
            return {"spa": membership.spa}
        if membership.role == Role.SCHOOL_STAFF:
            if school is not None and school.pk != membership.school_id:
                raise _does_not_exist("school", school.pk)
            return {"school": school or membership.school}
        return {"spa": spa, "school": school}

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookCreatedSerializer})
    def create(self, request):
        """Subscribe to event types. Without ``secret`` the server generates one: it is in this
        answer and never shown again."""
        serializer = WebhookCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        webhook = webhook_create(
            actor=request.user,
            url=data["url"],
            events=data["events"],
            secret=data.get("secret"),
            active=data.get("active", True),
            **self._tenant(data),
        )
        return Response(WebhookCreatedSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookUpdateSerializer, responses=WebhookSerializer)
    def partial_update(self, request, pk=None):
        """Change the URL, the event types or ``active``; a new ``secret`` rotates it (not
        shown back)."""
        webhook = self.get_object()
        serializer = WebhookUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        webhook = webhook_update(actor=request.user, webhook=webhook, **serializer.validated_data)
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Unsubscribe."""
        webhook_delete(actor=request.user, webhook=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
