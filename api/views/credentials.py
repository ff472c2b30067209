"""Therapists and their licences, schools and their authorisations, instructors and their
experience, certifications and their verification: the read side.

Writes are added here as the credential services land, each an action calling one service:
``@licenses.mapping.post def license_create`` (admin), ``create`` on certifications (school
staff, admin), ``@action(detail=True, methods=["post"]) def revoke``, and so on. Their roles
are already in ``action_roles``; tenancy already narrows ``get_object()`` for them.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action

from api.filters import CertificationFilter, InstructorFilter, SchoolFilter, TherapistFilter
from api.permissions import (
    ADMIN,
    ALL_ROLES,
    EVERYONE,
    SCHOOL_AND_ADMIN,
    THERAPIST_SPA_ADMIN,
)
from api.serializers.credentials import (
    CertificationSerializer,
    ClinicalExperienceSerializer,
    InstructorSerializer,
    LicenseSerializer,
    SchoolAuthorizationSerializer,
    SchoolSerializer,
    TherapistSerializer,
    VerificationSerializer,
)
from api.views.base import ReadOnlyViewSet, RegistryViewSet
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    School,
    SchoolAuthorization,
    Therapist,
)


class NowContextMixin:
    """One ``now`` per request, so every row of a list is judged at the same instant."""

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}


class TherapistViewSet(ReadOnlyViewSet):
    """Therapists the caller may see: their own (therapist), those employed at their spa
    (spa staff), those their school certified (school staff: no email), all (admin)."""

    queryset = Therapist.objects.all()
    serializer_class = TherapistSerializer
    filterset_class = TherapistFilter
    tenant_resource = "therapists"
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": ADMIN,
        "partial_update": ADMIN,
        "licenses": THERAPIST_SPA_ADMIN,
        "license_create": ADMIN,
        "scope": ALL_ROLES,
    }

    @extend_schema(responses=LicenseSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        serializer_class=LicenseSerializer,
        filter_backends=[],
        filterset_class=None,
    )
    def licenses(self, request, pk=None):
        """The therapist's licences (the therapist, spa staff of a spa employing them, admins)."""
        therapist = self.get_object()
        licenses = License.objects.filter(therapist=therapist).order_by("jurisdiction", "number", "id")
        return self.list_response(self.scope_queryset(licenses, resource="licenses"), LicenseSerializer)


class SchoolViewSet(ReadOnlyViewSet):
    """Schools, readable by anyone."""

    queryset = School.objects.all()
    serializer_class = SchoolSerializer
    filterset_class = SchoolFilter
    tenant_resource = "public"
    action_roles = {
        "list": EVERYONE,
        "retrieve": EVERYONE,
        "create": ADMIN,
        "partial_update": ADMIN,
        "authorizations": EVERYONE,
        "authorization_create": ADMIN,
    }

    @extend_schema(responses=SchoolAuthorizationSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        serializer_class=SchoolAuthorizationSerializer,
        filter_backends=[],
        filterset_class=None,
    )
    def authorizations(self, request, pk=None):
        """The protocols the school is (or was) authorised to certify."""
        school = self.get_object()
        authorizations = (
            SchoolAuthorization.objects.filter(school=school)
            .select_related("protocol")
            .order_by("granted_at", "id")
        )
        return self.list_response(
            self.scope_queryset(authorizations, resource="public"), SchoolAuthorizationSerializer
        )


class AuthorizationViewSet(RegistryViewSet):
    """``/authorizations/{id}/``: the extension point for ``withdraw`` (registry admin)."""

    queryset = SchoolAuthorization.objects.select_related("protocol")
    serializer_class = SchoolAuthorizationSerializer
    tenant_resource = "public"
    action_roles = {"withdraw": ADMIN}


class InstructorViewSet(ReadOnlyViewSet):
    """Instructors and the schools (ids) whose roster they are on, readable by anyone."""

    queryset = Instructor.objects.prefetch_related(
        Prefetch("schools", queryset=School.objects.only("id").order_by("id"))
    )
    serializer_class = InstructorSerializer
    filterset_class = InstructorFilter
    tenant_resource = "instructors"
    action_roles = {
        "list": EVERYONE,
        "retrieve": EVERYONE,
        "create": SCHOOL_AND_ADMIN,
        "partial_update": SCHOOL_AND_ADMIN,
        "clinical_experience": EVERYONE,
        "experience_create": ADMIN,
    }

    @extend_schema(responses=ClinicalExperienceSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="clinical-experience",
        serializer_class=ClinicalExperienceSerializer,
        filter_backends=[],
        filterset_class=None,
    )
    def clinical_experience(self, request, pk=None):
        """The instructor's verified clinical experience (evidence: signed-in readers only)."""
        instructor = self.get_object()
        experience = (
            ClinicalExperience.objects.filter(instructor=instructor)
            .select_related("protocol")
            .order_by("verified_on", "id")
        )
        return self.list_response(
            self.scope_queryset(experience, resource="public"), ClinicalExperienceSerializer
        )


class ClinicalExperienceViewSet(RegistryViewSet):
    """``/clinical-experience/{id}/``: the extension point for ``withdraw`` (registry admin)."""

    queryset = ClinicalExperience.objects.select_related("protocol")
    serializer_class = ClinicalExperienceSerializer
    tenant_resource = "public"
    action_roles = {"withdraw": ADMIN}


class CertificationViewSet(NowContextMixin, ReadOnlyViewSet):
    """Certifications the caller may see: own (therapist), of therapists employed at the spa
    (spa staff), issued by the school (school staff), all (admin). ``status`` is computed
    now; filter with ``?therapist=&protocol=&school=&status=&review=``."""

    queryset = Certification.objects.select_related("protocol").order_by("-issued_at", "id")
    serializer_class = CertificationSerializer
    filterset_class = CertificationFilter
    tenant_resource = "certifications"
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": SCHOOL_AND_ADMIN,
        "revoke": SCHOOL_AND_ADMIN,
        "review": ADMIN,
    }


class VerificationViewSet(NowContextMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """``GET /verify/{serial}/``: anyone holding a certificate's serial may check it."""

    queryset = Certification.objects.select_related("therapist", "protocol", "school", "instructor")
    serializer_class = VerificationSerializer
    lookup_field = "serial"
    tenant_resource = "public"
    action_roles = {"retrieve": EVERYONE}
