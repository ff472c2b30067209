"""The catalog admin shows, searches and filters the catalog, and writes nothing: catalog
writes go through the audited services."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import path, reverse

from protocols.models import Condition, Protocol, ScreeningQuestion

# This module is its own URLconf (only the admin), so these tests do not depend on the API's urls.
urlpatterns = [path("admin/", admin.site.urls)]
pytestmark = [pytest.mark.django_db, pytest.mark.urls("protocols.tests.test_admin")]


@pytest.fixture
def catalog():
    call_command("load_catalog", stdout=None)


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (Protocol, {"q": "radiculopathy", "region": "lumbar"}),
        (Condition, {"q": "M51", "region": "lumbar"}),
        (ScreeningQuestion, {"q": "bladder", "action": "refer-emergency"}),
    ],
)
def test_catalog_admin_lists_with_search_and_filters_and_says_it_is_read_only(
    admin_client, catalog, model, params
):
    url = reverse(f"admin:protocols_{model._meta.model_name}_changelist")

    response = admin_client.get(url, params)

    assert response.status_code == 200
    assert b"read-only here" in response.content
    assert response.context["cl"].result_count >= 1


def test_condition_admin_shows_its_requirement_groups(admin_client, catalog):
    condition = Condition.objects.get(code="M51.16")

    response = admin_client.get(reverse("admin:protocols_condition_change", args=[condition.pk]))

    assert response.status_code == 200
    assert b"low-back-radiculopathy" in response.content


def test_protocol_admin_shows_its_modules(admin_client, catalog):
    protocol = Protocol.objects.get(slug="low-back-radiculopathy")

    response = admin_client.get(reverse("admin:protocols_protocol_change", args=[protocol.pk]))

    assert response.status_code == 200
    assert b"harm-avoidance" in response.content or b"How not to cause harm" in response.content


@pytest.mark.parametrize("model", [Protocol, Condition, ScreeningQuestion])
def test_catalog_admin_allows_no_add_change_or_delete(rf, admin_user, model):
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user

    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False
    assert model_admin.has_view_permission(request) is True
