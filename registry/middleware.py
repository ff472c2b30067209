"""Row-level security for requests (API, pages, admin): see ``registry.rls``."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.db import transaction

from registry import rls


def membership_cached(user):
    """The user's membership, loaded once per request and kept on the user where
    ``api.tenancy.membership_of`` reads it."""
    if not hasattr(user, "_api_membership"):
        from registry.models import Membership

        if "membership" in user._state.fields_cache:
            user._api_membership = user._state.fields_cache["membership"]
        else:
            user._api_membership = Membership.objects.filter(user_id=user.pk).first()
    return user._api_membership


class RowLevelSecurityMiddleware:
    """Each request runs in ONE transaction that starts with no scope (no client row), then
    the caller's: the session user's here (pages, admin, the browsable API), the token user's
    from the authentication statement (``api.authentication``). The scope the process had
    before (none in a web process) is back after the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # savepoint=False: inside an enclosing transaction (a test's) the request adds no
        # statement of its own, as a real request's BEGIN and COMMIT are none of Django's queries.
        with rls.scope(None), transaction.atomic(savepoint=False):
            session = getattr(request, "session", None)
            if session is not None and SESSION_KEY in session:
                user = request.user
                if user.is_authenticated and user.is_active:
                    rls.set_scope(rls.scope_of_membership(membership_cached(user)))
            return self.get_response(request)
