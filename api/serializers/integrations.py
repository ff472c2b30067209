"""Webhooks and imports (HTTP shapes)."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import BooleanField, CharField, EnumField, TenantPrimaryKeyRelatedField
from credentials.models import School
from registry.choices import ImportKind, RosterFinding
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
    """Input of ``POST /imports/`` (multipart): ``therapists`` (registry admin),
    ``certifications`` (school staff for their school; a registry admin names ``school``), or
    ``license-roster`` (registry admin, naming the roster's ``jurisdiction``)."""

    kind = EnumField(ImportKind)
    file = serializers.FileField(
        help_text="UTF-8, with the columns of its kind (docs/interoperability.md, API.md): CSV; "
        "a licence roster also as JSON (an array of objects)."
    )
    school = serializers.PrimaryKeyRelatedField(
        queryset=School.objects.all(), required=False, allow_null=True
    )
    jurisdiction = CharField(
        required=False,
        allow_blank=True,
        max_length=10,
        help_text="A licence roster's jurisdiction (ISO 3166-2, e.g. `US-CA`); required for "
        "`license-roster`, ignored otherwise.",
    )


class ImportAcceptedSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = ["id", "status"]
        read_only_fields = fields


class ImportSummarySerializer(serializers.ModelSerializer):
    """An import in a list: what it was and how it went, without its file or report (those are
    on ``GET /imports/{id}/``)."""

    kind = EnumField(ImportKind, read_only=True)
    status = EnumField(ImportJob.Status, read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "school",
            "jurisdiction",
            "source",
            "rows",
            "accepted",
            "refused",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The line in the file (the header is line 1).")
    reasons = serializers.ListField(
        child=serializers.DictField(), help_text="Each with `code` and `message`."
    )


class ImportFindingSerializer(serializers.Serializer):
    """What a licence roster found besides refused rows."""

    row = serializers.IntegerField(
        allow_null=True, help_text="The roster's row (CSV line, or JSON entry from 1); null: not listed."
    )
    license = serializers.UUIDField(help_text="The registry's licence.")
    number = serializers.CharField()
    code = EnumField(
        RosterFinding,
        help_text="`NAME_MISMATCH`: for review; the licence is not marked verified, and a change "
        "that would permit more (reactivated, a later expiry) is held.",
    )
    message = serializers.CharField()
    bookings_needing_reassignment = serializers.IntegerField(
        required=False,
        help_text="`LICENSE_CHANGED`: the future bookings the change moved to needs-reassignment.",
    )


class ImportJobSerializer(serializers.ModelSerializer):
    """An import's progress and report: every refused row and why; for a licence roster, also
    its findings."""

    report = ImportRowSerializer(many=True, read_only=True)
    findings = ImportFindingSerializer(
        many=True, read_only=True, help_text="A licence roster's findings (empty for other kinds)."
    )

    class Meta:
        model = ImportJob
        fields = ["status", "rows", "accepted", "refused", "report", "findings"]
        read_only_fields = fields
