"""Verifiable-credential routes (signed certificates, JWKS, status lists, verification)."""

from django.urls import path

from api.views.vc import CertificationCredentialView, JwksView, StatusListView, VerifyView

urlpatterns = [
    path(
        "api/v1/certifications/<uuid:pk>/credential/",
        CertificationCredentialView.as_view(),
        name="certification-credential",
    ),
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
    path("api/v1/verify/", VerifyView.as_view(), name="verify-credential"),
    path("api/v1/status-lists/<uuid:pk>/", StatusListView.as_view(), name="status-list"),
]
