"""Rate limits for the throttled flows of API.md: anonymous reads, login, token rotation.

Rates are the ``DEFAULT_THROTTLE_RATES`` setting (read at request time, so a changed setting
applies); ``REGISTRY_THROTTLE_RATES=off`` (``settings.THROTTLING_ENABLED`` false) switches
every one of them off. Counts live in Django's cache: with several processes, configure a
shared cache (Redis) so the limit holds across them.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _Switchable:
    """Reads its rate when asked and lets everything through when throttling is off."""

    scope: str

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        if not getattr(settings, "THROTTLING_ENABLED", True):
            return True
        return super().allow_request(request, view)

    def get_ident(self, request) -> str:
        # DRF trusts X-Forwarded-For when NUM_PROXIES is unset, which lets a client pick its
        # own identity (and dodge the limit). Trust it only behind a configured proxy count.
        if api_settings.NUM_PROXIES is None:
            return request.META.get("REMOTE_ADDR", "")
        return super().get_ident(request)


class AnonReadThrottle(_Switchable, AnonRateThrottle):
    """Anonymous callers, per client address (authenticated callers are not counted)."""

    scope = "anon-read"


class TokenRotateThrottle(_Switchable, UserRateThrottle):
    """Token rotation, per user."""

    scope = "token-rotate"


class LoginThrottle(_Switchable, SimpleRateThrottle):
    """Sign-in attempts, per client address (used by the session login view)."""

    scope = "login"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
