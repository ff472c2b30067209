"""Demo data for a fresh install: the credentials demo, a spa employing the demo therapists,
and one user per role — so a newcomer can try every role at once. Idempotent."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.models import User
from credentials.demo import load_credentials_demo
from registry.choices import Role
from registry.models import Employment, Spa
from registry.services.accounts import token_ensure, user_create
from registry.services.rechecks import employment_start, spa_create

DEMO_PASSWORD = "demo-registry-2026!"  # noqa: S105 - printed on purpose: demo accounts only
SPA_NAME = "Harbour Wellness Spa"


def _spa(actor: User | None) -> Spa:
    spa = Spa.objects.filter(name=SPA_NAME).first()
    return spa or spa_create(
        actor=actor,
        name=SPA_NAME,
        jurisdiction="US-CA",
        timezone_name="America/Los_Angeles",
        contact_email="frontdesk@harbour-spa.example.org",
    )


def _user(username: str, **membership: Any) -> tuple[User, str]:
    user = User.objects.filter(username=username).first()
    if user is None:
        return user_create(actor=None, username=username, password=DEMO_PASSWORD, **membership)
    return user, token_ensure(user=user)


@transaction.atomic
def load_demo() -> list[tuple[str, str, str]]:
    """Create what is missing; return ``(username, role, token)`` for each demo user."""
    credentials = load_credentials_demo(actor=None)
    spa = _spa(None)
    for therapist in credentials["therapists"].values():
        if not Employment.objects.filter(spa=spa, therapist=therapist, ended_on__isnull=True).exists():
            employment_start(actor=None, spa=spa, therapist=therapist)
    users = [
        ("registry-admin", {"role": Role.REGISTRY_ADMIN}),
        ("front-desk", {"role": Role.SPA_STAFF, "spa": spa}),
        ("school-office", {"role": Role.SCHOOL_STAFF, "school": credentials["schools"][0]}),
        ("ana", {"role": Role.THERAPIST, "therapist": credentials["therapists"]["ana"]}),
    ]
    result = []
    for username, membership in users:
        user, token = _user(username, **membership)
        if membership["role"] == Role.REGISTRY_ADMIN and not user.is_staff:
            User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
        result.append((username, str(membership["role"]), token))
    return result
