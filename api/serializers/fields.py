"""Relation fields for writes that respect tenancy.

``TenantPrimaryKeyRelatedField(resource="therapists", queryset=Therapist.objects.all())``
accepts only ids of rows the caller may read (``api.tenancy``): naming another tenant's
therapist answers 400 "does not exist", exactly as if it did not. (The two writes API.md lets
name an unreadable therapist — issuing a certification, hiring — use a plain
``PrimaryKeyRelatedField``.)
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import serializers

from api.tenancy import scoped


class _TenantScoped:
    def __init__(self, *, resource: str, **kwargs) -> None:
        self.resource = resource
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        user = getattr(request, "user", None) or AnonymousUser()
        return scoped(self.resource, queryset, user)


class TenantPrimaryKeyRelatedField(_TenantScoped, serializers.PrimaryKeyRelatedField):
    """A related object by id, among those the caller may read."""


class TenantSlugRelatedField(_TenantScoped, serializers.SlugRelatedField):
    """A related object by slug or code, among those the caller may read."""


class EnumField(serializers.ChoiceField):
    """A choice of a ``TextChoices`` class, documented as one named enum component (named
    after the class: ``BodyRegion``, ``CertificationStatus``) wherever it appears, so fields
    that share a name (``status``) but not a choice set never collide in the schema."""

    def __init__(self, choices_class, **kwargs) -> None:
        self.choices_class = choices_class
        super().__init__(choices=choices_class.choices, **kwargs)
