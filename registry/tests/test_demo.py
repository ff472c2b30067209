import pytest
from django.core.management import call_command

from core.models import User
from registry.models import Employment, Membership

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent_and_prints_one_user_per_role(capsys):
    call_command("load_catalog")
    capsys.readouterr()
    call_command("load_demo")
    first = capsys.readouterr().out
    counts = (User.objects.count(), Employment.objects.count(), Membership.objects.count())
    call_command("load_demo")
    second = capsys.readouterr().out
    assert (User.objects.count(), Employment.objects.count(), Membership.objects.count()) == counts
    assert first == second  # same users, same tokens
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {"registry-admin", "spa-staff", "school-staff", "therapist"}
    for username in ("registry-admin", "front-desk", "school-office", "ana"):
        assert username in first
    assert User.objects.get(username="front-desk").check_password("demo-registry-2026!")
