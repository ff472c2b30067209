"""Coverage reports (issue 27): the counts of a generated world, counted again one by one in
plain Python from the rows; suppression of small cells; the forecast; a school's demand that
names no spa; the reads in a fixed number of queries at 1,000 bookings."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import defaultdict
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils import timezone

from credentials.tests.factories import (
    CertificationFactory,
    LicenseFactory,
    SchoolAuthorizationFactory,
    SchoolFactory,
    TherapistFactory,
)
from protocols.choices import BodyRegion
from protocols.models import Condition, Protocol
from protocols.selectors import screening_question_list
from registry.choices import BookingStatus, DecisionKind
from registry.coverage import report as rules
from registry.coverage import selectors as coverage
from registry.coverage.report import SUPPRESS_BELOW, demand_cell, suppressed
from registry.coverage.selectors import school_demand, spa_coverage, window_instants
from registry.models import Booking, Decision, Intake
from registry.services.bookings import booking_create, slot_validate
from registry.services.intakes import applicable_questions, intake_record
from registry.tests.factories import EmploymentFactory, SpaFactory

pytestmark = pytest.mark.django_db

ATTEMPTS = {DecisionKind.BOOKING, DecisionKind.REASSIGNMENT}
PNC, FOCUS = "PROTOCOL_NOT_CERTIFIED", "FOCUS_EXCEEDS_PROTOCOL_LIMIT"
# the common conditions of a spa's clients, and the rest of the catalog now and then
WEIGHTS = {"M51.16": 6, "M54.50": 6, "WELLNESS": 5, "G44.209": 4}


@pytest.fixture
def catalog(db):
    call_command("load_catalog", verbosity=0, stdout=io.StringIO())


def _therapists(spa, rng, now, protocols, count):
    made = []
    for _ in range(count):
        therapist = TherapistFactory()
        LicenseFactory(
            therapist=therapist,
            jurisdiction=spa.jurisdiction,
            expires_on=(now + dt.timedelta(days=rng.choice([20, 50, 80, 3000]))).date(),
        )
        EmploymentFactory(spa=spa, therapist=therapist)
        for protocol in rng.sample(protocols, rng.randint(0, 3)):
            CertificationFactory(
                therapist=therapist,
                protocol=protocol,
                valid_from=now - dt.timedelta(days=400),
                expires_at=now + dt.timedelta(days=rng.choice([10, 40, 70, 100, 500])),
            )
        made.append(therapist)
    return made


def generate_world(seed: int, *, intakes_per_spa: int = 45) -> SimpleNamespace:
    """Three spas (two in US-CA, one in US-NY), each with five therapists holding random
    certifications and licences expiring at random; intakes over the last four months with
    random conditions and red flags, and one to three booking attempts each with random
    therapists, times and focused minutes — all through the services, decided by the engine."""
    rng = random.Random(seed)
    now = timezone.now()
    protocols = list(Protocol.objects.order_by("slug"))
    conditions = list(Condition.objects.order_by("code"))
    weights = [WEIGHTS.get(c.code, 1) for c in conditions]
    questions = screening_question_list()
    spa = SpaFactory(name="Harbour Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")
    neighbour = SpaFactory(name="Bay Spa", jurisdiction="US-CA", timezone="America/Los_Angeles")
    faraway = SpaFactory(name="Hudson Spa", jurisdiction="US-NY", timezone="America/New_York")
    staff = {s.pk: _therapists(s, rng, now, protocols, 5) for s in (spa, neighbour, faraway)}
    for where in (spa, neighbour, faraway):
        for n in range(intakes_per_spa):
            chosen = {c.code: c for c in rng.choices(conditions, weights=weights, k=rng.choice([1, 1, 2]))}
            regions = {c.region for c in chosen.values()}
            recorded = now - dt.timedelta(days=rng.uniform(0.5, 120))
            intake = intake_record(
                actor=None,
                spa=where,
                client_ref=f"CLIENT-{where.name}-{n}",
                condition_codes=sorted(chosen),
                screening={q.code: rng.random() < 0.05 for q in applicable_questions(questions, regions)},
                pain_score=3,
                now=recorded,
            )
            for attempt in range(rng.randint(1, 3)):
                region = rng.choice([None, BodyRegion.WHOLE_BODY, *sorted(regions)])
                slot = slot_validate(
                    spa=where,
                    intake=intake,
                    start=recorded + dt.timedelta(hours=rng.randint(2, 150)),
                    duration_minutes=60,
                    focus_region=region,
                    focus_minutes=0 if region is None else rng.choice([0, 15, 25, 40, 60]),
                )
                booking_create(
                    actor=None,
                    therapist=rng.choice(staff[where.pk]),
                    slot=slot,
                    now=recorded + dt.timedelta(minutes=attempt + 1),
                )
    return SimpleNamespace(spa=spa, neighbour=neighbour, faraway=faraway, staff=staff, now=now)


# --- the oracle: the same figures, one row at a time -------------------------------------------------


def _condition_protocols() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for condition in Condition.objects.prefetch_related("requirement_groups__protocols"):
        for group in condition.requirement_groups.all():
            found[condition.code].update(p.slug for p in group.protocols.all())
    return found


def counted_by_hand(spa, first_day, last_day) -> dict[str, dict]:
    """Per condition: intakes, allowed, refused_scope, refused_focus, {protocol: intakes}."""
    start, end = window_instants(first_day, last_day, spa.timezone)
    protocols_of = _condition_protocols()
    decisions = defaultdict(list)
    for decision in Decision.objects.filter(spa=spa):
        if decision.kind in ATTEMPTS:
            decisions[decision.intake_id].append(decision)
    rows: dict[str, dict] = {}
    for intake in Intake.objects.filter(spa=spa).prefetch_related("conditions"):
        if not start <= intake.recorded_at < end:
            continue
        attempts = decisions[intake.pk]
        for condition in intake.conditions.all():
            code = condition.code
            row = rows.setdefault(
                code, {"intakes": 0, "allowed": 0, "refused_scope": 0, "refused_focus": 0, "protocols": {}}
            )
            row["intakes"] += 1
            reasons = [r for d in attempts if not d.allowed for r in d.reasons]
            row["allowed"] += any(d.allowed for d in attempts)
            scope = [r for r in reasons if r["code"] == PNC and r.get("condition") == code]
            row["refused_scope"] += bool(scope)
            row["refused_focus"] += any(
                r["code"] == FOCUS and set(r.get("protocols", ())) & protocols_of[code] for r in reasons
            )
            for slug in {slug for r in scope for slug in r.get("protocols", ())}:
                row["protocols"][slug] = row["protocols"].get(slug, 0) + 1
    return rows


def as_figures(report) -> dict[str, dict]:
    return {
        c.condition: {
            "intakes": c.intakes,
            "allowed": c.allowed,
            "refused_scope": c.refused_scope,
            "refused_focus": c.refused_focus,
            "protocols": {p.protocol: p.intakes for p in c.protocols},
        }
        for c in report.conditions
    }


def _suppress(rows: dict[str, dict]) -> dict[str, dict]:
    return {
        code: {
            **{k: suppressed(v) for k, v in row.items() if k != "protocols"},
            "protocols": {slug: suppressed(n) for slug, n in row["protocols"].items()},
        }
        for code, row in rows.items()
    }


@pytest.fixture
def generated(catalog):
    return generate_world(seed=27)


@pytest.fixture
def unsuppressed(monkeypatch):
    """The selectors' counts before suppression (the rule is tested on its own)."""
    monkeypatch.setattr(coverage, "suppressed", lambda count: count)


