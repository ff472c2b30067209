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


def test_the_demo_front_desk_has_a_provisional_therapist_and_a_supervised_booking(capsys):
    """Issue 23: Dana's radiculopathy certificate is provisional, Ana's full (attested); the
    history holds Dana's supervised session with Ana."""
    from credentials.models import Certification
    from registry.models import Booking

    call_command("load_catalog", verbosity=0)
    call_command("load_demo")
    certs = {
        c.therapist.name: c for c in Certification.objects.filter(protocol__slug="low-back-radiculopathy")
    }
    assert certs["Dana Wu"].scope_full_at is None
    assert certs["Ana Silva"].scope_full_at is not None
    supervised = Booking.objects.get(supervisor__name="Ana Silva")
    assert supervised.therapist.name == "Dana Wu"
