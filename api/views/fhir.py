"""The FHIR R5 endpoints under ``/fhir/`` (read-only): thin views over ``registry.fhir``.

Each view scopes the rows it reads with the API's tenancy functions (``api.tenancy``) and
declares who may call it in ``action_roles`` (the roles table of API.md), like every API
view; ``api.fhir`` supplies the FHIR JSON renderer, the negotiation and the OperationOutcome
errors. See docs/interoperability.md.
"""

from __future__ import annotations

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from api.fhir import FhirContentNegotiation, FhirJsonRenderer, fhir_exception_handler, outcome_http_response
from api.fhir import parse_search as _parse_search
from api.permissions import ALL_ROLES, EVERYONE, THERAPIST_SPA_ADMIN
from api.tenancy import TenantScopedMixin
from api.views.base import RegistryViewMixin
from credentials.models import Certification, License, School, Therapist
from registry import fhir
from registry.models import Employment, Spa


class FhirView(RegistryViewMixin, TenantScopedMixin, APIView):
    """GET only; FHIR JSON in, OperationOutcome for every error; not in the OpenAPI schema."""

    renderer_classes = [FhirJsonRenderer]
    parser_classes: list = []
    content_negotiation_class = FhirContentNegotiation
    metadata_class = None  # OPTIONS: 405, like any other method but GET
    schema = None

    def get_exception_handler(self):
        return fhir_exception_handler

    def scoped(self, queryset, resource: str):
        return self.scope_queryset(queryset, resource=resource)

    def practitioner_parts(self) -> dict:
        """Therapists, licences and certifications the caller may read."""
        return {
            "therapists": self.scoped(Therapist.objects.all(), "therapists"),
            "licenses": self.scoped(License.objects.all(), "licenses"),
            "certifications": self.scoped(Certification.objects.all(), "certifications"),
        }

    def role_parts(self) -> dict:
        """Employments and certifications the caller may read."""
        return {
            "employments": self.scoped(Employment.objects.all(), "employments"),
            "certifications": self.scoped(Certification.objects.all(), "certifications"),
        }

    def organization_parts(self) -> dict:
        """Spas and schools the caller may read."""
        return {
            "spas": self.scoped(Spa.objects.all(), "spas"),
            "schools": self.scoped(School.objects.all(), "schools"),
        }

    @staticmethod
    def found(resource):
        if resource is None:
            raise exceptions.NotFound()
        return Response(resource)


class CapabilityStatementView(FhirView):
    """``GET /fhir/metadata``: the CapabilityStatement (anyone may read it)."""

    action_roles = {"get": EVERYONE}

    def get(self, request):
        return Response(fhir.capability_statement(version=settings.SPECTACULAR_SETTINGS["VERSION"]))


class PractitionerSearchView(FhirView):
    """``GET /fhir/Practitioner?identifier=&name=&_id=&_count=&_offset=``."""

    action_roles = {"get": ALL_ROLES}

    def get(self, request):
        search = _parse_search(request, "Practitioner")
        return Response(fhir.practitioner_search(**self.practitioner_parts(), search=search))


class PractitionerReadView(FhirView):
    """``GET /fhir/Practitioner/{id}``."""

    action_roles = {"get": ALL_ROLES}

    def get(self, request, pk):
        return self.found(fhir.practitioner_read(**self.practitioner_parts(), pk=pk))


class PractitionerRoleSearchView(FhirView):
    """``GET /fhir/PractitionerRole?practitioner=&organization=&_id=&_count=&_offset=``."""

    action_roles = {"get": THERAPIST_SPA_ADMIN}

    def get(self, request):
        search = _parse_search(request, "PractitionerRole")
        return Response(fhir.practitioner_role_search(**self.role_parts(), search=search))


class PractitionerRoleReadView(FhirView):
    """``GET /fhir/PractitionerRole/{id}``."""

    action_roles = {"get": THERAPIST_SPA_ADMIN}

    def get(self, request, pk):
        return self.found(fhir.practitioner_role_read(**self.role_parts(), pk=pk))


class OrganizationSearchView(FhirView):
    """``GET /fhir/Organization?identifier=&name=&_id=&_count=&_offset=``: spas, then schools."""

    action_roles = {"get": ALL_ROLES}

    def get(self, request):
        search = _parse_search(request, "Organization")
        return Response(fhir.organization_search(**self.organization_parts(), search=search))


class OrganizationReadView(FhirView):
    """``GET /fhir/Organization/{id}``: a spa or a school."""

    action_roles = {"get": ALL_ROLES}

    def get(self, request, pk):
        return self.found(fhir.organization_read(**self.organization_parts(), pk=pk))


@csrf_exempt
def fhir_not_found(request, *args, **kwargs):
    """No FHIR route here (another resource type, a malformed path): 404 OperationOutcome."""
    return outcome_http_response(
        404, "This server serves Practitioner, PractitionerRole, Organization and metadata."
    )