def _window(world, days=120):
    last = world.now.astimezone(dt.UTC).date()
    return last - dt.timedelta(days=days), last


def test_spa_coverage_counts_match_the_decision_log_counted_one_by_one(generated, unsuppressed):
    first, last = _window(generated)
    report = spa_coverage(spa=generated.spa, first_day=first, last_day=last, now=generated.now)
    expected = counted_by_hand(generated.spa, first, last)
    assert as_figures(report) == expected
    # the world is not trivial: every column has something to count
    assert sum(r["intakes"] for r in expected.values()) >= 45
    for column in ("allowed", "refused_scope", "refused_focus"):
        assert sum(r[column] for r in expected.values()) > 0, column
    assert any(r["protocols"] for r in expected.values())


def test_spa_coverage_counts_only_intakes_recorded_in_the_window(generated, unsuppressed):
    last = generated.now.astimezone(dt.UTC).date() - dt.timedelta(days=30)
    first = last - dt.timedelta(days=40)
    report = spa_coverage(spa=generated.spa, first_day=first, last_day=last, now=generated.now)
    expected = counted_by_hand(generated.spa, first, last)
    assert as_figures(report) == expected
    everything = counted_by_hand(generated.spa, *_window(generated))
    assert sum(r["intakes"] for r in expected.values()) < sum(r["intakes"] for r in everything.values())


