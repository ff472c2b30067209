"""Verifiable credentials over HTTP: a certification's signed credential, the public keys, and
online verification (the same verifier anyone can run offline)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from credentials.models import Certification
from credentials.vc import keys
from credentials.vc.document import credential_document, credential_queryset
from credentials.vc.jws import MEDIA_TYPE, sign_credential, verify_compact
from registry.choices import Role
from registry.models import Employment, Membership

PROBLEM_MEDIA_TYPE = "application/problem+json"


# --- visibility -------------------------------------------------------------------------------
# The same as a certification's detail. TODO: moves to the shared tenancy mixin.


def visible_certifications(user: Any, queryset: QuerySet[Certification]) -> QuerySet[Certification]:
    """Registry admins see all; a therapist their own; school staff their school's; spa staff
    those of therapists employed at their spa (an employment not ended before today in the
    spa's timezone). Anyone else: none."""
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    try:
        membership = Membership.objects.select_related("spa").get(user=user)
    except Membership.DoesNotExist:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.THERAPIST:
        return queryset.filter(therapist_id=membership.therapist_id)
    if membership.role == Role.SCHOOL_STAFF:
        return queryset.filter(school_id=membership.school_id)
    if membership.role == Role.SPA_STAFF and membership.spa is not None:
        today = _spa_today(membership.spa.timezone)
        employed = Employment.objects.filter(spa_id=membership.spa_id).filter(
            Q(ended_on__isnull=True) | Q(ended_on__gte=today)
        )
        return queryset.filter(therapist_id__in=employed.values("therapist_id"))
    return queryset.none()


def _spa_today(tz_name: str) -> dt.date:
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return timezone.localdate(timezone=tz)


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


class AnonymousThrottle(AnonRateThrottle):
    """Anonymous callers of public endpoints, at the ``anon-read`` rate; off when
    ``REGISTRY_THROTTLE_RATES=off``."""

    scope = "anon-read"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not getattr(settings, "THROTTLING_ENABLED", True):
            return True
        return super().allow_request(request, view)


class VcProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem (``application/problem+json``)."""

    type = serializers.CharField(help_text="`/problems/<name>`")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="validation-error only: messages by field.",
    )


def _problems(**described: str) -> dict[Any, OpenApiResponse]:
    """``_404="..."`` → the schema's problem+json response for 404."""
    return {
        (int(code.lstrip("_")), PROBLEM_MEDIA_TYPE): OpenApiResponse(VcProblemSerializer, description=text)
        for code, text in described.items()
    }


class VerificationCheckSerializer(serializers.Serializer):
    check = serializers.CharField(
        help_text="`format`, `algorithm`, `kid`, `signature`, `validity-window`, `jsonld-terms` "
        "(and `status` when a status list is checked)."
    )
    passed = serializers.BooleanField()
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


class CertificationCredentialView(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [VcJwtRenderer, JSONRenderer]

    @extend_schema(
        operation_id="certifications_credential",
        tags=["certifications"],
        summary="The certification as a signed Open Badges 3.0 credential",
        description=(
            "The Open Badges 3.0 `OpenBadgeCredential` (W3C VC 2.0) of the certification, secured "
            "as a compact JWS (`typ: vc+jwt`, EdDSA/Ed25519, `kid` of a key in "
            "`/.well-known/jwks.json`). With `Accept: application/json`, the unsigned credential "
            "JSON. A revoked certification's credential ends (`validUntil`) at its revocation."
        ),
        responses={
            (200, MEDIA_TYPE): OpenApiResponse(OpenApiTypes.STR, description="The compact JWS."),
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The credential (JSON-LD)."
            ),
            **_problems(
                _401="`not-authenticated`",
                _404="`not-found`: no such certification, or not one the caller may read.",
                _406="`not-acceptable`: ask for `application/vc+jwt` or `application/json`.",
            ),
        },
    )
    def get(self, request: Request, pk: Any) -> Response:
        queryset = visible_certifications(request.user, credential_queryset())
        certification = get_object_or_404(queryset, pk=pk)
        document = credential_document(certification)
        if request.accepted_renderer.media_type == MEDIA_TYPE:
            response = Response(sign_credential(document), content_type=MEDIA_TYPE)
        else:
            response = Response(document)
        patch_vary_headers(response, ["Accept"])
        return response


# --- public keys and verification ---------------------------------------------------------------


class JwksView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonymousThrottle]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="jwks",
        tags=["verifiable credentials"],
        summary="The registry's public signing keys (JWKS)",
        description=(
            "Every Ed25519 public key the registry signs credentials with, newest first. The "
            "newest signs; older keys stay here so what they signed still verifies."
        ),
        auth=[],
        responses={200: JsonWebKeySetSerializer, **_problems(_429="`throttled`")},
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


class VerifyView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonymousThrottle]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="verify_credential",
        tags=["verifiable credentials"],
        summary="Verify a signed credential",
        description=(
            "Checks, in order and each by name: `format`, `algorithm` (EdDSA only), `kid` (a key "
            "in the JWKS), `signature`, `validity-window` (validFrom ≤ now < validUntil), "
            "`jsonld-terms` (every property defined by the VC 2.0 and Open Badges 3.0 contexts). "
            "A malformed credential is `valid: false` with the failing check, not a 400."
        ),
        auth=[],
        request=VerifySerializer,
        responses={
            200: VerificationResultSerializer,
            **_problems(
                _400="`validation-error`: no `credential` string in the body.",
                _413="`payload-too-large`",
                _415="`unsupported-media-type`: send JSON.",
                _429="`throttled`",
            ),
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
        result = verify_compact(
            serializer.validated_data["credential"], keys.public_jwks(), now=timezone.now()
        )
        return Response(result.as_dict())
