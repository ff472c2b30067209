"""What one bench run needs fresh, written next to the generated fixture.

    REGISTRY_DB_NAME=registry python bench/prepare.py

Intakes serve sessions for seven days only, so every run records a new one (through
``registry.services.intakes.intake_record``, as the front desk would): a client with
lumbar radiculopathy from a disc (M51.16), every screening question that applies answered
no. The previous run's bookings are cancelled (``booking_cancel``), so every run books the
same free slots. Then it writes ``bench/out/run-<db>.json`` and the Lua data file wrk reads:

- eligibility check bodies: the bench spa's 50 therapists at 30-minute starts over the next
  six days (the front desk asking about a therapist for a session);
- eligibility search bodies: the same starts, no therapist;
- booking bodies: one per free 30-minute slot of each therapist the engine allows for the
  intake, interleaved so that consecutive requests book different therapists, each slot used
  once (no request collides with another, or with an existing booking);
- verification paths: 2,000 sampled certificate serials (active, expired and revoked).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

SESSION_MINUTES = 30
FOCUS_MINUTES = 20  # within the radiculopathy protocol's 30-minute limit on the low back


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_list(values: list[str]) -> str:
    return "{\n" + "".join(f"  {lua_string(v)},\n" for v in values) + "}"


def main() -> int:
    name = _django.setup()
    from django.db.models import Q
    from django.utils import timezone

    from core.models import User
    from protocols.models import ScreeningQuestion
    from registry.choices import ACTIVE_BOOKING_STATUSES
    from registry.models import Booking, Spa
    from registry.services.accounts import token_ensure
    from registry.services.bookings import booking_cancel, eligible_therapists, slot_validate
    from registry.services.intakes import applicable_questions, intake_record

    fixture_path = _django.OUT / ("fixture.json" if name == "registry" else f"fixture-{name}.json")
    fixture = json.loads(fixture_path.read_text())
    spa = Spa.objects.get(pk=fixture["bench_spa"])
    staff = User.objects.get(pk=fixture["spa_staff"]["id"])
    admin = User.objects.get(pk=fixture["admin"]["id"])
    staff_token = token_ensure(user=staff)
    admin_token = token_ensure(user=admin)
    now = timezone.now()

    # the previous runs' bookings free their slots again
    leftovers = Booking.objects.filter(
        created_by=staff, status__in=ACTIVE_BOOKING_STATUSES, start__gt=now
    ).select_related("spa", "intake", "therapist")
    cancelled = 0
    for booking in leftovers:
        booking_cancel(actor=staff, booking=booking)
        cancelled += 1

    regions = {"lumbar"}
    asked = applicable_questions(ScreeningQuestion.objects.all(), regions)
    intake = intake_record(
        actor=staff,
        spa=spa,
        client_ref=f"BENCH-{now:%Y%m%d%H%M%S}",
        condition_codes=["M51.16"],
        screening={q.code: False for q in asked},
        pain_score=6,
        focus_regions=["lumbar"],
        now=now,
    )

    first = (now + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    last = intake.valid_until - dt.timedelta(hours=12)
    starts = []
    t = first
    while t < last:
        starts.append(t)
        t += dt.timedelta(minutes=SESSION_MINUTES)
    therapists = [t["id"] for t in fixture["bench_therapists"]]

    def body(start: dt.datetime, therapist: str | None) -> str:
        data = {
            "spa": str(spa.pk),
            "intake": str(intake.pk),
            "start": start.isoformat(),
            "duration_minutes": SESSION_MINUTES,
            "focus_region": "lumbar",
            "focus_minutes": FOCUS_MINUTES,
        }
        if therapist is not None:
            data = {"spa": data.pop("spa"), "therapist": therapist, **data}
        return json.dumps(data)

    check = [body(starts[(k * 7) % len(starts)], therapists[k % len(therapists)]) for k in range(5000)]
    search = [body(s, None) for s in starts]

    # who the engine allows for this intake (a mid-week slot), and their free slots
    probe = slot_validate(
        spa=spa,
        intake=intake,
        start=starts[len(starts) // 2],
        duration_minutes=SESSION_MINUTES,
        focus_region="lumbar",
        focus_minutes=FOCUS_MINUTES,
    )
    allowed = [c.therapist_id for c in eligible_therapists(slot=probe) if c.result.allowed]
    busy: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {t: [] for t in allowed}
    for therapist_id, b_start, b_end in Booking.objects.filter(
        Q(therapist_id__in=allowed),
        status__in=ACTIVE_BOOKING_STATUSES,
        start__lt=last + dt.timedelta(hours=1),
        end__gt=first,
    ).values_list("therapist_id", "start", "end"):
        busy[str(therapist_id)].append((b_start, b_end))
    booking = []
    for start in starts:
        end = start + dt.timedelta(minutes=SESSION_MINUTES)
        for therapist in allowed:
            if not any(b_start < end and start < b_end for b_start, b_end in busy[therapist]):
                booking.append(body(start, therapist))

    # the large bench spa (500 therapists): its own staff, intake and search bodies
    search500: list[str] = []
    token500 = ""
    if fixture.get("big_spa") and fixture.get("big_spa_staff"):
        big = Spa.objects.get(pk=fixture["big_spa"])
        big_staff = User.objects.get(pk=fixture["big_spa_staff"]["id"])
        token500 = token_ensure(user=big_staff)
        big_intake = intake_record(
            actor=big_staff,
            spa=big,
            client_ref=f"BENCH500-{now:%Y%m%d%H%M%S}",
            condition_codes=["M51.16"],
            screening={q.code: False for q in asked},
            pain_score=6,
            focus_regions=["lumbar"],
            now=now,
        )
        search500 = [
            json.dumps(
                {
                    "spa": str(big.pk),
                    "intake": str(big_intake.pk),
                    "start": s.isoformat(),
                    "duration_minutes": SESSION_MINUTES,
                    "focus_region": "lumbar",
                    "focus_minutes": FOCUS_MINUTES,
                }
            )
            for s in starts
        ]

    serials = fixture["serials"]
    data = {
        "database": name,
        "spa": str(spa.pk),
        "intake": str(intake.pk),
        "staff_token": staff_token,
        "admin_token": admin_token,
        "therapists": therapists,
        "allowed_therapists": allowed,
        "starts": [starts[0].isoformat(), starts[-1].isoformat()],
        "counts": {
            "check": len(check),
            "search": len(search),
            "search500": len(search500),
            "booking": len(booking),
            "verify": len(serials),
        },
        "cancelled_previous_bookings": cancelled,
    }
    (_django.OUT / f"run-{name}.json").write_text(json.dumps(data, indent=2))
    (_django.OUT / f"run-{name}-bodies.json").write_text(
        json.dumps(
            {"check": [json.loads(b) for b in check[:1000]], "search": [json.loads(b) for b in search]}
        )
    )
    lua = (
        "DATA = {\n"
        f"token = {lua_string(staff_token)},\n"
        f"check = {lua_list(check)},\n"
        f"search = {lua_list(search)},\n"
        f"token500 = {lua_string(token500)},\n"
        f"search500 = {lua_list(search500)},\n"
        f"booking = {lua_list(booking)},\n"
        f"serials = {lua_list(serials)},\n"
        "}\n"
    )
    (_django.OUT / f"run-{name}.lua").write_text(lua)
    print(json.dumps(data["counts"] | {"allowed": len(allowed), "cancelled": cancelled}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