def test_spa_coverage_suppresses_client_counts_from_1_to_4(generated):
    first, last = _window(generated)
    report = spa_coverage(spa=generated.spa, first_day=first, last_day=last, now=generated.now)
    expected = _suppress(counted_by_hand(generated.spa, first, last))
    assert as_figures(report) == expected
    cells = [v for row in expected.values() for k, v in row.items() if k != "protocols"]
    assert None in cells  # something was suppressed
    assert any(v is not None and v >= SUPPRESS_BELOW for v in cells)  # and something shown
    assert all(v is None or v == 0 or v >= SUPPRESS_BELOW for v in cells)


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, None), (4, None), (5, 5), (120, 120)])
def test_a_count_of_1_to_4_clients_is_suppressed_and_zero_is_shown(count, shown):
    assert suppressed(count) == shown
    assert rules.shown(suppressed(count)) == ("< 5" if shown is None else str(shown))


def test_the_report_names_no_client(generated):
    report = spa_coverage(
        spa=generated.spa, first_day=_window(generated)[0], last_day=_window(generated)[1], now=generated.now
    )
    text = repr(report)
    assert "CLIENT-" not in text
    assert not any(str(i) in text for i in Intake.objects.values_list("pk", flat=True))


def forecast_by_hand(spa, now) -> dict[tuple, list[int]]:
    """Per requirement set (as the catalog has it): the spa's employed therapists with a licence
    in its jurisdiction active on the local day and a certification valid at the instant in a
    protocol of every group, at now, +30, +60, +90 days."""
    requirements = {}
    for condition in Condition.objects.prefetch_related("requirement_groups__protocols"):
        groups = tuple(
            tuple(sorted(p.slug for p in g.protocols.all()))
            for g in condition.requirement_groups.order_by("position")
        )
        requirements.setdefault(groups, []).append(condition.code)
    therapists = list(
        spa.employments.select_related("therapist").prefetch_related(
            "therapist__licenses", "therapist__certifications__protocol"
        )
    )
    result = {}
    from zoneinfo import ZoneInfo

    for groups in requirements:
        counts = []
        for days in (0, 30, 60, 90):
            at = now + dt.timedelta(days=days)
            day = at.astimezone(ZoneInfo(spa.timezone)).date()
            n = 0
            for employment in therapists:
                t = employment.therapist
                if not (
                    employment.started_on <= day
                    and (employment.ended_on is None or day <= employment.ended_on)
                ):
                    continue
                licensed = any(
                    lic.jurisdiction == spa.jurisdiction
                    and lic.status == "active"
                    and lic.valid_from <= day <= lic.expires_on
                    for lic in t.licenses.all()
                )
                held = {
                    c.protocol.slug
                    for c in t.certifications.all()
                    if c.valid_from <= at < c.expires_at and (c.revoked_at is None or c.revoked_at > at)
                }
                n += licensed and all(held & set(group) for group in groups)
            counts.append(n)
        result[groups] = counts
    return result


def test_forecast_counts_the_therapists_who_may_treat_each_condition_group_as_credentials_expire(generated):
    first, last = _window(generated)
    report = spa_coverage(spa=generated.spa, first_day=first, last_day=last, now=generated.now)
    got = {g.requirements: [p.therapists for p in g.points] for g in report.forecast}
    expected = forecast_by_hand(generated.spa, generated.now)
    assert got == expected
    assert any(counts[0] > counts[-1] for counts in got.values())  # something lapses
    wellness = next(g for g in report.forecast if "WELLNESS" in g.conditions)
    assert wellness.requirements == ()
    assert wellness.label.startswith("No protocol")
    lumbar = next(g for g in report.forecast if "M51.16" in g.conditions)
    assert {"M51.17", "M54.16"} <= set(lumbar.conditions)  # the same requirements, one group


