"""Users, ``/me``, tokens, and the throttled session login of the browsable API."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.exceptions import problem_response
from api.permissions import ADMIN, ANY_USER
from api.serializers.accounts import (
    MeSerializer,
    TokenSerializer,
    UserCreatedSerializer,
    UserCreateSerializer,
)
from api.tenancy import membership_of
from api.throttling import LoginThrottle, TokenRotateThrottle
from api.views.base import RegistryAPIView, RegistryViewSet
from core.models import User
from registry.services.accounts import token_revoke, token_rotate, user_create


class UserViewSet(RegistryViewSet):
    """Users (registry admins create them)."""

    queryset = User.objects.select_related("membership")
    serializer_class = UserCreateSerializer
    tenant_resource = "users"
    action_roles = {"create": ADMIN}

    @extend_schema(request=UserCreateSerializer, responses={201: UserCreatedSerializer})
    def create(self, request):
        """Create a user with one role bound to its tenant; the answer carries their token."""
        serializer = UserCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        user, token = user_create(actor=request.user, **serializer.validated_data)
        body = UserCreatedSerializer(user, context={"membership": membership_of(user), "token": token}).data
        return Response(body, status=status.HTTP_201_CREATED)


class MeView(RegistryAPIView):
    action_roles = {"get": ANY_USER}

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        """The caller: id, username, role and tenant."""
        return Response(MeSerializer(request.user, context={"membership": membership_of(request.user)}).data)


class TokenRotateView(RegistryAPIView):
    action_roles = {"post": ANY_USER}
    throttle_classes = [TokenRotateThrottle]

    @extend_schema(request=None, responses=TokenSerializer)
    def post(self, request):
        """A new API token for the caller; the old one stops working at once."""
        return Response({"token": token_rotate(user=request.user)})


class CurrentTokenView(RegistryAPIView):
    action_roles = {"delete": ANY_USER}

    @extend_schema(responses={204: None})
    def delete(self, request):
        """Revoke the caller's API token (the one used for this request)."""
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ThrottledLoginView(auth_views.LoginView):
    """Session sign-in for the browsable API, with sign-in attempts rate-limited ("login")."""

    template_name = "rest_framework/login.html"

    def post(self, request, *args, **kwargs):
        throttle = LoginThrottle()
        if not throttle.allow_request(request, self):
            wait = throttle.wait()
            response = problem_response("throttled", 429, "Too many sign-in attempts; wait and retry.")
            if wait is not None:
                response["Retry-After"] = str(int(wait) + 1)
            return response
        return super().post(request, *args, **kwargs)
