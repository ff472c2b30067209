"""Webhooks over HTTP: a spa's or a school's own, events validated for the subscriber, the
secret shown once; writes audited (without the secret); deliveries reach the subscription."""

from __future__ import annotations

import pytest

from core.models import AuditEvent, OutboxEvent
from registry.choices import Role
from registry.delivery import event_dispatch
from registry.models import WebhookSubscription
from tests.api.helpers import assert_problem

WEBHOOK_KEYS = {"id", "url", "events", "active"}


def _create(client, **body):
    return client.post("/api/v1/webhooks/", {"url": "https://spa.example.org/hooks", **body}, format="json")


def test_a_spa_subscribes_and_sees_the_generated_secret_once(world, as_role):
    spa = as_role(Role.SPA_STAFF)
    response = _create(spa, events=["booking.needs_reassignment", "license.expiring"])
    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == WEBHOOK_KEYS | {"secret"}
    assert len(created["secret"]) >= 32
    webhook = WebhookSubscription.objects.get(pk=created["id"])
    assert (webhook.spa, webhook.school, webhook.secret) == (world.spa_a, None, created["secret"])
    detail = spa.get(f"/api/v1/webhooks/{created['id']}/").json()
    assert set(detail) == WEBHOOK_KEYS  # never shown again
    assert all("secret" not in w for w in spa.get("/api/v1/webhooks/").json()["results"])
    audit = AuditEvent.objects.get(action="webhook.create", object_id=created["id"])
    assert created["secret"] not in str(audit.after)


def test_a_given_secret_is_kept(world, as_role):
    response = _create(as_role(Role.SPA_STAFF), events=["license.expiring"], secret="s" * 24)
    assert response.json()["secret"] == "s" * 24
    assert (
        "secret"
        in assert_problem(_create(as_role(Role.SPA_STAFF), events=["license.expiring"], secret="short"))[
            "errors"
        ]
    )


@pytest.mark.parametrize(
    ("role", "events", "field"),
    [
        (Role.SPA_STAFF, ["certification.issued"], "events.0"),  # a school's event
        (Role.SPA_STAFF, ["booking.created"], "events.0"),  # no such event
        (Role.SPA_STAFF, [], "events"),
        (Role.SCHOOL_STAFF, ["license.expiring", "booking.needs_reassignment"], "events.0"),
    ],
)
def test_events_are_checked_against_what_the_subscriber_receives(world, as_role, role, events, field):
    errors = assert_problem(_create(as_role(role), events=events), 400, "validation-error")["errors"]
    assert field in errors, errors


def test_a_school_subscribes_to_certification_events(world, as_role):
    school = as_role(Role.SCHOOL_STAFF)
    events = ["certification.issued", "certification.revoked", "certification.review_required"]
    response = _create(school, events=events)
    assert response.status_code == 201, response.content
    assert WebhookSubscription.objects.get(pk=response.json()["id"]).school == world.school_a
    assert_problem(_create(school, events=events, school=str(world.school_b.pk)), 400)
    assert_problem(
        _create(as_role(Role.SPA_STAFF), events=["license.expiring"], spa=str(world.spa_b.pk)), 400
    )
    assert_problem(
        _create(as_role(Role.SPA_STAFF), events=["license.expiring"], school=str(world.school_a.pk)), 400
    )


def test_an_admin_names_the_subscriber(world, as_role):
    admin = as_role(Role.REGISTRY_ADMIN)
    assert "non_field_errors" in assert_problem(_create(admin, events=["license.expiring"]), 400)["errors"]
    response = _create(admin, events=["license.expiring"], spa=str(world.spa_b.pk))
    assert response.status_code == 201, response.content
    assert WebhookSubscription.objects.get(pk=response.json()["id"]).spa == world.spa_b


def test_a_webhook_is_changed_and_deleted_by_its_owner_only(world, as_role, client_for):
    spa = as_role(Role.SPA_STAFF)
    created = _create(spa, events=["license.expiring"]).json()
    url = f"/api/v1/webhooks/{created['id']}/"
    other = client_for(Role.SPA_STAFF, spa=world.spa_b)
    assert_problem(other.get(url), 404)
    assert_problem(other.patch(url, {"active": False}, format="json"), 404)
    assert_problem(other.delete(url), 404)
    assert_problem(as_role(Role.THERAPIST).get(url), 403)

    response = spa.patch(
        url, {"active": False, "events": ["certification.revoked"], "secret": "n" * 20}, format="json"
    )
    assert response.status_code == 200, response.content
    unchanged = {k: v for k, v in created.items() if k != "secret"}
    assert response.json() == {**unchanged, "active": False, "events": ["certification.revoked"]}
    webhook = WebhookSubscription.objects.get(pk=created["id"])
    assert (webhook.active, webhook.events, webhook.secret) == (False, ["certification.revoked"], "n" * 20)
    assert (
        "events.0"
        in assert_problem(spa.patch(url, {"events": ["certification.issued"]}, format="json"))["errors"]
    )

    assert spa.delete(url).status_code == 204
    assert not WebhookSubscription.objects.filter(pk=created["id"]).exists()
    actions = list(AuditEvent.objects.filter(object_id=created["id"]).values_list("action", flat=True))
    assert actions == ["webhook.create", "webhook.update", "webhook.delete"]
    assert all("n" * 20 not in str(a.after) for a in AuditEvent.objects.filter(object_id=created["id"]))


def test_lists_hold_the_callers_own(world, as_role, client_for):
    _create(as_role(Role.SPA_STAFF), events=["license.expiring"])
    _create(client_for(Role.SPA_STAFF, spa=world.spa_b), events=["license.expiring"])
    _create(as_role(Role.SCHOOL_STAFF), events=["certification.issued"])
    assert as_role(Role.SPA_STAFF).get("/api/v1/webhooks/").json()["count"] == 1
    assert as_role(Role.SCHOOL_STAFF).get("/api/v1/webhooks/").json()["count"] == 1
    assert as_role(Role.REGISTRY_ADMIN).get("/api/v1/webhooks/").json()["count"] == 3
    assert_problem(as_role(Role.THERAPIST).get("/api/v1/webhooks/"), 403)


def test_an_event_for_the_spa_is_delivered_to_its_webhook(booking_world):
    w = booking_world
    hook = _create(w.desk, events=["booking.needs_reassignment"]).json()
    booking = w.book(w.ana, w.intake().json()["id"]).json()
    w.school_staff.post(
        f"/api/v1/certifications/{w.certification.pk}/revoke/", {"reason": "x"}, format="json"
    )
    event = OutboxEvent.objects.get(type="booking.needs_reassignment")
    assert event.data["booking"] == booking["id"]
    deliveries = event_dispatch(event_id=event.pk)
    assert [str(d.subscription_id) for d in deliveries if d.subscription_id] == [hook["id"]]