# --- school demand ---------------------------------------------------------------------------------------


def demand_by_hand(school, now) -> dict[str, tuple[int, int, int]]:
    since = now - dt.timedelta(days=90)
    taught = {
        a.protocol.slug
        for a in school.authorizations.select_related("protocol")
        if a.granted_at <= now and (a.withdrawn_at is None or a.withdrawn_at > now)
    }
    found = {slug: (set(), set(), set()) for slug in taught}
    for decision in Decision.objects.select_related("spa"):
        if (
            decision.kind not in ATTEMPTS
            or decision.allowed
            or decision.spa.jurisdiction != school.jurisdiction
            or not since < decision.made_at <= now
        ):
            continue
        for reason in decision.reasons:
            if reason["code"] != PNC:
                continue
            for slug in reason.get("protocols", ()):
                if slug in found:
                    found[slug][0].add(decision.pk)
                    found[slug][1].add(decision.intake_id)
                    found[slug][2].add(decision.spa_id)
    return {slug: tuple(len(s) for s in sets) for slug, sets in found.items()}


@pytest.fixture
def school(generated):
    school = SchoolFactory(jurisdiction="US-CA")
    for slug in ("low-back-radiculopathy", "tension-headache", "neck-radiculopathy", "post-concussion"):
        SchoolAuthorizationFactory(school=school, protocol=Protocol.objects.get(slug=slug))
    withdrawn = SchoolAuthorizationFactory(
        school=school, protocol=Protocol.objects.get(slug="low-back-no-radiculopathy")
    )
    withdrawn.withdrawn_at = timezone.now() - dt.timedelta(days=1)
    withdrawn.save()
    return school


def test_school_demand_counts_scope_refusals_across_the_spas_of_its_jurisdiction(generated, school):
    now = timezone.now()
    report = school_demand(school=school, now=now)
    expected = demand_by_hand(school, now)
    got = {p.protocol: (p.refusals, p.intakes) for p in report.protocols}
    assert set(got) == {"low-back-radiculopathy", "tension-headache", "neck-radiculopathy", "post-concussion"}
    assert got == {slug: (demand_cell(r, s), demand_cell(i, s)) for slug, (r, i, s) in expected.items()}
    assert any(refusals and refusals >= SUPPRESS_BELOW for refusals, _ in got.values())
    # the spa in New York is not counted
    faraway_only = demand_by_hand(SchoolFactory(jurisdiction="US-NY"), now)
    assert faraway_only == {}


def test_school_demand_names_no_spa_therapist_or_client(generated, school):
    report = school_demand(school=school, now=timezone.now())
    text = repr(report)
    for spa in (generated.spa, generated.neighbour, generated.faraway):
        assert str(spa.pk) not in text
        assert spa.name not in text
    for therapists in generated.staff.values():
        for therapist in therapists:
            assert str(therapist.pk) not in text
            assert therapist.name not in text
    assert "CLIENT-" not in text


@pytest.mark.parametrize(
    ("count", "spas", "shown"),
    [(0, 0, 0), (4, 3, None), (5, 1, None), (40, 1, None), (5, 2, 5), (40, 7, 40)],
)
def test_a_demand_cell_needs_five_refusals_from_two_spas(count, spas, shown):
    assert demand_cell(count, spas) == shown


def test_school_demand_from_a_single_spa_is_suppressed(catalog):
    now = timezone.now()
    radiculopathy = Protocol.objects.get(slug="low-back-radiculopathy")
    school = SchoolFactory(jurisdiction="US-CA")
    SchoolAuthorizationFactory(school=school, protocol=radiculopathy)
    spa = SpaFactory(jurisdiction="US-CA")
    therapist = TherapistFactory()
    LicenseFactory(therapist=therapist)
    EmploymentFactory(spa=spa, therapist=therapist)
    questions = screening_question_list()
    for n in range(6):
        intake = intake_record(
            actor=None,
            spa=spa,
            client_ref=f"C-{n}",
            condition_codes=["M51.16"],
            screening={q.code: False for q in applicable_questions(questions, {"lumbar"})},
            pain_score=2,
        )
        slot = slot_validate(
            spa=spa,
            intake=intake,
            start=now + dt.timedelta(hours=n + 2),
            duration_minutes=60,
            focus_region=None,
            focus_minutes=0,
        )
        assert not booking_create(actor=None, therapist=therapist, slot=slot).allowed
    (row,) = school_demand(school=school, now=timezone.now()).protocols
    assert (row.refusals, row.intakes) == (None, None)  # six refusals, but all at one spa


