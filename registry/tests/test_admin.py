"""The admin's state-changing actions go through the registry's use cases."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from core.models import OutboxEvent
from core.tests.factories import UserFactory
from registry.choices import BookingStatus
from registry.services.bookings import booking_create, slot_validate
from registry.services.intakes import intake_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(username="registry-staff", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_revoke_action_rechecks_bookings_and_tells_the_spa(world, staff_client):
    intake = intake_record(
        actor=world.desk,
        spa=world.spa,
        client_ref="C-1",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=3,
    )
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=world.start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=20,
    )
    booking = booking_create(actor=world.desk, therapist=world.ana, slot=slot).booking
    response = staff_client.post(
        "/admin/credentials/certification/",
        {"action": "revoke", ACTION_CHECKBOX_NAME: [str(world.certification.pk)], "reason": "Fraud"},
        follow=True,
    )
    assert response.status_code == 200
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT
    assert OutboxEvent.objects.filter(type="certification.revoked").exists()
    assert OutboxEvent.objects.filter(type="booking.needs_reassignment").exists()


def test_admin_licence_suspension_rechecks_bookings(world, staff_client):
    intake = intake_record(
        actor=world.desk,
        spa=world.spa,
        client_ref="C-2",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=3,
    )
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=world.start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=20,
    )
    booking = booking_create(actor=world.desk, therapist=world.ana, slot=slot).booking
    licence = world.ana.licenses.get()
    response = staff_client.post(
        f"/admin/credentials/license/{licence.pk}/change/",
        {"status": "suspended", "expires_on": licence.expires_on.isoformat(), "reason": "Audit"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NEEDS_REASSIGNMENT


def test_admin_lists_show_no_intake_conditions_or_screening(world, staff_client):
    intake = intake_record(
        actor=world.desk,
        spa=world.spa,
        client_ref="CLIENT-SECRET-REF",
        condition_codes=["M51.16"],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
        pain_score=3,
    )
    slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=world.start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=20,
    )
    booking_create(actor=world.desk, therapist=world.beth, slot=slot)
    booking_create(actor=world.desk, therapist=world.ana, slot=slot)
    for url in ("/admin/registry/booking/", "/admin/registry/decision/", "/admin/core/auditevent/"):
        body = staff_client.get(url).content.decode()
        assert "CLIENT-SECRET-REF" not in body, url
        assert "M51.16" not in body, url
        assert "ces-bladder-bowel" not in body, url


@pytest.mark.parametrize("role", ["spa-staff", "school-staff", "therapist"])
def test_admin_is_closed_to_other_roles_even_with_is_staff(world, client, role):
    from registry.models import Membership

    user = UserFactory(username=f"sneaky-{role}", is_staff=True, is_superuser=True)
    tenant = {
        "spa-staff": {"spa": world.spa},
        "school-staff": {"school": world.certification.school},
        "therapist": {"therapist": world.beth},
    }[role]
    Membership.objects.create(user=user, role=role, **tenant)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_registry_admin_created_through_the_service_enters_the_admin(client):
    from registry.services.accounts import user_create

    user, _ = user_create(
        actor=None, username="staffer", password="a-long-admin-password-1", role="registry-admin"
    )
    client.force_login(user)
    assert client.get("/admin/").status_code == 200


# --- attesting supervised sessions (issue 23) ---------------------------------------------------


@pytest.fixture
def provisional(world):
    """The radiculopathy protocol asks for 3 supervised sessions (set in the row: nobody is
    grandfathered), so Ana's certification is provisional."""
    type(world.radiculopathy).objects.filter(pk=world.radiculopathy.pk).update(supervised_sessions=3)
    return world.certification


def _attest(staff_client, certifications, reason):
    return staff_client.post(
        "/admin/credentials/certification/",
        {
            "action": "attest_scope",
            ACTION_CHECKBOX_NAME: [str(c.pk) for c in certifications],
            "reason": reason,
        },
        follow=True,
    )


def _messages(response):
    return [str(m) for m in response.context["messages"]]


def test_admin_attest_action_makes_the_scope_full_audited_and_tells_the_school_and_spa(
    world, staff_client, provisional
):
    from core.models import AuditEvent
    from credentials.models import Certification

    response = _attest(staff_client, [provisional], "Proctored at St. Mary's")

    assert response.status_code == 200
    assert "1 certification(s) attested: scope full." in _messages(response)
    assert Certification.objects.get(pk=provisional.pk).scope_full_at is not None
    audit = AuditEvent.objects.get(action="certification.scope_attested", object_id=str(provisional.pk))
    assert (audit.actor.username, audit.reason) == ("registry-staff", "Proctored at St. Mary's")
    event = OutboxEvent.objects.get(type="certification.scope_full")
    assert event.data["certification"] == str(provisional.pk)
    assert f"spa:{world.spa.pk}" in event.audience


def test_admin_attest_action_without_a_reason_changes_nothing(staff_client, provisional):
    from credentials.models import Certification

    response = _attest(staff_client, [provisional], "  ")

    assert any("reason" in m for m in _messages(response))
    assert Certification.objects.get(pk=provisional.pk).scope_full_at is None
    assert not OutboxEvent.objects.filter(type="certification.scope_full").exists()


def test_admin_attest_action_reports_what_the_service_refuses_and_attests_the_rest(
    world, staff_client, provisional
):
    from credentials.models import Certification
    from credentials.tests.factories import CertificationFactory

    full = CertificationFactory(therapist=world.beth, protocol=world.radiculopathy, full=True)

    response = _attest(staff_client, [provisional, full], "Proctored")

    messages = _messages(response)
    assert any(f"{full}: " in m and "already full" in m for m in messages), messages
    assert "1 certification(s) attested: scope full." in messages
    assert Certification.objects.get(pk=provisional.pk).scope_full_at is not None
    assert OutboxEvent.objects.filter(type="certification.scope_full").count() == 1
