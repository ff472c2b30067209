"""Therapists and their licences, schools and their authorisations, instructors and their
experience, certifications and their verification.

Reads are tenant-scoped lists and details; each write is an input serializer, one service call
and the resource's representation. Refusals and conflicts come from the services: a
``DomainError`` is a 400 with dotted paths, a ``Conflict`` (revoking twice) a 409, a refused
issuance a 422 ``issuance-refused`` with every reason.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from api.exceptions import problem
from api.filters import CertificationFilter, InstructorFilter, SchoolFilter, TherapistFilter
from api.idempotency import idempotent
from api.permissions import (
    ADMIN,
    ALL_ROLES,
    EVERYONE,
    SCHOOL_AND_ADMIN,
    THERAPIST_SPA_ADMIN,
)
from api.schema import problems
from api.serializers.coverage import SchoolDemandSerializer
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
from api.serializers.writes_common import ReasonInputSerializer
from api.serializers.writes_credentials import (
    AuthorizationCreateSerializer,
    CertificationIssueSerializer,
    CertificationReviewSerializer,
    ClinicalExperienceCreateSerializer,
    InstructorCreateSerializer,
    LicenseChangeSerializer,
    LicenseCreateSerializer,
    SchoolCreateSerializer,
    ScopeQuerySerializer,
    ScopeSerializer,
    TherapistWriteSerializer,
)
from api.tenancy import scoped
from api.views.base import ReadOnlyViewSet, RegistryViewSet, WriteMixin
from credentials import services as credential_services
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    School,
    SchoolAuthorization,
    Therapist,
)
from registry.coverage.selectors import school_demand
from registry.selectors import therapist_scope
from registry.services import credentials as credential_use_cases
from registry.services import rechecks


class NowContextMixin:
    """One ``now`` per request, so every row of a list is judged at the same instant."""

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}


class TherapistViewSet(WriteMixin, ReadOnlyViewSet):
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

    @extend_schema(request=TherapistWriteSerializer, responses={201: TherapistSerializer})
    def create(self, request):
        """Register a therapist (name, optional email)."""
        therapist = credential_services.therapist_create(
            actor=request.user, **self.validated(TherapistWriteSerializer)
        )
        return self.represented(TherapistSerializer, therapist, status.HTTP_201_CREATED)

    @extend_schema(request=TherapistWriteSerializer, responses=TherapistSerializer)
    def partial_update(self, request, pk=None):
        """Correct a therapist's name or email."""
        therapist = self.get_object()
        therapist = credential_services.therapist_update(
            actor=request.user, therapist=therapist, **self.validated(TherapistWriteSerializer, partial=True)
        )
        return self.represented(TherapistSerializer, therapist)

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

    @extend_schema(request=LicenseCreateSerializer, responses={201: LicenseSerializer})
    @licenses.mapping.post
    def license_create(self, request, pk=None):
        """Record a licence of the therapist (registry admins); its number is unique in its
        jurisdiction."""
        therapist = self.get_object()
        license = credential_services.license_create(
            actor=request.user, therapist=therapist, **self.validated(LicenseCreateSerializer)
        )
        return self.represented(LicenseSerializer, license, status.HTTP_201_CREATED)

    @extend_schema(parameters=[ScopeQuerySerializer], responses=ScopeSerializer)
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None)
    def scope(self, request, pk=None):
        """What the therapist may treat at ``at`` (default now): the protocols they hold a valid
        certification in, given an active licence (with ``spa``: in its jurisdiction), and
        the conditions whose every requirement group those protocols meet."""
        therapist = self.get_object()
        query = ScopeQuerySerializer(data=request.query_params, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        spa = query.validated_data.get("spa")
        result = therapist_scope(
            therapist_id=therapist.pk,
            at=query.validated_data.get("at") or timezone.now(),
            spa_id=spa.pk if spa is not None else None,
        )
        return Response(ScopeSerializer(result).data)


class LicenseViewSet(WriteMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """``/licenses/{id}/``: one licence (readers as for a therapist's licences); registry
    admins change its status or expiry."""

    queryset = License.objects.all()
    serializer_class = LicenseSerializer
    tenant_resource = "licenses"
    action_roles = {"retrieve": THERAPIST_SPA_ADMIN, "partial_update": ADMIN}

    @extend_schema(request=LicenseChangeSerializer, responses=LicenseSerializer)
    def partial_update(self, request, pk=None):
        """Change the licence's status or expiry, with a reason (audited). A licence that now
        permits less — no longer active, or ending earlier — re-checks the therapist's future
        bookings in its jurisdiction: those no longer allowed need reassignment."""
        license, _changed = rechecks.license_change(
            actor=request.user, license=self.get_object(), **self.validated(LicenseChangeSerializer)
        )
        return self.represented(LicenseSerializer, license)


class SchoolViewSet(WriteMixin, ReadOnlyViewSet):
    """Schools, readable by anyone; registry admins add them and authorise them per protocol."""

    queryset = School.objects.all()
    serializer_class = SchoolSerializer
    filterset_class = SchoolFilter
    tenant_resource = "schools"
    action_roles = {
        "list": EVERYONE,
        "retrieve": EVERYONE,
        "create": ADMIN,
        "authorizations": EVERYONE,
        "authorization_create": ADMIN,
        "demand": SCHOOL_AND_ADMIN,
    }

    @extend_schema(request=SchoolCreateSerializer, responses={201: SchoolSerializer})
    def create(self, request):
        """Add a school (a unique name, an ISO 3166-2 jurisdiction). It certifies nothing until
        authorised for a protocol."""
        school = credential_services.school_create(
            actor=request.user, **self.validated(SchoolCreateSerializer)
        )
        return self.represented(SchoolSerializer, school, status.HTTP_201_CREATED)

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

    @extend_schema(request=AuthorizationCreateSerializer, responses={201: SchoolAuthorizationSerializer})
    @authorizations.mapping.post
    def authorization_create(self, request, pk=None):
        """Authorise the school to certify a protocol from now (registry admins). Already
        authorised: 409."""
        authorization = credential_services.school_authorization_grant(
            actor=request.user, school=self.get_object(), **self.validated(AuthorizationCreateSerializer)
        )
        return self.represented(SchoolAuthorizationSerializer, authorization, status.HTTP_201_CREATED)

    @extend_schema(responses=SchoolDemandSerializer)
    @action(detail=True, methods=["get"], filter_backends=[], filterset_class=None, pagination_class=None)
    def demand(self, request, pk=None):
        """What the spas around the school were short of (the school's staff, registry
        admins): per protocol the school is authorised to teach, the booking attempts refused
        over the last 90 days at the spas of its jurisdiction because no therapist tried held
        the protocol (``PROTOCOL_NOT_CERTIFIED``), and their intakes — aggregated across spas,
        naming no spa, therapist or client; a count under 5, or from a single spa, is `null`
        (suppressed). Another school's demand answers 404. See docs/coverage.md."""
        schools = scoped("schools", School.objects.all(), request.user, for_write=True)
        school = get_object_or_404(schools, pk=pk)
        report = school_demand(school=school, now=timezone.now())
        return Response(SchoolDemandSerializer(report).data)


class AuthorizationViewSet(WriteMixin, RegistryViewSet):
    """``/authorizations/{id}/``: registry admins withdraw a school's authorisation."""

    queryset = SchoolAuthorization.objects.select_related("protocol")
    serializer_class = SchoolAuthorizationSerializer
    tenant_resource = "public"
    action_roles = {"withdraw": ADMIN}

    @extend_schema(request=ReasonInputSerializer, responses=SchoolAuthorizationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw the authorisation from now. Certificates already issued under it stand
        but are flagged for registry review. Already withdrawn: 409."""
        result = credential_use_cases.school_authorization_withdraw(
            actor=request.user, authorization=self.get_object(), **self.validated(ReasonInputSerializer)
        )
        return self.represented(SchoolAuthorizationSerializer, result.withdrawn)


class InstructorViewSet(WriteMixin, ReadOnlyViewSet):
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
        "clinical_experience": EVERYONE,
        "experience_create": ADMIN,
    }

    @extend_schema(request=InstructorCreateSerializer, responses={201: InstructorSerializer})
    def create(self, request):
        """Add an instructor to school rosters (school staff: their own school's). They teach
        a protocol only once the registry verifies their clinical experience in it."""
        instructor = credential_services.instructor_create(
            actor=request.user, **self.validated(InstructorCreateSerializer)
        )
        return self.represented(InstructorSerializer, instructor, status.HTTP_201_CREATED)

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

    @extend_schema(request=ClinicalExperienceCreateSerializer, responses={201: ClinicalExperienceSerializer})
    @clinical_experience.mapping.post
    def experience_create(self, request, pk=None):
        """Verify the instructor's clinical experience in a protocol (registry admins only:
        this is the verification). ``verified_on``: the day it is attested from, default today."""
        experience = credential_services.clinical_experience_verify(
            actor=request.user,
            instructor=self.get_object(),
            **self.validated(ClinicalExperienceCreateSerializer),
        )
        return self.represented(ClinicalExperienceSerializer, experience, status.HTTP_201_CREATED)


class ClinicalExperienceViewSet(WriteMixin, RegistryViewSet):
    """``/clinical-experience/{id}/``: registry admins withdraw a verification."""

    queryset = ClinicalExperience.objects.select_related("protocol")
    serializer_class = ClinicalExperienceSerializer
    tenant_resource = "public"
    action_roles = {"withdraw": ADMIN}

    @extend_schema(request=ReasonInputSerializer, responses=ClinicalExperienceSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw the verification from now. Certificates the instructor taught on it stand
        but are flagged for registry review. Already withdrawn: 409."""
        result = credential_use_cases.clinical_experience_withdraw(
            actor=request.user, experience=self.get_object(), **self.validated(ReasonInputSerializer)
        )
        return self.represented(ClinicalExperienceSerializer, result.withdrawn)


class CertificationViewSet(WriteMixin, NowContextMixin, ReadOnlyViewSet):
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
        "scope_attest": ADMIN,
    }

    @extend_schema(request=CertificationIssueSerializer, responses={201: CertificationSerializer})
    @problems(422)
    @idempotent
    def create(self, request):
        """Issue a certification (school staff: for their own school; any therapist by id).
        Refused: 422 ``issuance-refused`` with every reason — ``SCHOOL_NOT_AUTHORIZED``,
        ``INSTRUCTOR_NOT_AT_SCHOOL``, ``INSTRUCTOR_NOT_QUALIFIED``, ``LICENSE_MISSING``,
        ``LICENSE_INACTIVE``, ``PREREQUISITE_MISSING``, ``MODULE_INCOMPLETE``."""
        outcome = credential_use_cases.certification_issue(
            actor=request.user, **self.validated(CertificationIssueSerializer)
        )
        if outcome.certification is None:
            return problem(
                "issuance-refused",
                422,
                "The certification cannot be issued: " + " ".join(r.message for r in outcome.reasons),
                reasons=[reason.as_dict() for reason in outcome.reasons],
            )
        return self.represented(CertificationSerializer, outcome.certification, status.HTTP_201_CREATED)

    @extend_schema(request=ReasonInputSerializer, responses=CertificationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke the certification from now (school staff: their school's), with a reason.
        Bookings resting on it are re-checked; the school and spas employing the therapist
        are told. Already revoked: 409."""
        certification, _changed = credential_use_cases.certification_revoke(
            actor=request.user, certification=self.get_object(), **self.validated(ReasonInputSerializer)
        )
        return self.represented(CertificationSerializer, certification)

    @extend_schema(request=CertificationReviewSerializer, responses=CertificationSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Settle a certification flagged for review (registry admins): ``keep`` clears the
        flag, ``revoke`` revokes it (bookings re-checked). Not flagged: 409."""
        certification, _changed = credential_use_cases.certification_review(
            actor=request.user,
            certification=self.get_object(),
            **self.validated(CertificationReviewSerializer),
        )
        return self.represented(CertificationSerializer, certification)

    @extend_schema(
        summary="Attest a provisional certification's supervised sessions (its scope becomes full)",
        request=ReasonInputSerializer,
        responses=CertificationSerializer,
    )
    @action(detail=True, methods=["post"], url_path="scope-attest")
    def scope_attest(self, request, pk=None):
        """Registry admins attest that the supervised sessions of a provisional certification
        were done outside the registry (before it existed, or under a hospital's proctoring):
        its scope is full from now, audited with the reason; the school and the spas
        employing the therapist are told (``certification.scope_full``). Already full, its
        protocol asking for no supervised sessions, or revoked: 409."""
        certification = credential_use_cases.certification_scope_attest(
            actor=request.user, certification=self.get_object(), **self.validated(ReasonInputSerializer)
        )
        return self.represented(CertificationSerializer, certification)


class VerificationViewSet(NowContextMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """``GET /verify/{serial}/``: anyone holding a certificate's serial may check it."""

    queryset = Certification.objects.select_related("therapist", "protocol", "school", "instructor")
    serializer_class = VerificationSerializer
    lookup_field = "serial"
    tenant_resource = "public"
    action_roles = {"retrieve": EVERYONE}
