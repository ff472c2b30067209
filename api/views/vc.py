"""Verifiable credentials over HTTP: a certification's signed credential, the public keys, the
revocation status lists, and online verification (the same verifier anyone can run offline)."""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.parsers import TextJSONParser
from api.permissions import ALL_ROLES, EVERYONE
from api.schema import PROBLEM_MEDIA_TYPE
from api.serializers.common import ProblemSerializer
from api.tenancy import TenantScopedMixin
from api.views.base import RegistryAPIView, RegistryViewMixin
from credentials.models import Certification, StatusList
from credentials.vc import keys
from credentials.vc.document import credential_document, credential_queryset
from credentials.vc.jws import MEDIA_TYPE, sign_credential, verify_compact
from credentials.vc.status_list import status_list_document, status_list_resolver

# --- shared bits ------------------------------------------------------------------------------


class VcJwtRenderer(BaseRenderer):
    """``application/vc+jwt``: the compact JWS as is. Problems (dicts) render as JSON, with the
    problem+json content type the exception handler sets."""

    media_type = MEDIA_TYPE
    format = "vc-jwt"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, str):
            return data.encode("ascii")
        return json.dumps(data, ensure_ascii=False).encode()


def _problems(**described: str) -> dict[Any, OpenApiResponse]:
    """``_406="..."`` → the schema's problem+json response for 406: the HTTP-level problems
    ``RegistryAutoSchema`` does not add by itself (it adds 400, 401, 403, 404, 429, and 409
    and 413 where they apply)."""
    return {
        (int(code.lstrip("_")), PROBLEM_MEDIA_TYPE): OpenApiResponse(ProblemSerializer, description=text)
        for code, text in described.items()
    }


class VerificationCheckSerializer(serializers.Serializer):
    check = serializers.CharField(
        help_text="`format`, `algorithm`, `kid`, `signature`, `validity-window`, `jsonld-terms` "
        "and `status` (when the credential carries a `credentialStatus`)."
    )
    passed = serializers.BooleanField(
        allow_null=True,
        help_text="`null`: not checked (the detail says why). Online, `status` is always checked.",
    )
    detail = serializers.CharField()


class VerificationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    checks = VerificationCheckSerializer(many=True, help_text="The checks run, in order.")


class JsonWebKeySerializer(serializers.Serializer):
    kty = serializers.CharField(help_text="`OKP`")
    crv = serializers.CharField(help_text="`Ed25519`")
    x = serializers.CharField(help_text="The public key, base64url.")
    kid = serializers.CharField(help_text="The RFC 7638 thumbprint; JWS headers name it.")
    use = serializers.CharField(help_text="`sig`")
    alg = serializers.CharField(help_text="`EdDSA`")


class JsonWebKeySetSerializer(serializers.Serializer):
    keys = JsonWebKeySerializer(many=True, help_text="Newest first; the newest signs.")


# --- the credential of a certification ---------------------------------------------------------


class CertificationCredentialView(RegistryViewMixin, TenantScopedMixin, GenericAPIView):
    """Whoever may read the certification (``api.tenancy``'s ``certifications`` scope) may
    fetch its credential; another tenant's answers 404."""

    queryset = Certification.objects.all()
    tenant_resource = "certifications"
    action_roles = {"get": ALL_ROLES}
    renderer_classes = [VcJwtRenderer, JSONRenderer]
    filter_backends: list = []
    pagination_class = None

    def get_queryset(self):
        # Everything the credential document reads, in a fixed number of queries.
        return self.scope_queryset(credential_queryset(), resource=self.tenant_resource)

    @extend_schema(
        operation_id="certifications_credential",
        tags=["certifications"],
        summary="The certification as a signed Open Badges 3.0 credential",
        description=(
            "The Open Badges 3.0 `OpenBadgeCredential` (W3C VC 2.0) of the certification, secured "
            "as a compact JWS (`typ: vc+jwt`, EdDSA/Ed25519, `kid` of a key in "
            "`/.well-known/jwks.json`). With `Accept: application/json`, the unsigned credential "
            "JSON. Its `credentialStatus` names its bit in a revocation status list "
            "(`/api/v1/status-lists/{id}/`): revocation sets the bit; the credential itself is "
            "the same before and after."
        ),
        responses={
            (200, MEDIA_TYPE): OpenApiResponse(OpenApiTypes.STR, description="The compact JWS."),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The credential (JSON-LD)."
            ),
            **_problems(_406="`not-acceptable`: ask for `application/vc+jwt` or `application/json`."),
        },
    )
    def get(self, request: Request, pk: Any) -> Response:
        certification = self.get_object()
        document = credential_document(certification)
        if request.accepted_renderer.media_type == MEDIA_TYPE:
            response = Response(sign_credential(document), content_type=MEDIA_TYPE)
        else:
            response = Response(document)
        patch_vary_headers(response, ["Accept"])
        return response


