"""Base classes every API view builds on: role permissions per action, tenancy, throttling
of anonymous reads, problem responses in the schema.

A new resource::

    class SpaViewSet(ReadOnlyViewSet):
        queryset = Spa.objects.all()
        serializer_class = SpaSerializer
        tenant_resource = "spas"            # api.tenancy.scope_spas
        action_roles = {"list": ALL_ROLES, "retrieve": ALL_ROLES, "create": ADMIN}
"""

from __future__ import annotations

from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import RolePermission
from api.schema import RegistryAutoSchema
from api.tenancy import TenantScopedMixin
from api.throttling import AnonReadThrottle


class RegistryViewMixin:
    permission_classes = [RolePermission]
    throttle_classes = [AnonReadThrottle]  # counts anonymous callers only
    schema = RegistryAutoSchema()
    action_roles: dict[str, frozenset[str]] = {}


class RegistryAPIView(RegistryViewMixin, APIView):
    """An endpoint that reads no rows (``/me``, tokens): ``action_roles`` by HTTP method."""


class RegistryViewSet(RegistryViewMixin, TenantScopedMixin, viewsets.GenericViewSet):
    """A viewset over one tenant-scoped resource; add mixins (or ``@action``s) for what it
    answers."""

    def get_object(self):
        """The object of the URL's id, slug or code. One with a NUL character is no object
        (PostgreSQL text cannot hold one, and the lookup would fail): 404."""
        value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        if isinstance(value, str) and "\x00" in value:
            raise NotFound()
        return super().get_object()

    def list_response(self, queryset, serializer_class):
        """A paginated list of ``queryset`` (already scoped) — for nested lists."""
        page = self.paginate_queryset(queryset)
        serializer = serializer_class(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """List and detail; writes come as ``create()`` / ``@action``s calling services."""


class WriteMixin:
    """The two steps every write shares: check the body's shape, answer a representation."""

    def validated(self, serializer_class, *, partial: bool = False) -> dict:
        serializer = serializer_class(
            data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def represented(self, serializer_class, instance, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(
            serializer_class(instance, context=self.get_serializer_context()).data, status=status_code
        )
