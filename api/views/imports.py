"""Bulk imports (CSV; a licence roster also JSON): queued, then processed row by row by a Celery
task through the same services as the API; the report names every refused row and why."""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from api.exceptions import problem
from api.permissions import SCHOOL_AND_ADMIN
from api.serializers.integrations import (
    ImportAcceptedSerializer,
    ImportCreateSerializer,
    ImportJobSerializer,
    ImportSummarySerializer,
)
from api.tenancy import membership_of
from api.views.base import RegistryViewSet
from registry.choices import ImportKind, Role
from registry.models import ImportJob
from registry.services.imports import import_create
from registry.tasks import run_import


class ImportFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ImportKind.choices)
    status = django_filters.ChoiceFilter(choices=ImportJob.Status.choices)

    class Meta:
        model = ImportJob
        fields = ["kind", "status"]


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Imports of the caller's school (school staff); all (registry admin). Newest first."""

    queryset = ImportJob.objects.order_by("-created_at", "id")
    serializer_class = ImportJobSerializer
    filterset_class = ImportFilter
    parser_classes = [MultiPartParser, FormParser]
    tenant_resource = "imports"
    action_roles = {"list": SCHOOL_AND_ADMIN, "create": SCHOOL_AND_ADMIN, "retrieve": SCHOOL_AND_ADMIN}

    def get_serializer_class(self):
        return ImportSummarySerializer if self.action == "list" else ImportJobSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":  # a file and its report can be megabytes: not in a list
            queryset = queryset.defer("content", "report", "findings")
        return queryset

    @extend_schema(responses=ImportSummarySerializer(many=True))
    def list(self, request, *args, **kwargs):
        """The imports the caller may follow (their school's; all for registry admins), newest
        first, ``?kind=&status=``: counts only — each one's report is on its own URL."""
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": ImportCreateSerializer}, responses={202: ImportAcceptedSerializer}
    )
    def create(self, request):
        """Queue an import: ``therapists`` (registry admin), ``certifications`` (school staff
        for their school; a registry admin names ``school``), or ``license-roster`` (registry
        admin: a licensing board's roster of one ``jurisdiction``, CSV or JSON, compared with
        the registry's licences there — see docs/interoperability.md). Answers 202 at once;
        follow ``GET /imports/{id}/`` for the report. A file that cannot be processed as a
        whole (wrong columns; a roster with a number listed twice, or of a jurisdiction the
        registry holds no licence in) is a 400 and changes nothing; one over the body limit: 413."""
        serializer = ImportCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        if upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return problem(
                "payload-too-large",
                413,
                f"The file is over the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; split it.",
            )
        kind, school = data["kind"], data.get("school")
        membership = membership_of(request.user)
        if kind == ImportJob.Kind.LICENSE_ROSTER and membership.role != Role.REGISTRY_ADMIN:
            raise exceptions.PermissionDenied("Only registry staff import licence rosters.")
        if membership.role == Role.SCHOOL_STAFF:
            if kind != ImportJob.Kind.CERTIFICATIONS:
                raise exceptions.PermissionDenied("School staff import certifications of their own school.")
            if school is not None and school.pk != membership.school_id:
                raise exceptions.ValidationError(
                    {"school": [f'Invalid pk "{school.pk}" - object does not exist.']}
                )
            school = membership.school
        try:
            content = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise exceptions.ValidationError({"file": ["The file is not UTF-8 text."]}) from None
        with transaction.atomic():
            job = import_create(
                actor=request.user,
                kind=kind,
                content=content,
                school=school,
                jurisdiction=data.get("jurisdiction", ""),
                source=upload.name or "",
            )
            transaction.on_commit(lambda: run_import.delay(str(job.pk)))
        return Response(ImportAcceptedSerializer(job).data, status=status.HTTP_202_ACCEPTED)
