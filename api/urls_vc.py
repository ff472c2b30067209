"""Verifiable-credential routes (signed certificates, JWKS, verification)."""

urlpatterns: list = []
