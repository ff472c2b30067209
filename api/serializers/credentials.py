"""Therapists, licences, schools, instructors, experience, certifications (read shapes)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.fields import EnumField, OptionalEmailField
from api.tenancy import role_of
from credentials.choices import CertificationStatus, LicenseStatus
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    School,
    SchoolAuthorization,
    Therapist,
)
from registry.choices import Role
from registry.events import certification_provisional


def _viewer(serializer: serializers.BaseSerializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class TherapistSerializer(serializers.ModelSerializer):
    """A therapist. ``email`` is left out for school staff (the roles table gives them the
    name and id only)."""

    # Not read-only, so the schema does not mark it required: it is absent for some readers.
    email = OptionalEmailField()

    class Meta:
        model = Therapist
        fields = ["id", "name", "email"]
        read_only_fields = ["id", "name"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if role_of(_viewer(self)) == Role.SCHOOL_STAFF:
            data.pop("email", None)
        return data


class LicenseSerializer(serializers.ModelSerializer):
    """A licence to practise in one jurisdiction; dates inclusive. ``verified_at`` and
    ``verified_source``: when and against which licensing board's roster the registry last
    checked it (null and empty: never)."""

    status = EnumField(LicenseStatus, read_only=True)

    class Meta:
        model = License
        fields = [
            "id",
            "jurisdiction",
            "number",
            "status",
            "valid_from",
            "expires_on",
            "verified_at",
            "verified_source",
        ]
        read_only_fields = fields


class SchoolSerializer(serializers.ModelSerializer):
    contact_email = OptionalEmailField(read_only=True)

    class Meta:
        model = School
        fields = ["id", "name", "jurisdiction", "contact_email"]
        read_only_fields = fields


class SchoolAuthorizationSerializer(serializers.ModelSerializer):
    """The registry's authorisation of a school to certify one protocol (by slug)."""

    protocol = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = SchoolAuthorization
        fields = ["id", "protocol", "granted_at", "withdrawn_at"]
        read_only_fields = fields


class InstructorSerializer(serializers.ModelSerializer):
    """An instructor and the schools (ids) whose roster they are on."""

    schools = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Instructor
        fields = ["id", "name", "schools"]
        read_only_fields = fields


class ClinicalExperienceSerializer(serializers.ModelSerializer):
    """Verified clinical experience in one protocol. ``evidence`` is left out for anonymous
    readers."""

    protocol = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    # Not read-only, so the schema does not mark it required: it is absent for anonymous readers.
    evidence = serializers.CharField(required=False)

    class Meta:
        model = ClinicalExperience
        fields = ["id", "protocol", "years", "cases", "evidence", "verified_on", "withdrawn_at"]
        read_only_fields = ["id", "protocol", "years", "cases", "verified_on", "withdrawn_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        viewer = _viewer(self)
        if not getattr(viewer, "is_authenticated", False):
            data.pop("evidence", None)
        return data


class CertificationSerializer(serializers.ModelSerializer):
    """A certification. ``status`` is computed now: ``active``, ``not-yet-valid``,
    ``expired`` or ``revoked`` (revocation wins). ``review_required``: the registry flagged
    it for review (the instructor's experience or the school's authorisation it rested on was
    withdrawn). Issue 23: ``provisional`` (its protocol asks for supervised sessions and the
    scope is not yet full), ``supervised_sessions_done`` and ``scope_full_at`` (when the scope
    became full: by counting, attestation or grandfathering; ``null`` while provisional or when
    the protocol asks for none)."""

    protocol = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.SerializerMethodField()
    provisional = serializers.SerializerMethodField()

    class Meta:
        model = Certification
        fields = [
            "id",
            "serial",
            "therapist",
            "protocol",
            "school",
            "instructor",
            "status",
            "taught_on",
            "valid_from",
            "expires_at",
            "issued_at",
            "revoked_at",
            "review_required",
            "provisional",
            "supervised_sessions_done",
            "scope_full_at",
        ]
        read_only_fields = fields

    @extend_schema_field(EnumField(CertificationStatus))
    def get_status(self, certification: Certification) -> str:
        now = self.context.get("now") or timezone.now()
        return str(certification.status_at(now))

    def get_provisional(self, certification: Certification) -> bool:
        return certification_provisional(certification)


class VerificationSerializer(serializers.ModelSerializer):
    """What anyone holding a serial may learn about the certificate: ``valid`` is true while
    its status is ``active``."""

    valid = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    therapist = serializers.CharField(source="therapist.name", read_only=True)
    protocol = serializers.CharField(source="protocol.slug", read_only=True)
    protocol_name = serializers.CharField(source="protocol.name", read_only=True)
    school = serializers.CharField(source="school.name", read_only=True)
    instructor = serializers.CharField(source="instructor.name", read_only=True)

    class Meta:
        model = Certification
        fields = [
            "valid",
            "status",
            "therapist",
            "protocol",
            "protocol_name",
            "school",
            "instructor",
            "valid_from",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def _status(self, certification: Certification) -> str:
        now = self.context.get("now") or timezone.now()
        return str(certification.status_at(now))

    @extend_schema_field(serializers.BooleanField())
    def get_valid(self, certification: Certification) -> bool:
        return self._status(certification) == CertificationStatus.ACTIVE

    @extend_schema_field(EnumField(CertificationStatus))
    def get_status(self, certification: Certification) -> str:
        return self._status(certification)
