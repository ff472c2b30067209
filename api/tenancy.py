"""Tenancy, in one place: which rows of a resource a user may see.

Every API view that reads rows uses ``TenantScopedMixin`` (the base viewsets in
``api.views.base`` include it) and names its resource::

    class TherapistViewSet(ReadOnlyViewSet):
        tenant_resource = "therapists"

``get_queryset()`` then passes the view's queryset through the resource's scope function
(``scope_therapists(queryset, user)``), so another tenant's object is simply not there: a
detail URL answers 404 and a list never shows it. A view that names no resource, or a
resource with no scope function, fails loudly (``ImproperlyConfigured``) instead of showing
everything. Writes that name another object use ``TenantPrimaryKeyRelatedField`` (in
``api.serializers.fields``), scoped by the same functions: naming what the caller cannot read
answers 400 "does not exist".

Scopes follow the roles table of API.md. "Employed at the spa" means an employment at that
spa that has not ended: ``ended_on`` is empty or today or later (today in the spa's
timezone); an employment that starts in the future counts, so a spa sees whom it has just
hired. A past employment does not: a spa does not keep reading a therapist's credentials
after they leave.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from rest_framework.permissions import SAFE_METHODS

from credentials.models import Certification, Instructor
from registry import rls
from registry.choices import Role
from registry.models import Employment, Membership, Spa

Scope = Callable[[QuerySet, object], QuerySet]

READ_SCOPES: dict[str, Scope] = {}
WRITE_SCOPES: dict[str, Scope] = {}


def read_scope(resource: str) -> Callable[[Scope], Scope]:
    """Register ``func`` as the scope of ``resource`` for reads (and writes, unless a write
    scope is registered too)."""

    def register(func: Scope) -> Scope:
        READ_SCOPES[resource] = func
        return func

    return register


def write_scope(resource: str) -> Callable[[Scope], Scope]:
    """Register a narrower scope for unsafe methods (e.g. anyone reads instructors, school
    staff change only their own school's)."""

    def register(func: Scope) -> Scope:
        WRITE_SCOPES[resource] = func
        return func

    return register


def scoped(resource: str, queryset: QuerySet, user, *, for_write: bool = False) -> QuerySet:
    """``queryset`` narrowed to what ``user`` may see (``for_write``: may change)."""
    func = (WRITE_SCOPES.get(resource) if for_write else None) or READ_SCOPES.get(resource)
    if func is None:
        raise ImproperlyConfigured(f"No tenancy scope for resource {resource!r} in api.tenancy.")
    return func(queryset, user)


# --- who is asking -----------------------------------------------------------------------


def membership_of(user) -> Membership | None:
    """The user's role and tenant (``None`` for anonymous users and users without a role).
    Cached on the user object, so one request asks the database once."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_api_membership"):
        if "membership" in user._state.fields_cache:  # loaded with the token (api.authentication)
            user._api_membership = user._state.fields_cache["membership"]
        else:
            user._api_membership = Membership.objects.select_related("spa").filter(user_id=user.pk).first()
    return user._api_membership


def role_of(user) -> str | None:
    membership = membership_of(user)
    return membership.role if membership else None


def spa_today(spa: Spa) -> dt.date:
    """Today in the spa's timezone (employment and licence days are read there)."""
    try:
        tz = zoneinfo.ZoneInfo(spa.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return timezone.now().astimezone(tz).date()


def employed_at(spa: Spa, therapist_ref: str = "pk") -> Exists:
    """An expression: the therapist (``OuterRef(therapist_ref)``) has an employment at ``spa``
    that has not ended."""
    return Exists(
        Employment.objects.filter(spa=spa, therapist=OuterRef(therapist_ref)).filter(
            Q(ended_on__isnull=True) | Q(ended_on__gte=spa_today(spa))
        )
    )


# --- scopes --------------------------------------------------------------------------------


@read_scope("public")
def scope_public(queryset: QuerySet, user) -> QuerySet:
    """Readable by anyone, anonymous included (the catalog, schools, instructors,
    authorisations, experience, verification by serial). What anonymous readers may not see
    of a row (experience evidence) is left out by the serializer."""
    return queryset


@read_scope("therapists")
def scope_therapists(queryset: QuerySet, user) -> QuerySet:
    """Own (therapist); employed at own spa (spa staff); certified by own school (school
    staff); all (registry admin)."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.THERAPIST:
        return queryset.filter(pk=membership.therapist_id)
    if membership.role == Role.SPA_STAFF:
        return queryset.filter(employed_at(membership.spa))
    if membership.role == Role.SCHOOL_STAFF:
        return queryset.filter(
            Exists(Certification.objects.filter(therapist=OuterRef("pk"), school_id=membership.school_id))
        )
    return queryset.none()


@read_scope("licenses")
def scope_licenses(queryset: QuerySet, user) -> QuerySet:
    """Own (therapist); of therapists employed at own spa (spa staff); all (registry
    admin). School staff see none."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.THERAPIST:
        return queryset.filter(therapist_id=membership.therapist_id)
    if membership.role == Role.SPA_STAFF:
        return queryset.filter(employed_at(membership.spa, "therapist_id"))
    return queryset.none()


@read_scope("certifications")
def scope_certifications(queryset: QuerySet, user) -> QuerySet:
    """Own (therapist); of therapists employed at own spa (spa staff); issued by own school
    (school staff: the ones it may revoke); all (registry admin). Anyone verifies one by
    serial through the ``public`` scope."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.THERAPIST:
        return queryset.filter(therapist_id=membership.therapist_id)
    if membership.role == Role.SPA_STAFF:
        return queryset.filter(employed_at(membership.spa, "therapist_id"))
    if membership.role == Role.SCHOOL_STAFF:
        return queryset.filter(school_id=membership.school_id)
    return queryset.none()


@read_scope("schools")
def scope_schools(queryset: QuerySet, user) -> QuerySet:
    """Schools are public."""
    return queryset


@write_scope("schools")
def scope_schools_write(queryset: QuerySet, user) -> QuerySet:
    """The schools a user acts for: their own (school staff: issue its certifications, put
    instructors on its roster); any (registry admin); none (everyone else)."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.SCHOOL_STAFF:
        return queryset.filter(pk=membership.school_id)
    return queryset.none()


@read_scope("instructors")
def scope_instructors(queryset: QuerySet, user) -> QuerySet:
    """Instructors are public."""
    return queryset


@write_scope("instructors")
def scope_instructors_write(queryset: QuerySet, user) -> QuerySet:
    """School staff change only instructors on their own school's roster; registry admins
    any; nobody else any."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.SCHOOL_STAFF:
        on_roster = Instructor.schools.through.objects.filter(
            instructor_id=OuterRef("pk"), school_id=membership.school_id
        )
        return queryset.filter(Exists(on_roster))
    return queryset.none()


@read_scope("spas")
def scope_spas(queryset: QuerySet, user) -> QuerySet:
    """Where employed (therapist); own (spa staff); all (registry admin); none (school
    staff)."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.SPA_STAFF:
        return queryset.filter(pk=membership.spa_id)
    if membership.role == Role.THERAPIST:
        return queryset.filter(
            Exists(
                Employment.objects.filter(spa=OuterRef("pk"), therapist_id=membership.therapist_id).filter(
                    # Spas differ in timezone; the day is read in UTC here.
                    Q(ended_on__isnull=True) | Q(ended_on__gte=timezone.now().date())
                )
            )
        )
    return queryset.none()


@read_scope("employments")
def scope_employments(queryset: QuerySet, user) -> QuerySet:
    """Own (therapist); own spa's (spa staff); all (registry admin)."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.SPA_STAFF:
        return queryset.filter(spa_id=membership.spa_id)
    if membership.role == Role.THERAPIST:
        return queryset.filter(therapist_id=membership.therapist_id)
    return queryset.none()


@read_scope("users")
def scope_users(queryset: QuerySet, user) -> QuerySet:
    """Themselves (every role); all (registry admin)."""
    membership = membership_of(user)
    if membership is not None and membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if getattr(user, "is_authenticated", False):
        return queryset.filter(pk=user.pk)
    return queryset.none()


# Client data: the scopes are the row-level security policies' own rules (registry.rls.ACCESS),
# so the database and the API cannot disagree about who sees an intake, a booking or a decision.


@read_scope("intakes")
def scope_intakes(queryset: QuerySet, user) -> QuerySet:
    """Client data, minimum necessary: the spa that recorded the intake (spa staff) and the
    therapist a booking on it is assigned to (therapist). Nobody else, registry admins
    included (they read one booking's decision log, audited)."""
    return rls.filter_for("registry_intake", queryset, rls.scope_of_membership(membership_of(user)))


@read_scope("bookings")
def scope_bookings(queryset: QuerySet, user) -> QuerySet:
    """Own spa's (spa staff); assigned to them (therapist); all for registry admins, whose
    role lets them read only one booking's decision log (``action_roles``); none (school
    staff)."""
    return rls.filter_for("registry_booking", queryset, rls.scope_of_membership(membership_of(user)))


@read_scope("decisions")
def scope_decisions(queryset: QuerySet, user) -> QuerySet:
    """Own spa's (spa staff); all for registry admins (one booking's log, audited); none
    for therapists and school staff (a log names other therapists and the client's case)."""
    return rls.filter_for("registry_decision", queryset, rls.scope_of_membership(membership_of(user)))


@read_scope("webhooks")
def scope_webhooks(queryset: QuerySet, user) -> QuerySet:
    """Own spa's (spa staff); own school's (school staff); all (registry admin)."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.SPA_STAFF:
        return queryset.filter(spa_id=membership.spa_id)
    if membership.role == Role.SCHOOL_STAFF:
        return queryset.filter(school_id=membership.school_id)
    return queryset.none()


@read_scope("imports")
def scope_imports(queryset: QuerySet, user) -> QuerySet:
    """Own school's (school staff); all (registry admin)."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.SCHOOL_STAFF:
        return queryset.filter(school_id=membership.school_id)
    return queryset.none()


# --- the mixin ----------------------------------------------------------------------------


class TenantScopedMixin:
    """``get_queryset()`` narrowed by the scope of ``tenant_resource`` for the request's
    user: reads use the read scope, unsafe methods the write scope where one exists."""

    tenant_resource: str | None = None

    def get_queryset(self):
        queryset = super().get_queryset()
        return self.scope_queryset(queryset, resource=self.tenant_resource)

    def scope_queryset(self, queryset: QuerySet, *, resource: str | None) -> QuerySet:
        """Scope any queryset the view reads (e.g. a nested list) with the same functions."""
        if resource is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} must set tenant_resource (see api.tenancy); "
                '"public" for rows anyone may read.'
            )
        for_write = self.request.method not in SAFE_METHODS
        return scoped(resource, queryset, self.request.user, for_write=for_write)


@read_scope("safety-records")
def scope_safety_records(queryset: QuerySet, user) -> QuerySet:
    """The certifications completed sessions rested on, behind the safety record: of the
    therapist themselves (therapist); of therapists employed at own spa (spa staff); of the
    certifications own school issued (school staff); all (registry admin). No client data is
    read from them, only counts."""
    membership = membership_of(user)
    if membership is None:
        return queryset.none()
    if membership.role == Role.REGISTRY_ADMIN:
        return queryset
    if membership.role == Role.THERAPIST:
        return queryset.filter(booking__therapist_id=membership.therapist_id)
    if membership.role == Role.SPA_STAFF:
        return queryset.filter(employed_at(membership.spa, "booking__therapist_id"))
    if membership.role == Role.SCHOOL_STAFF:
        return queryset.filter(certification__school_id=membership.school_id)
    return queryset.none()
