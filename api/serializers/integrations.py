"""Webhooks and imports (HTTP shapes)."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import BooleanField, CharField, TenantPrimaryKeyRelatedField
from credentials.models import School
from registry.models import ImportJob, Spa, WebhookSubscription
from registry.services.webhooks import EVENT_TYPES

# --- webhooks ------------------------------------------------------------------------------------


class WebhookSerializer(serializers.ModelSerializer):
    """A subscription of the caller's spa or school. The signing ``secret`` is shown once, in
    the answer that creates it."""

    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "active"]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    """The created subscription with its ``secret`` — the only time it is shown."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = ["id", "url", "events", "secret", "active"]
        read_only_fields = fields


class WebhookCreateSerializer(serializers.Serializer):
    """Input of ``POST /webhooks/``. Spa staff subscribe their spa, school staff their school;
    a registry admin names one ``spa`` or ``school``. Without ``secret`` one is generated."""

    url = serializers.URLField(max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False)
    secret = CharField(required=False, write_only=True, min_length=16, max_length=128, trim_whitespace=False)
    active = BooleanField(required=False, default=True)
    spa = TenantPrimaryKeyRelatedField(
        resource="spas", queryset=Spa.objects.all(), required=False, allow_null=True, write_only=True
    )
    school = serializers.PrimaryKeyRelatedField(
        queryset=School.objects.all(), required=False, allow_null=True, write_only=True
    )


class WebhookUpdateSerializer(serializers.Serializer):
    """Input of ``PATCH /webhooks/{id}/``: any of these; a new ``secret`` rotates it."""

    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False, required=False
    )
    secret = CharField(required=False, write_only=True, min_length=16, max_length=128, trim_whitespace=False)
    active = BooleanField(required=False)


# --- imports -------------------------------------------------------------------------------------


class ImportCreateSerializer(serializers.Serializer):
    """Input of ``POST /imports/`` (multipart): ``therapists`` (registry admin) or
    ``certifications`` (school staff for their school; a registry admin names ``school``)."""

    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    file = serializers.FileField(help_text="CSV, UTF-8, with the columns of its kind (API.md).")
    school = serializers.PrimaryKeyRelatedField(
        queryset=School.objects.all(), required=False, allow_null=True
    )


class ImportAcceptedSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = ["id", "status"]
        read_only_fields = fields


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The line in the file (the header is line 1).")
    reasons = serializers.ListField(
        child=serializers.DictField(), help_text="Each with `code` and `message`."
    )


class ImportJobSerializer(serializers.ModelSerializer):
    """An import's progress and report: every refused row and why."""

    report = ImportRowSerializer(many=True, read_only=True)

    class Meta:
        model = ImportJob
        fields = ["status", "rows", "accepted", "refused", "report"]
        read_only_fields = fields
