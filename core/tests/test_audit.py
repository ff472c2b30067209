"""The audit trail: written by the services, append-only at the database, read-only in the
admin."""

import pytest
from django.contrib import admin
from django.db import IntegrityError, connection, transaction
from django.urls import path, reverse

from core.admin import AuditEventAdmin, UserAdmin
from core.models import AuditEvent, User
from core.services import audit_record
from core.tests.factories import UserFactory

# This module is its own URLconf (only the admin), so these tests do not depend on the API's urls.
urlpatterns = [path("admin/", admin.site.urls)]
pytestmark = [pytest.mark.django_db, pytest.mark.urls("core.tests.test_audit")]


@pytest.fixture
def event():
    user = UserFactory(username="auditor")
    return audit_record(actor=user, action="user.touched", obj=user, after={"a": 1}, reason="test")


def test_audit_record_names_the_actor_and_the_object(event):
    assert event.actor.username == "auditor"
    assert event.object_type == "core.user"
    assert event.object_id == str(event.actor.pk)
    assert event.after == {"a": 1}


def test_audit_event_cannot_be_updated_with_raw_sql(event):
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditevent SET reason = 'rewritten' WHERE id = %s", [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).reason == "test"


def test_audit_event_cannot_be_deleted_with_raw_sql(event):
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_event_cannot_be_deleted_through_the_orm(event):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- admin -------------------------------------------------------------------------------


def test_audit_admin_allows_no_add_change_or_delete(rf, admin_user, event):
    model_admin = admin.site._registry[AuditEvent]
    request = rf.get("/")
    request.user = admin_user

    assert isinstance(model_admin, AuditEventAdmin)
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request, event) is False
    assert model_admin.has_delete_permission(request, event) is False
    assert model_admin.has_view_permission(request, event) is True


def test_audit_admin_lists_searches_and_shows_events(admin_client, event):
    url = reverse("admin:core_auditevent_changelist")

    assert admin_client.get(url, {"q": "user.touched"}).status_code == 200
    assert admin_client.get(url, {"action": "user.touched"}).status_code == 200
    detail = admin_client.get(reverse("admin:core_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200
    assert b"user.touched" in detail.content


def test_audit_admin_withholds_before_and_after_of_client_data(admin_client):
    event = AuditEvent.objects.create(
        action="intake.create", object_type="registry.intake", object_id="1", after={"conditions": ["M51.16"]}
    )

    detail = admin_client.get(reverse("admin:core_auditevent_change", args=[event.pk]))

    assert detail.status_code == 200
    assert b"M51.16" not in detail.content
    assert b"withheld" in detail.content


def test_user_admin_is_djangos_user_admin_for_the_custom_user(admin_client):
    assert isinstance(admin.site._registry[User], UserAdmin)
    assert admin_client.get(reverse("admin:core_user_changelist"), {"q": "admin"}).status_code == 200
