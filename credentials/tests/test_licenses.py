"""Therapists and their licences: what a licence change says about the bookings resting on it."""

import datetime as dt

import pytest

from core.errors import DomainError
from core.models import AuditEvent
from core.tests.factories import UserFactory
from credentials import services
from credentials.choices import LicenseStatus
from credentials.models import License

pytestmark = pytest.mark.django_db


@pytest.fixture
def registrar():
    return UserFactory(username="registrar")


@pytest.fixture
def therapist(registrar):
    return services.therapist_create(actor=registrar, name="Ana Silva", email="ana@example.org")


@pytest.fixture
def license(registrar, therapist):
    return services.license_create(
        actor=registrar,
        therapist=therapist,
        jurisdiction="US-CA",
        number="MT-1",
        status=LicenseStatus.ACTIVE,
        valid_from=dt.date(2020, 1, 1),
        expires_on=dt.date(2030, 12, 31),
    )


def test_therapist_needs_a_name_and_a_valid_email(registrar):
    with pytest.raises(DomainError) as error:
        services.therapist_create(actor=registrar, name="  ")
    assert list(error.value.errors) == ["name"]
    with pytest.raises(DomainError) as error:
        services.therapist_create(actor=registrar, name="Ana", email="not-an-address")
    assert list(error.value.errors) == ["email"]


def test_therapist_update_changes_only_what_differs_and_audits_it(registrar, therapist):
    services.therapist_update(actor=registrar, therapist=therapist, name="Ana Silva", email="ana@clinic.org")

    event = AuditEvent.objects.get(action="therapist.updated")
    assert (event.before, event.after) == ({"email": "ana@example.org"}, {"email": "ana@clinic.org"})
    services.therapist_update(actor=registrar, therapist=therapist, name="Ana Silva")
    assert AuditEvent.objects.filter(action="therapist.updated").count() == 1


def test_licence_is_created_with_an_audit_event(registrar, license):
    event = AuditEvent.objects.get(object_id=str(license.pk))
    assert (event.action, event.actor) == ("license.created", registrar)
    assert event.after["number"] == "MT-1"


def test_licence_number_is_unique_in_its_jurisdiction(registrar, therapist, license):
    arguments = {
        "actor": registrar,
        "therapist": therapist,
        "number": "MT-1",
        "status": LicenseStatus.ACTIVE,
        "valid_from": dt.date(2020, 1, 1),
        "expires_on": dt.date(2030, 1, 1),
    }
    with pytest.raises(DomainError) as error:
        services.license_create(jurisdiction="US-CA", **arguments)
    assert list(error.value.errors) == ["number"]

    assert services.license_create(jurisdiction="US-OR", **arguments).number == "MT-1"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("jurisdiction", "California"),
        ("status", "pending"),
        ("expires_on", dt.date(2019, 12, 31)),
        ("valid_from", "2020-01-01"),
        ("number", ""),
    ],
)
def test_licence_with_invalid_fields_is_refused(registrar, therapist, field, value):
    arguments = {
        "actor": registrar,
        "therapist": therapist,
        "jurisdiction": "US-CA",
        "number": "MT-9",
        "status": LicenseStatus.ACTIVE,
        "valid_from": dt.date(2020, 1, 1),
        "expires_on": dt.date(2030, 1, 1),
        field: value,
    }
    with pytest.raises(DomainError) as error:
        services.license_create(**arguments)
    assert list(error.value.errors) == [field]


@pytest.mark.parametrize(
    ("change", "less_permissive"),
    [
        ({"status": LicenseStatus.SUSPENDED}, True),
        ({"status": LicenseStatus.REVOKED}, True),
        ({"expires_on": dt.date(2026, 6, 30)}, True),
        ({"expires_on": dt.date(2035, 12, 31)}, False),  # a renewal
        ({"status": LicenseStatus.ACTIVE, "expires_on": dt.date(2031, 1, 1)}, False),
    ],
)
def test_licence_change_reports_whether_it_became_less_permissive(
    registrar, license, change, less_permissive
):
    result = services.license_change(actor=registrar, license=license, reason="board", **change)

    changed, narrowed = result
    assert narrowed is less_permissive
    assert result.license == changed
    changed.refresh_from_db()
    for field, value in change.items():
        assert getattr(changed, field) == value


def test_reactivating_a_suspended_licence_is_not_less_permissive(registrar, license):
    services.license_change(actor=registrar, license=license, status=LicenseStatus.SUSPENDED, reason="x")

    result = services.license_change(
        actor=registrar, license=license, status=LicenseStatus.ACTIVE, reason="y"
    )

    assert result.less_permissive is False


def test_moving_a_suspended_licence_to_revoked_is_not_less_permissive(registrar, license):
    services.license_change(actor=registrar, license=license, status=LicenseStatus.SUSPENDED, reason="x")

    assert not services.license_change(
        actor=registrar, license=license, status=LicenseStatus.REVOKED, reason="y"
    ).less_permissive


def test_licence_change_is_audited_with_before_after_and_reason(registrar, license):
    services.license_change(
        actor=registrar, license=license, status=LicenseStatus.SUSPENDED, reason="Board order 17"
    )

    event = AuditEvent.objects.get(action="license.changed")
    assert event.actor == registrar
    assert event.reason == "Board order 17"
    assert event.before["status"] == "active"
    assert event.after["status"] == "suspended"


def test_licence_change_to_the_same_values_changes_nothing(registrar, license):
    result = services.license_change(
        actor=registrar, license=license, status=LicenseStatus.ACTIVE, reason="no-op"
    )

    assert result.less_permissive is False
    assert not AuditEvent.objects.filter(action="license.changed").exists()


def test_licence_change_needs_a_reason_and_something_to_change(registrar, license):
    with pytest.raises(DomainError) as error:
        services.license_change(actor=registrar, license=license, status=LicenseStatus.SUSPENDED, reason="")
    assert list(error.value.errors) == ["reason"]
    with pytest.raises(DomainError):
        services.license_change(actor=registrar, license=license, reason="why")


def test_licence_cannot_be_moved_to_expire_before_it_is_valid(registrar, license):
    with pytest.raises(DomainError) as error:
        services.license_change(actor=registrar, license=license, expires_on=dt.date(2019, 1, 1), reason="x")

    assert list(error.value.errors) == ["expires_on"]
    assert License.objects.get(pk=license.pk).expires_on == dt.date(2030, 12, 31)
