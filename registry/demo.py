"""Demo data for a fresh install: the credentials demo, a spa employing the demo therapists
(and a second spa in the same state), a few days of intakes and booking attempts at both
(so the coverage and demand pages show something), and one user per role — so a newcomer can
try every role at once. Idempotent."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.models import User
from credentials.demo import load_credentials_demo
from credentials.models import Certification, Therapist
from protocols.models import Condition
from protocols.selectors import screening_question_list
from registry.choices import Role
from registry.models import Employment, Intake, Spa
from registry.services.accounts import token_ensure, user_create
from registry.services.bookings import booking_create, slot_validate
from registry.services.credentials import certification_scope_attest
from registry.services.intakes import applicable_questions, intake_record
from registry.services.rechecks import employment_start, spa_create

DEMO_PASSWORD = "demo-registry-2026!"  # noqa: S105 - printed on purpose: demo accounts only
SPA_NAME = "Harbour Wellness Spa"
NEIGHBOUR_NAME = "Bayside Day Spa"  # a second spa in US-CA: the schools' demand adds up both
HISTORY_PREFIX = "DEMO-"

# The coverage history: (condition, intakes, then per intake the attempts in order, each
# (therapist key, focused minutes on the condition's region)). Beth holds no certification,
# Chris only low back without radiculopathy; nobody holds tension-type headache or
# post-concussion; the radiculopathy protocol allows 30 focused minutes.
HARBOUR_HISTORY: tuple[tuple[str, int, tuple[tuple, ...]], ...] = (
    ("M51.16", 4, (("beth", 20), ("ana", 45), ("ana", 20))),  # scope, focus, then allowed
    ("M51.16", 2, (("beth", 20), ("ana", 20))),
    ("M51.16", 2, (("chris", 20),)),  # refused for scope, not booked
    # Dana's radiculopathy certificate is provisional (issue 23): alone she is refused, with
    # Ana supervising she is booked
    ("M51.16", 1, (("dana", 40), ("dana", 25), ("dana", 25, "ana"))),
    ("M54.50", 5, (("beth", 20), ("chris", 25))),
    ("M54.50", 2, (("chris", 30),)),
    ("G44.209", 6, (("ana", 20), ("chris", 20))),  # nobody on staff may treat it
    ("WELLNESS", 6, (("beth", 0),)),
    ("F07.81", 2, (("beth", 15),)),
)
NEIGHBOUR_HISTORY: tuple[tuple[str, int, tuple[tuple[str, int], ...]], ...] = (
    ("M51.16", 5, (("beth", 20),)),
    ("G44.209", 3, (("chris", 20),)),
)


def _spa(actor: User | None, name: str = SPA_NAME, email: str = "frontdesk@harbour-spa.example.org") -> Spa:
    spa = Spa.objects.filter(name=name).first()
    return spa or spa_create(
        actor=actor,
        name=name,
        jurisdiction="US-CA",
        timezone_name="America/Los_Angeles",
        contact_email=email,
    )


def _employ(spa: Spa, therapists: list[Therapist]) -> None:
    for therapist in therapists:
        if not Employment.objects.filter(spa=spa, therapist=therapist, ended_on__isnull=True).exists():
            employment_start(actor=None, spa=spa, therapist=therapist)


def _history(spa: Spa, therapists: dict[str, Therapist], history, *, now: dt.datetime) -> None:
    """Intakes recorded over the last few days and their booking attempts, each decided by the
    engine through ``booking_create`` (allowed ones are booked over the next two days, one
    therapist's sessions never overlapping): what the coverage report and the schools' demand
    count. Recorded once per spa (``HISTORY_PREFIX`` client references)."""
    if Intake.objects.filter(spa=spa, client_ref__startswith=HISTORY_PREFIX).exists():
        return
    questions = screening_question_list()
    regions = dict(Condition.objects.values_list("code", "region"))
    local = zoneinfo.ZoneInfo(spa.timezone)
    first_slot = (now.astimezone(local) + dt.timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    next_slot = dict.fromkeys(therapists, 0)
    number = 0
    for code, count, attempts in history:
        region = regions[code]
        for _ in range(count):
            number += 1
            recorded = now - dt.timedelta(hours=3 * number)
            intake = intake_record(
                actor=None,
                spa=spa,
                client_ref=f"{HISTORY_PREFIX}{number:04d}",
                condition_codes=[code],
                screening={q.code: False for q in applicable_questions(questions, {region})},
                pain_score=3,
                now=recorded,
            )
            for attempt, (key, minutes, *supervised) in enumerate(attempts):
                supervisor = supervised[0] if supervised else None
                slot_index = max(next_slot[key], next_slot[supervisor] if supervisor else 0)
                start = first_slot + dt.timedelta(days=slot_index // 9, hours=slot_index % 9)
                focus = None if region == "whole-body" or not minutes else region
                slot = slot_validate(
                    spa=spa,
                    intake=intake,
                    start=start,
                    duration_minutes=60,
                    focus_region=focus,
                    focus_minutes=minutes if focus else 0,
                )
                outcome = booking_create(
                    actor=None,
                    therapist=therapists[key],
                    slot=slot,
                    supervisor=therapists[supervisor] if supervisor else None,
                    now=recorded + dt.timedelta(minutes=attempt),
                )
                if outcome.booking is not None:
                    next_slot[key] = slot_index + 1
                    if supervisor:
                        next_slot[supervisor] = slot_index + 1
                    break


def _user(username: str, **membership: Any) -> tuple[User, str]:
    user = User.objects.filter(username=username).first()
    if user is None:
        return user_create(actor=None, username=username, password=DEMO_PASSWORD, **membership)
    return user, token_ensure(user=user)


@transaction.atomic
def load_demo() -> list[tuple[str, str, str]]:
    """Create what is missing; return ``(username, role, token)`` for each demo user."""
    credentials = load_credentials_demo(actor=None)
    therapists = credentials["therapists"]
    ana = Certification.objects.get(pk=credentials["certifications"]["ana"].pk)
    if ana.scope_full_at is None and ana.protocol.supervised_sessions > 0:
        # Ana, senior, did her supervised sessions before the registry; Dana stays provisional
        certification_scope_attest(
            actor=None, certification=ana, reason="Demo: supervised sessions done before the registry."
        )
    spa = _spa(None)
    _employ(spa, list(therapists.values()))
    neighbour = _spa(None, NEIGHBOUR_NAME, "desk@bayside-day-spa.example.org")
    _employ(neighbour, [therapists["beth"], therapists["chris"]])
    now = timezone.now()
    _history(spa, therapists, HARBOUR_HISTORY, now=now)
    _history(neighbour, therapists, NEIGHBOUR_HISTORY, now=now)
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
