"""FHIR R5 routes (``/fhir/``, read-only; see ``api.views.fhir`` and docs/interoperability.md).
FHIR paths have no trailing slash; one is tolerated. Any other /fhir/ path is a 404
OperationOutcome."""

from django.urls import re_path

from api.views import fhir

_ID = r"(?P<pk>[^/]+)"

urlpatterns = [
    re_path(r"^fhir/metadata/?$", fhir.CapabilityStatementView.as_view(), name="fhir-metadata"),
    re_path(r"^fhir/Practitioner/?$", fhir.PractitionerSearchView.as_view(), name="fhir-practitioner-search"),
    re_path(
        rf"^fhir/Practitioner/{_ID}/?$", fhir.PractitionerReadView.as_view(), name="fhir-practitioner-read"
    ),
    re_path(
        r"^fhir/PractitionerRole/?$",
        fhir.PractitionerRoleSearchView.as_view(),
        name="fhir-practitionerrole-search",
    ),
    re_path(
        rf"^fhir/PractitionerRole/{_ID}/?$",
        fhir.PractitionerRoleReadView.as_view(),
        name="fhir-practitionerrole-read",
    ),
    re_path(r"^fhir/Organization/?$", fhir.OrganizationSearchView.as_view(), name="fhir-organization-search"),
    re_path(
        rf"^fhir/Organization/{_ID}/?$", fhir.OrganizationReadView.as_view(), name="fhir-organization-read"
    ),
    re_path(r"^fhir/", fhir.fhir_not_found),
]
