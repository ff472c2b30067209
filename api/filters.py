"""Query-parameter filters of the list endpoints (django-filter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from credentials.choices import CertificationStatus
from credentials.models import Certification, ClinicalExperience, Instructor, School, Therapist
from protocols.choices import BodyRegion, ScreeningAction
from protocols.models import Condition, Protocol, RequirementGroup, ScreeningQuestion


class StrictNullBooleanField(forms.NullBooleanField):
    """``true`` or ``false`` (``True``/``False``, ``1``/``0`` too); empty is no filter, anything
    else a 400 rather than silently no filter."""

    widget = forms.TextInput  # the select widget would turn an unknown value into "no filter"

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if value in (True, "True", "true", "1"):
            return True
        if value in (False, "False", "false", "0"):
            return False
        raise forms.ValidationError("Give true or false.", code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField


class ProtocolFilter(django_filters.FilterSet):
    region = django_filters.ChoiceFilter(choices=BodyRegion.choices)

    class Meta:
        model = Protocol
        fields = ["region"]


class ConditionFilter(django_filters.FilterSet):
    region = django_filters.ChoiceFilter(choices=BodyRegion.choices)
    code_system = django_filters.CharFilter()
    protocol = django_filters.CharFilter(
        method="filter_protocol", help_text="Conditions with a requirement group naming this protocol (slug)."
    )

    class Meta:
        model = Condition
        fields = ["region", "code_system", "protocol"]

    def filter_protocol(self, queryset, name, value):
        groups = RequirementGroup.objects.filter(condition=OuterRef("pk"), protocols__slug=value)
        return queryset.filter(Exists(groups))


class ScreeningQuestionFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=ScreeningAction.choices)
    region = django_filters.ChoiceFilter(
        choices=BodyRegion.choices,
        method="filter_region",
        help_text="Questions asked when the intake involves this region (including those asked always).",
    )

    class Meta:
        model = ScreeningQuestion
        fields = ["action", "region"]

    def filter_region(self, queryset, name, value):
        return queryset.filter(Q(regions__contains=[value]) | Q(regions=[]))


class TherapistFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Therapist
        fields = ["name"]


class SchoolFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    jurisdiction = django_filters.CharFilter()

    class Meta:
        model = School
        fields = ["name", "jurisdiction"]


class InstructorFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    school = django_filters.UUIDFilter(field_name="schools__id", distinct=True)
    protocol = django_filters.CharFilter(
        method="filter_protocol",
        help_text="Instructors with verified, not withdrawn experience in this protocol (slug).",
    )

    class Meta:
        model = Instructor
        fields = ["name", "school", "protocol"]

    def filter_protocol(self, queryset, name, value):
        experience = ClinicalExperience.objects.filter(
            instructor=OuterRef("pk"), protocol__slug=value, withdrawn_at__isnull=True
        )
        return queryset.filter(Exists(experience))


def certification_status_q(status: str, at) -> Q:
    """The rows whose ``Certification.status_at(at)`` is ``status`` (revocation wins)."""
    revoked = Q(revoked_at__isnull=False, revoked_at__lte=at)
    return {
        CertificationStatus.REVOKED: revoked,
        CertificationStatus.NOT_YET_VALID: ~revoked & Q(valid_from__gt=at),
        CertificationStatus.EXPIRED: ~revoked & Q(valid_from__lte=at, expires_at__lte=at),
        CertificationStatus.ACTIVE: ~revoked & Q(valid_from__lte=at, expires_at__gt=at),
    }[status]


class CertificationFilter(django_filters.FilterSet):
    therapist = django_filters.UUIDFilter(field_name="therapist_id")
    protocol = django_filters.CharFilter(field_name="protocol__slug", help_text="Protocol slug.")
    school = django_filters.UUIDFilter(field_name="school_id")
    status = django_filters.ChoiceFilter(
        choices=CertificationStatus.choices, method="filter_status", help_text="Status now."
    )
    review = BooleanFilter(field_name="review_required", help_text="Flagged for registry review.")

    class Meta:
        model = Certification
        fields = ["therapist", "protocol", "school", "status", "review"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(certification_status_q(value, timezone.now()))