# --- public keys and verification ---------------------------------------------------------------


class JwksView(RegistryAPIView):
    authentication_classes: list = []  # public: a stale token must not stand in the way
    action_roles = {"get": EVERYONE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="jwks",
        tags=["verifiable credentials"],
        summary="The registry's public signing keys (JWKS)",
        description=(
            "Every Ed25519 public key the registry signs credentials with, newest first. The "
            "newest signs; older keys stay here so what they signed still verifies."
        ),
        responses={200: JsonWebKeySetSerializer},
    )
    def get(self, request: Request) -> Response:
        response = Response(keys.public_jwks())
        response["Cache-Control"] = "public, max-age=300"
        return response


class VerifySerializer(serializers.Serializer):
    credential = serializers.CharField(
        allow_blank=True, trim_whitespace=True, help_text="The compact JWS (`vc+jwt`)."
    )

    def to_internal_value(self, data: Any) -> Any:
        # DRF's CharField turns numbers into strings; a credential must be a string.
        if isinstance(data, dict) and "credential" in data and not isinstance(data["credential"], str):
            raise serializers.ValidationError({"credential": ["Must be a string (the compact JWS)."]})
        return super().to_internal_value(data)


class VerifyView(RegistryAPIView):
    authentication_classes: list = []  # anyone verifies; a stale token must not stand in the way
    action_roles = {"post": EVERYONE}
    parser_classes = [TextJSONParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="verify_credential",
        tags=["verifiable credentials"],
        summary="Verify a signed credential",
        description=(
            "Checks, in order and each by name: `format`, `algorithm` (EdDSA only), `kid` (a key "
            "in the JWKS), `signature`, `validity-window` (validFrom ≤ now < validUntil), "
            "`jsonld-terms` (every property defined by the VC 2.0 and Open Badges 3.0 contexts), "
            "`status` (the credential's bit in the registry's current revocation status list, "
            "read from the database: a revocation shows from the next request). "
            "A malformed credential is `valid: false` with the failing check, not a 400."
        ),
        request=VerifySerializer,
        responses={
            200: VerificationResultSerializer,
            **_problems(_415="`unsupported-media-type`: send JSON."),
        },
        examples=[
            OpenApiExample(
                "refused",
                response_only=True,
                value={
                    "valid": False,
                    "checks": [
                        {"check": "format", "passed": True, "detail": "compact JWS, typ vc+jwt, cty vc"},
                        {"check": "algorithm", "passed": False, "detail": "alg 'none' is not accepted"},
                    ],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = VerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        result = verify_compact(
            serializer.validated_data["credential"],
            keys.public_jwks(),
            now=now,
            status_list=status_list_resolver(now=now),
        )
        return Response(result.as_dict())


# --- revocation status lists ----------------------------------------------------------------------


class StatusListView(RegistryViewMixin, TenantScopedMixin, GenericAPIView):
    queryset = StatusList.objects.all()
    tenant_resource = "public"  # anyone checks a credential's status
    authentication_classes: list = []  # a stale token must not stand in the way
    action_roles = {"get": EVERYONE}
    renderer_classes = [VcJwtRenderer, JSONRenderer]
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        operation_id="status_list",
        tags=["verifiable credentials"],
        summary="A revocation status list (W3C Bitstring Status List)",
        description=(
            "The `BitstringStatusListCredential` a credential's `credentialStatus` names, signed "
            "like a credential (compact JWS, `typ: vc+jwt`; keys in `/.well-known/jwks.json`). "
            "Its `encodedList` is the bitstring (131,072 bits, GZIP then base64url, multibase "
            "`u`); bit `statusListIndex` is 1 once the certification is revoked. Always current "
            "(`validFrom` is the moment it was served), never cached. With `Accept: "
            "application/json`, the unsigned credential JSON."
        ),
        responses={
            (200, MEDIA_TYPE): OpenApiResponse(OpenApiTypes.STR, description="The compact JWS."),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The status list credential (JSON-LD)."
            ),
            **_problems(_406="`not-acceptable`: ask for `application/vc+jwt` or `application/json`."),
        },
    )
    def get(self, request: Request, pk: Any) -> Response:
        status_list = self.get_object()
        document = status_list_document(status_list, now=timezone.now())
        if request.accepted_renderer.media_type == MEDIA_TYPE:
            response = Response(sign_credential(document), content_type=MEDIA_TYPE)
        else:
            response = Response(document)
        patch_vary_headers(response, ["Accept"])
        # A revocation shows from the very next request: nobody may serve a stored copy.
        response["Cache-Control"] = "no-cache"
        return response
