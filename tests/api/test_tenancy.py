"""Tenancy in one place: the scope functions, the write helper field, and the loud failures
that keep a new view from forgetting them."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from api.permissions import RolePermission
from api.serializers.fields import TenantPrimaryKeyRelatedField
from api.tenancy import TenantScopedMixin, scope_instructors_write, scoped, spa_today
from api.views.base import ReadOnlyViewSet
from credentials.models import Instructor, Therapist
from credentials.tests.factories import TherapistFactory
from registry.choices import Role
from registry.tests.factories import EmploymentFactory


class BookingInput(serializers.Serializer):
    therapist = TenantPrimaryKeyRelatedField(resource="therapists", queryset=Therapist.objects.all())


def _validate(user, therapist) -> serializers.Serializer:
    serializer = BookingInput(
        data={"therapist": str(therapist.pk)}, context={"request": SimpleNamespace(user=user)}
    )
    serializer.is_valid()
    return serializer


def test_a_write_naming_another_tenants_therapist_is_told_it_does_not_exist(world, make_user):
    staff = make_user(Role.SPA_STAFF, spa=world.spa_a)
    assert _validate(staff, world.therapist_a).validated_data["therapist"] == world.therapist_a
    [hidden] = _validate(staff, world.therapist_b).errors["therapist"]
    [missing] = _validate(staff, Therapist(pk="00000000-0000-0000-0000-000000000000")).errors["therapist"]
    assert hidden.code == missing.code == "does_not_exist"  # the same answer as for a missing one
    assert "does not exist" in str(hidden)


def test_an_employment_ending_today_in_the_spas_timezone_still_counts(world, make_user):
    today = spa_today(world.spa_a)
    ending = TherapistFactory()
    EmploymentFactory(spa=world.spa_a, therapist=ending, ended_on=today)
    ended = TherapistFactory()
    EmploymentFactory(spa=world.spa_a, therapist=ended, ended_on=today - dt.timedelta(days=1))
    staff = make_user(Role.SPA_STAFF, spa=world.spa_a)
    visible = set(scoped("therapists", Therapist.objects.all(), staff))
    assert ending in visible
    assert ended not in visible


def test_the_check_sees_the_same_therapists_as_the_tenancy_scope(world, make_user):
    """The eligibility check and search resolve the therapist from the facts they load
    (``TherapistFacts.employed_at``) instead of the scoped queryset: both forms of the rule
    must agree on every kind of employment."""
    from registry.selectors import eligibility_facts_for_therapist

    today = spa_today(world.spa_a)
    day = dt.timedelta(days=1)
    kinds = {
        "open": {"spa": world.spa_a},
        "ends today": {"spa": world.spa_a, "ended_on": today},
        "ended yesterday": {"spa": world.spa_a, "started_on": today - 30 * day, "ended_on": today - day},
        "ends tomorrow": {"spa": world.spa_a, "ended_on": today + day},
        "starts next month": {"spa": world.spa_a, "started_on": today + 30 * day},
        "at another spa": {"spa": world.spa_b},
    }
    staff = make_user(Role.SPA_STAFF, spa=world.spa_a)
    now = timezone.now()
    for kind, employment in kinds.items():
        therapist = TherapistFactory()
        EmploymentFactory(therapist=therapist, **employment)
        by_scope = scoped("therapists", Therapist.objects.filter(pk=therapist.pk), staff).exists()
        facts = eligibility_facts_for_therapist(therapist_id=therapist.pk, window=(now, now + day))
        assert facts.employed_at(str(world.spa_a.pk), today) is by_scope, kind


def test_spa_today_is_read_in_the_spas_timezone(world):
    world.spa_a.timezone = "Pacific/Kiritimati"  # UTC+14
    assert spa_today(world.spa_a) == (timezone.now() + dt.timedelta(hours=14)).date()
    world.spa_a.timezone = "Not/AZone"
    assert spa_today(world.spa_a) == timezone.now().date()


def test_school_staff_change_only_instructors_on_their_roster(world, make_user):
    staff = make_user(Role.SCHOOL_STAFF, school=world.school_a)
    assert list(scope_instructors_write(Instructor.objects.all(), staff)) == [world.instructor_a]
    therapist = make_user(Role.THERAPIST, therapist=world.therapist_a)
    assert not scope_instructors_write(Instructor.objects.all(), therapist).exists()


def test_a_user_without_a_role_sees_no_tenant_rows(world, make_user):
    from core.tests.factories import UserFactory

    assert not scoped("therapists", Therapist.objects.all(), UserFactory()).exists()
    assert not scoped("certifications", world.certification_a.__class__.objects.all(), UserFactory()).exists()


def test_a_view_without_a_resource_fails_loudly_instead_of_showing_everything(db):
    class Forgetful(ReadOnlyViewSet):
        queryset = Therapist.objects.all()
        action_roles = {"list": frozenset({"anonymous"})}

    view = Forgetful()
    view.request = SimpleNamespace(method="GET", user=None)
    with pytest.raises(ImproperlyConfigured, match="tenant_resource"):
        view.get_queryset()
    assert issubclass(Forgetful, TenantScopedMixin)


def test_an_unknown_resource_fails_loudly():
    with pytest.raises(ImproperlyConfigured, match="No tenancy scope"):
        scoped("bookingz", Therapist.objects.none(), None)


def test_an_action_missing_from_action_roles_fails_loudly(db):
    class Careless(ReadOnlyViewSet):
        queryset = Therapist.objects.all()
        tenant_resource = "therapists"
        action_roles = {"list": frozenset({"anonymous"})}

    view = Careless(action_map={"get": "retrieve"})
    view.action = "retrieve"
    request = APIRequestFactory().get("/")
    with pytest.raises(ImproperlyConfigured, match="retrieve"):
        RolePermission().has_permission(request, view)
