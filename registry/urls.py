"""URL wiring: the one place that imports ``api``."""

from django.contrib import admin
from django.urls import include, path

from registry.health import healthz
from registry.web import verify

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("verify/<str:serial>.pdf", verify.certificate_pdf, name="verify-certificate-pdf"),
    path("verify/<str:serial>", verify.certificate_page, name="verify-certificate"),
    path("", include("api.urls")),
    path("", include("api.urls_fhir")),
    path("", include("registry.web.urls")),
]

# problem+json for /api/ paths, an OperationOutcome for /fhir/ paths, Django's own pages elsewhere.
handler404 = "api.views.errors.not_found"
handler500 = "api.views.errors.server_error"
