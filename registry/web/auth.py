"""Signing in and out of the pages, each role's home, and the one gate every signed-in page
passes: ``role_required``.

A user has one role (``registry.Membership``). After signing in, each role lands on its own
home (``ROLE_HOMES``); a page for other roles answers 403, and an anonymous visitor is sent to
the sign-in page. Pages of a tenant (a spa, a school) run with the tenant's timezone active,
so every time they show or read is in it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.views.decorators.http import require_safe
from django_htmx.http import HttpResponseClientRedirect

from registry.choices import Role
from registry.models import Membership

# Where each role lands after signing in (URL names): the front desk (``frontdesk``), the school
# office (``school``), the therapist's own page (``therapist``) and registry staff's pages
# (``staff``).
ROLE_HOMES: dict[str, str] = {
    Role.SPA_STAFF: "web:frontdesk",
    Role.SCHOOL_STAFF: "web:school-home",
    Role.THERAPIST: "web:therapist-home",
    Role.REGISTRY_ADMIN: "web:registry-admin-home",
}


def membership_of(request: HttpRequest) -> Membership | None:
    """The signed-in user's role and tenant, read once per request."""
    if not request.user.is_authenticated:
        return None
    if not hasattr(request, "_membership"):
        request._membership = (
            Membership.objects.select_related("spa", "school", "therapist")
            .filter(user_id=request.user.pk)
            .first()
        )
    return request._membership


def tenant_timezone(membership: Membership) -> zoneinfo.ZoneInfo:
    """The spa's timezone for spa staff; UTC for the others."""
    name = membership.spa.timezone if membership.spa_id else "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def forbidden(request: HttpRequest, membership: Membership | None) -> HttpResponse:
    home = ROLE_HOMES.get(membership.role) if membership else None
    return render(request, "home/forbidden.html", {"home_url_name": home}, status=403)


def role_required(*roles: str) -> Callable:
    """Only users of one of ``roles`` (others: 403; anonymous: to the sign-in page). The view
    finds the user's membership (role, spa, school, therapist) at ``request.membership`` and
    runs with the tenant's timezone active."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                if getattr(request, "htmx", False):  # a fragment request: send the whole page
                    return HttpResponseClientRedirect(resolve_url(settings.LOGIN_URL))
                return redirect_to_login(request.get_full_path())
            membership = membership_of(request)
            if membership is None or membership.role not in roles:
                return forbidden(request, membership)
            request.membership = membership
            with timezone.override(tenant_timezone(membership)):
                return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _login_attempts_exceeded(request: HttpRequest) -> bool:
    """Sign-in attempts per client address within the window of the ``login`` rate (the same
    setting as the API's session login). Counted in Django's cache: use a shared cache when
    several web processes run."""
    if not settings.THROTTLING_ENABLED:
        return False
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"]
    count, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    key = f"page-login:{request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, seconds)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, seconds)
        attempts = 1
    return attempts > int(count)


class LoginView(auth_views.LoginView):
    """Username and password; a signed-in visitor goes straight to their home. Attempts are
    throttled per client address (429 with a plain message)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True
    next_page = "web:home"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if _login_attempts_exceeded(request):
            response = HttpResponse(
                "Too many sign-in attempts from this address. Wait a minute and try again.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = "60"
            return response
        return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, with the CSRF token), back to the sign-in page."""

    next_page = "web:login"


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to their role's home."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership = membership_of(request)
    if membership is None or membership.role not in ROLE_HOMES:
        return forbidden(request, None)
    return redirect(ROLE_HOMES[membership.role])
