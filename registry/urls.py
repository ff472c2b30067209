"""URL wiring: the one place that imports ``api``."""

from django.contrib import admin
from django.urls import include, path

from registry.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("api.urls")),
]