# --- a fixed number of queries ------------------------------------------------------------------


def bulk_bookings(spa, therapists, conditions, count, now):
    """``count`` past bookings with their intakes and decisions, a third of them after an
    attempt refused for scope and a tenth after one refused for a focus limit (rows written in
    bulk: this is about query counts)."""
    intakes = Intake.objects.bulk_create(
        [
            Intake(
                spa=spa,
                client_ref=f"BULK-{n}",
                screening={},
                clearances={},
                pain_score=2,
                recorded_at=now - dt.timedelta(hours=n + 2),
                valid_until=now - dt.timedelta(hours=n + 2) + dt.timedelta(days=7),
            )
            for n in range(count)
        ]
    )
    Intake.conditions.through.objects.bulk_create(
        [
            Intake.conditions.through(intake_id=intake.pk, condition_id=conditions[n % len(conditions)].pk)
            for n, intake in enumerate(intakes)
        ]
    )
    bookings, decisions = [], []
    for n, intake in enumerate(intakes):
        therapist = therapists[n % len(therapists)]
        start = intake.recorded_at + dt.timedelta(hours=1)
        code = conditions[n % len(conditions)].code
        refusals = []
        if n % 3 == 0:
            refusals.append(
                {"code": PNC, "message": "x", "condition": code, "protocols": ["low-back-radiculopathy"]}
            )
        if n % 10 == 1:
            refusals.append({"code": FOCUS, "message": "x", "protocols": ["low-back-radiculopathy"]})
        attempt = {"made_at": intake.recorded_at, "kind": DecisionKind.BOOKING, "spa": spa, "case": {}}
        attempt.update(therapist=therapist, intake=intake)
        if refusals:
            decisions.append(Decision(**attempt, allowed=False, reasons=refusals))
        booking = Booking(
            spa=spa,
            therapist=therapist,
            intake=intake,
            start=start,
            end=start + dt.timedelta(hours=1),
            status=BookingStatus.COMPLETED,
        )
        bookings.append(booking)
        decisions.append(Decision(**attempt, booking=booking, allowed=True, reasons=[]))
    Booking.objects.bulk_create(bookings)
    Decision.objects.bulk_create(decisions)
    return len(bookings)


def test_both_reads_take_a_fixed_number_of_queries_at_1k_bookings(catalog, django_assert_num_queries):
    now = timezone.now()
    conditions = list(Condition.objects.filter(code__in=["M51.16", "M54.50", "WELLNESS"]))
    school = SchoolFactory(jurisdiction="US-CA")
    SchoolAuthorizationFactory(school=school, protocol=Protocol.objects.get(slug="low-back-radiculopathy"))
    spas = [SpaFactory(jurisdiction="US-CA") for _ in range(2)]
    protocols = list(Protocol.objects.all())
    rng = random.Random(1)
    figures = []
    for size in (30, 1000):
        for spa in spas:
            therapists = _therapists(spa, rng, now, protocols, 5)
            bulk_bookings(spa, therapists, conditions, size // 2, now)
        assert Booking.objects.count() >= size
        first, last = now.date() - dt.timedelta(days=89), now.date()
        spa_coverage(spa=spas[0], first_day=first, last_day=last, now=now)  # the catalog copy is current
        with django_assert_num_queries(3):
            report = spa_coverage(spa=spas[0], first_day=first, last_day=last, now=now)
        with django_assert_num_queries(1):
            demand = school_demand(school=school, now=now)
        figures.append((report, demand))
    small, large = figures
    assert sum(c.intakes or 0 for c in large[0].conditions) > sum(c.intakes or 0 for c in small[0].conditions)
    assert large[1].protocols[0].refusals > SUPPRESS_BELOW
