"""Relation fields for writes that respect tenancy.

``TenantPrimaryKeyRelatedField(resource="therapists", queryset=Therapist.objects.all())``
accepts only ids of rows the caller may read (``api.tenancy``): naming another tenant's
therapist answers 400 "does not exist", exactly as if it did not. (The two writes API.md lets
name an unreadable therapist — issuing a certification, hiring — use a plain
``PrimaryKeyRelatedField``.)
"""

from __future__ import annotations

import copy
import re
import uuid
import zoneinfo

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.utils import html

from api.tenancy import membership_of, scoped
from credentials.services import JURISDICTION_RE
from registry.choices import Role


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


class CallerSpaRelatedField(TenantPrimaryKeyRelatedField):
    """``TenantPrimaryKeyRelatedField(resource="spas")`` that answers the caller's own spa (spa
    staff) from the membership loaded with the token, without a query; any other value goes
    the usual way, with the usual errors."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            membership = membership_of(getattr(self.context.get("request"), "user", None))
            if membership is not None and membership.role == Role.SPA_STAFF and membership.spa is not None:
                try:
                    if uuid.UUID(data) == membership.spa.pk:
                        return membership.spa
                except ValueError:
                    pass
        return super().to_internal_value(data)


class SlugRelatedField(serializers.SlugRelatedField):
    """A related object by slug or code. A NUL character names nothing (PostgreSQL text cannot
    hold one, and the lookup would fail): refused like in any other string field."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            raise serializers.ValidationError("Null characters are not allowed.", code="null_characters")
        return super().to_internal_value(data)


class TenantSlugRelatedField(_TenantScoped, SlugRelatedField):
    """A related object by slug or code, among those the caller may read."""


class _JsonTyped:
    """An input field that takes a JSON value of its own type only. DRF coerces (``0`` to
    ``"0"``, ``"5"`` to 5, ``1`` to true), which lets a wrongly typed value through as if it were
    right. Form input (the browsable API's HTML forms), where every value is a string, is read
    as DRF reads it."""

    json_types: tuple[type, ...] = ()

    def to_internal_value(self, data):
        if not html.is_html_input(getattr(self.root, "initial_data", None)):
            typed = bool in self.json_types if isinstance(data, bool) else isinstance(data, self.json_types)
            if not typed:
                self.fail("invalid")
        return super().to_internal_value(data)


class CharField(_JsonTyped, serializers.CharField):
    """A JSON string (not a number)."""

    json_types = (str,)


class IntegerField(_JsonTyped, serializers.IntegerField):
    """A JSON integer (not a string, a fraction or a boolean)."""

    json_types = (int,)


class BooleanField(_JsonTyped, serializers.BooleanField):
    """JSON ``true`` or ``false`` (not ``0``, ``1`` or ``"yes"``)."""

    json_types = (bool,)


class UUIDField(_JsonTyped, serializers.UUIDField):
    """A JSON string holding a UUID (DRF would also take an integer as one)."""

    json_types = (str,)


class CallerSpaField(UUIDField):
    """The caller's own spa, by id, for operations only spa staff may call: compared with the
    membership loaded with the token, so it costs no query. Any other id answers 400 "does not
    exist", like ``TenantPrimaryKeyRelatedField(resource="spas")``. The value is the ``Spa``."""

    default_error_messages = {
        "does_not_exist": serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"]
    }

    def to_internal_value(self, data):
        pk = super().to_internal_value(data)
        request = self.context.get("request")
        membership = membership_of(getattr(request, "user", None))
        spa = membership.spa if membership is not None and membership.role == Role.SPA_STAFF else None
        if spa is None or spa.pk != pk:
            self.fail("does_not_exist", pk_value=data)
        return spa


class JurisdictionField(CharField):
    """An ISO 3166-2 subdivision code (``US-CA``; read in capitals), as the schema's pattern
    says: not trimmed, so what the pattern refuses is refused."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("help_text", "ISO 3166-2, e.g. `US-CA`.")
        # The same pattern in either case, written out (the schema shows a pattern, not flags).
        # \Z, not $: "US-CA\n" is not a code (the schema shows it as $, its meaning in ECMA).
        pattern = re.compile(JURISDICTION_RE.pattern.replace("A-Z", "A-Za-z").replace("$", r"\Z"))
        validator = RegexValidator(pattern, "Give an ISO 3166-2 subdivision code such as US-CA.")
        super().__init__(max_length=10, trim_whitespace=False, validators=[validator], **kwargs)


class TimezoneField(serializers.ChoiceField):
    """An IANA time zone name (``Europe/Lisbon``), one of those this server knows."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("help_text", "IANA time zone name, e.g. `America/Los_Angeles`.")
        kwargs.setdefault(
            "error_messages", {"invalid_choice": 'Unknown timezone "{input}" (use an IANA name).'}
        )
        super().__init__(choices=sorted(zoneinfo.available_timezones()), **kwargs)


class OptionalEmailField(serializers.EmailField):
    """An e-mail address that may be absent. Stored as ``""`` (Django's convention for text),
    answered as ``null``, so what a client reads always matches the schema's ``format: email``
    (an empty string is not an e-mail address). Written as an address, ``null`` or ``""``
    (both: none). JSON strings only (not numbers)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 254)  # the models' EmailField
        super().__init__(allow_null=True, allow_blank=True, **kwargs)

    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)
        return "" if value is None else value

    def to_internal_value(self, data):
        if not isinstance(data, str) and not html.is_html_input(getattr(self.root, "initial_data", None)):
            self.fail("invalid")
        return super().to_internal_value(data)

    def to_representation(self, value):
        return value or None


class EnumField(serializers.ChoiceField):
    """A choice of a ``TextChoices`` class, documented as one named enum component (named
    after the class: ``BodyRegion``, ``CertificationStatus``) wherever it appears, so fields
    that share a name (``status``) but not a choice set never collide in the schema."""

    def __init__(self, choices_class, **kwargs) -> None:
        self.choices_class = choices_class
        super().__init__(choices=choices_class.choices, **kwargs)


class FlatInputSerializer(serializers.Serializer):
    """An input serializer of plain fields (no nested serializer, no ``child``), for the
    hottest endpoints (the eligibility check and search). DRF gives every serializer instance a
    deep copy of the declared fields, which re-runs each field's ``__init__`` (choice tables,
    validators, error messages) on every request: a fifth of a check's own time. Plain fields
    keep no per-request state but what ``bind()`` sets on the copy, so a shallow copy is as
    good; nested fields would share their children, hence the check at class creation."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child"):
                raise ImproperlyConfigured(f"{cls.__name__}.{name}: plain fields only (FlatInputSerializer).")

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
