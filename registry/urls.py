"""URL wiring: the one place that imports ``api``."""

from django.contrib import admin
from django.urls import include, path

from registry.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("api.urls")),
]

# problem+json for /api/ paths, Django's own pages elsewhere.
handler404 = "api.views.errors.not_found"
handler500 = "api.views.errors.server_error"
