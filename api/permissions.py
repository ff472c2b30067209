"""Who may call what: the roles table of API.md, per action.

A view declares, for every action it answers (a viewset's ``list``, ``retrieve``, ``create``,
an ``@action``'s name; an ``APIView``'s HTTP method in lower case), the roles allowed::

    class CertificationViewSet(ReadOnlyViewSet):
        action_roles = {
            "list": ALL_ROLES,  # every role, not anonymous callers
            "retrieve": ALL_ROLES,
            "revoke": roles(Role.SCHOOL_STAFF, Role.REGISTRY_ADMIN),
        }

``RolePermission`` then answers 401 to an anonymous caller (unless ``ANONYMOUS`` is among the
allowed) and 403 to an authenticated caller whose role is not. An action missing from the
mapping is a programming error and fails loudly (``ImproperlyConfigured``), never open. Which
*rows* a role sees is tenancy's business (``api.tenancy``), not this module's.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

from api.tenancy import role_of
from registry.choices import Role

# Pseudo-roles: the caller is not signed in / is signed in, whatever their role (or none).
ANONYMOUS = "anonymous"
AUTHENTICATED = "authenticated"


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


ADMIN = roles(Role.REGISTRY_ADMIN)
ALL_ROLES = roles(*Role.values)
EVERYONE = ALL_ROLES | {ANONYMOUS}
ANY_USER = roles(AUTHENTICATED)  # any signed-in user, even one without a role (/me, tokens)
SCHOOL_AND_ADMIN = roles(Role.SCHOOL_STAFF, Role.REGISTRY_ADMIN)
SPA_AND_ADMIN = roles(Role.SPA_STAFF, Role.REGISTRY_ADMIN)
THERAPIST_SPA_ADMIN = roles(Role.THERAPIST, Role.SPA_STAFF, Role.REGISTRY_ADMIN)


def allowed_roles(view, action: str) -> frozenset[str]:
    mapping = getattr(view, "action_roles", None)
    if mapping is None:
        raise ImproperlyConfigured(f"{type(view).__name__} uses RolePermission but has no action_roles.")
    if action == "metadata":  # OPTIONS: whoever may do anything here may ask what they can do
        return frozenset().union(*mapping.values())
    try:
        return mapping[action]
    except KeyError:
        raise ImproperlyConfigured(
            f"{type(view).__name__}.action_roles does not say who may {action!r}."
        ) from None


def view_action(view, request) -> str | None:
    """The name ``action_roles`` is keyed by: a viewset's action (``metadata`` for OPTIONS),
    else the HTTP method in lower case (HEAD as GET). ``None``: the view has no handler for
    the method, and DRF will answer 405."""
    method = request.method.lower()
    if method == "options":
        return "metadata"
    if hasattr(view, "action_map"):  # a viewset: the router mapped methods to actions
        return getattr(view, "action", None)
    method = "get" if method == "head" else method
    return method if hasattr(view, method) else None


def may(user, allowed: frozenset[str]) -> bool:
    if not getattr(user, "is_authenticated", False):
        return ANONYMOUS in allowed
    return AUTHENTICATED in allowed or role_of(user) in allowed


class RolePermission(BasePermission):
    """Allow the action if the caller's role is among the view's ``action_roles`` for it.

    Returning ``False`` to an unauthenticated caller makes DRF answer 401 (the view has
    authenticators); to an authenticated one, 403.
    """

    message = "Your role may not do this."

    def has_permission(self, request, view) -> bool:
        action = view_action(view, request)
        if action is None:  # nothing answers this method here: let DRF say 405
            return True
        allowed = allowed_roles(view, action)  # first: an undeclared action fails for everyone
        return may(request.user, allowed)
