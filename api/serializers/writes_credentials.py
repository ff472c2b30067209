"""Input shapes of the credential writes. Shape only: jurisdiction formats, duplicates, date
order, who may teach what and every issuance rule are the services' (``credentials.services``,
``registry.services``); they answer 400 with dotted paths, or a refusal with reasons.

Relations follow API.md's tenancy: a write names what the caller may read (400 "does not
exist" otherwise) — except ``therapist`` when issuing a certification (the therapist gives the
school their registry id). ``school`` on an issuance or an instructor's roster is among the
schools the caller acts for: their own (school staff), any (registry admin)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from rest_framework import serializers

from api.serializers.fields import (
    BooleanField,
    CharField,
    EnumField,
    IntegerField,
    JurisdictionField,
    OptionalEmailField,
    SlugRelatedField,
    TenantPrimaryKeyRelatedField,
)
from api.serializers.writes_common import AwareDateTimeField, WritableTenantPrimaryKeyRelatedField
from api.tenancy import membership_of
from credentials.choices import LicenseStatus
from credentials.models import Instructor, School, Therapist
from protocols.choices import ModuleKind
from protocols.models import Protocol
from registry.choices import Role
from registry.models import Spa


def _protocol_field(**kwargs) -> serializers.SlugRelatedField:
    return SlugRelatedField(
        slug_field="slug", queryset=Protocol.objects.all(), help_text="Protocol slug.", **kwargs
    )


# --- therapists and licences ----------------------------------------------------------------


class TherapistWriteSerializer(serializers.Serializer):
    """A therapist (``PATCH``: either field, to correct it)."""

    name = CharField(max_length=200)
    email = OptionalEmailField()


class ScopeQuerySerializer(serializers.Serializer):
    """``?at=&spa=`` of a therapist's scope."""

    at = AwareDateTimeField(
        required=False, help_text="The instant asked about (RFC 3339 with an offset); default now."
    )
    spa = TenantPrimaryKeyRelatedField(
        resource="spas",
        queryset=Spa.objects.all(),
        required=False,
        help_text="With a spa (one the caller may read): a licence in its jurisdiction is required.",
    )


class ScopeSerializer(serializers.Serializer):
    protocols = serializers.ListField(
        child=serializers.CharField(), help_text="Slugs of the protocols the therapist may practise."
    )
    conditions = serializers.ListField(
        child=serializers.CharField(), help_text="Codes of the conditions the therapist may treat."
    )


class LicenseCreateSerializer(serializers.Serializer):
    jurisdiction = JurisdictionField()
    number = CharField(max_length=60)
    status = EnumField(LicenseStatus, required=False, default=LicenseStatus.ACTIVE)
    valid_from = serializers.DateField(help_text="First day (inclusive).")
    expires_on = serializers.DateField(help_text="Last day (inclusive).")


class LicenseChangeSerializer(serializers.Serializer):
    """A licence's new status or expiry (a renewal moves ``expires_on``), with the reason."""

    status = EnumField(LicenseStatus, required=False)
    expires_on = serializers.DateField(required=False, help_text="Last day (inclusive).")
    reason = CharField(help_text="Why; kept in the audit trail.")

    # The reason is required on PATCH too: this body is never partial (and the schema says so).
    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass


# --- schools, instructors -------------------------------------------------------------------


class SchoolCreateSerializer(serializers.Serializer):
    name = CharField(max_length=200)
    jurisdiction = JurisdictionField()
    contact_email = OptionalEmailField(default="")


class AuthorizationCreateSerializer(serializers.Serializer):
    protocol = _protocol_field()


class InstructorCreateSerializer(serializers.Serializer):
    """A new instructor on the rosters of ``schools``: school staff name their own school."""

    name = CharField(max_length=200)
    schools = serializers.ListField(
        child=WritableTenantPrimaryKeyRelatedField(resource="schools", queryset=School.objects.all()),
        required=False,
        default=list,
        help_text="Ids of the schools whose roster the instructor joins (school staff: their own).",
    )

    def validate_schools(self, schools: list[School]) -> list[School]:
        request = self.context.get("request")
        membership = membership_of(getattr(request, "user", None))
        if membership is not None and membership.role == Role.SCHOOL_STAFF and not schools:
            raise serializers.ValidationError("Name your school: the instructor joins its roster.")
        return list(dict.fromkeys(schools))


class ClinicalExperienceCreateSerializer(serializers.Serializer):
    protocol = _protocol_field()
    years = IntegerField(min_value=0)
    cases = IntegerField(min_value=0)
    evidence = CharField(help_text="What the registry checked (not shown to anonymous readers).")
    verified_on = serializers.DateField(
        required=False, help_text="The day the experience is attested from (≤ today; default today)."
    )


# --- certifications -------------------------------------------------------------------------


class ModuleCompletionInputSerializer(serializers.Serializer):
    kind = EnumField(ModuleKind)
    completed_on = serializers.DateField()
    hours = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=0, max_value=Decimal("9999.99"), coerce_to_string=False
    )
    assessment_passed = BooleanField()


class CertificationIssueSerializer(serializers.Serializer):
    """A certification to issue. ``therapist``: any therapist's registry id. ``school``: the
    caller's own (school staff) or any (registry admin)."""

    therapist = serializers.PrimaryKeyRelatedField(queryset=Therapist.objects.all())
    protocol = _protocol_field()
    school = WritableTenantPrimaryKeyRelatedField(resource="schools", queryset=School.objects.all())
    instructor = serializers.PrimaryKeyRelatedField(queryset=Instructor.objects.all())
    taught_on = serializers.DateField()
    valid_from = AwareDateTimeField(
        required=False, help_text="When it becomes valid (RFC 3339 with an offset); default now."
    )
    modules = ModuleCompletionInputSerializer(
        many=True,
        help_text="One completion per module kind: fundamentals, critical-details, harm-avoidance.",
    )


class ReviewDecision(models.TextChoices):
    KEEP = "keep", "Keep: clear the review flag"
    REVOKE = "revoke", "Revoke: bookings resting on it are re-checked"


class CertificationReviewSerializer(serializers.Serializer):
    """The registry's decision on a certification flagged for review."""

    decision = EnumField(ReviewDecision)
    reason = CharField(help_text="Why; kept in the audit trail.")
    reviewed_reason = serializers.CharField(
        required=False,
        trim_whitespace=False,
        help_text="The certification's `review_reason` as you read it. Given, a `keep` of a "
        "certification flagged again since (another reason added) is a 409: review it again.",
    )
