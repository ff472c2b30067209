"""The eligibility check takes the catalog part of its case from a per-process copy of the
catalog, kept current by ``protocols.CatalogVersion`` (issue 15): every write to a catalog
table gives a new version, a version number is never reused, and the check's case is the same
case the booking path builds straight from the tables."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.errors import Conflict
from protocols.choices import BodyRegion, ScreeningAction
from protocols.models import CatalogVersion, Condition, Protocol, RequirementGroup, ScreeningQuestion
from protocols.services import condition_update
from protocols.tests.factories import ConditionFactory, ProtocolFactory, ScreeningQuestionFactory
from registry import selectors
from registry.selectors import eligibility_case, eligibility_check_facts
from registry.services.accounts import user_create
from registry.tests.factories import IntakeFactory

pytestmark = pytest.mark.django_db


def version() -> int | None:
    row = CatalogVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return row


def _writes(world):
    """One write of each kind to each catalog table."""
    protocol = ProtocolFactory(slug="neck-basic", region=BodyRegion.CERVICAL)
    condition = Condition.objects.get(code="M51.16")
    group = RequirementGroup.objects.filter(condition=condition).first()
    question = ScreeningQuestion.objects.get(code="recent-trauma")
    return [
        ("insert a protocol", lambda: ProtocolFactory(slug="hip-basic", region=BodyRegion.PELVIS)),
        ("update a protocol", lambda: Protocol.objects.filter(pk=protocol.pk).update(max_focus_minutes=15)),
        ("insert a condition", lambda: ConditionFactory(code="M54.2", region=BodyRegion.CERVICAL)),
        ("rename a condition", lambda: Condition.objects.filter(pk=condition.pk).update(name="Disc")),
        ("add a group protocol", lambda: group.protocols.add(protocol)),
        ("remove a group protocol", lambda: group.protocols.remove(protocol)),
        ("move a group", lambda: RequirementGroup.objects.filter(pk=group.pk).update(position=5)),
        ("reword a question", lambda: ScreeningQuestion.objects.filter(pk=question.pk).update(text="Hit?")),
        ("delete a question", lambda: ScreeningQuestion.objects.filter(pk=question.pk).delete()),
        ("insert a question", lambda: ScreeningQuestionFactory(code="fever")),
    ]


def test_every_write_to_a_catalog_table_gives_a_new_version(gate_world):
    seen = {version()}
    for label, write in _writes(gate_world):
        write()
        assert version() not in seen, label
        seen.add(version())


def test_a_rolled_back_change_never_lends_its_number_to_a_later_one(gate_world):
    before = version()
    seen = []

    def change_then_fail():
        with transaction.atomic():
            ProtocolFactory(slug="hip-basic", region=BodyRegion.PELVIS)
            seen.append(version())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_then_fail()
    [rolled_back] = seen
    assert version() == before
    ProtocolFactory(slug="hip-basic", region=BodyRegion.PELVIS)
    assert version() not in (before, rolled_back)


def test_a_written_version_number_is_replaced_by_a_fresh_one(gate_world):
    before = version()
    CatalogVersion.objects.filter(pk=1).update(version=before)  # what loaddata of a dump does
    assert version() > before
    CatalogVersion.objects.all().delete()
    CatalogVersion.objects.create(version=1)
    assert version() > before


def test_the_version_row_comes_back_after_it_is_gone(gate_world):
    CatalogVersion.objects.all().delete()  # what a TRUNCATE of every table (a test flush) does
    assert version() is None
    ProtocolFactory(slug="hip-basic", region=BodyRegion.PELVIS)
    assert version() is not None


def _both_cases(spa, intake, start, focus_region="lumbar", focus_minutes=20):
    end = start + dt.timedelta(minutes=60)
    by_check, _ = eligibility_check_facts(
        spa_id=spa.pk,
        intake_id=intake.pk,
        therapist_id=intake.pk,  # no such therapist: only the case matters here
        start=start,
        end=end,
        focus_region=focus_region,
        focus_minutes=focus_minutes,
    )
    by_tables = eligibility_case(
        intake=intake, start=start, end=end, focus_region=focus_region, focus_minutes=focus_minutes
    )
    return by_check, by_tables


def test_the_checks_case_is_the_case_the_booking_path_reads_from_the_tables(gate_world):
    neck = ProtocolFactory(slug="neck-basic", name="Neck", region=BodyRegion.CERVICAL, max_focus_minutes=20)
    hip = ProtocolFactory(slug="hip-basic", name="Hip", region=BodyRegion.PELVIS, max_focus_minutes=25)
    two_groups = ConditionFactory(
        code="M54.2", region=BodyRegion.CERVICAL, requirements=[[neck, hip], [neck]]
    )
    no_groups = ConditionFactory(code="WELLNESS", code_system="", region=BodyRegion.WHOLE_BODY)
    ScreeningQuestionFactory(code="fever", action=ScreeningAction.REFER_PHYSICIAN, position=1)
    disc = Condition.objects.get(code="M51.16")
    spa, start = gate_world.spa, gate_world.start
    intakes = [
        IntakeFactory(spa=spa, conditions=[disc]),
        IntakeFactory(
            spa=spa,
            conditions=[two_groups, disc, no_groups],
            focus_regions=[BodyRegion.SHOULDER],
            screening={"recent-trauma": True, "fever": False, "ces-bladder-bowel": False, "retired-q": True},
            clearances={"recent-trauma": {"by": "Dr. Who", "on": "2026-01-01"}},
        ),
        IntakeFactory(spa=spa, conditions=[no_groups]),
    ]
    for intake in intakes:
        by_check, by_tables = _both_cases(spa, intake, start)
        assert by_check == by_tables
    assert by_check.conditions  # the last intake's wellness condition


def test_a_catalog_row_gone_between_the_statement_and_the_copy_is_a_conflict(gate_world, monkeypatch):
    intake = IntakeFactory(spa=gate_world.spa, conditions=[Condition.objects.get(code="M51.16")])
    empty = selectors._Catalog(version=None, conditions={}, questions={}, protocols={})
    monkeypatch.setattr(selectors, "_catalog", lambda version: empty)
    with pytest.raises(Conflict):
        _both_cases(gate_world.spa, intake, gate_world.start)


def test_another_spas_intake_has_no_case_and_an_unknown_therapist_no_facts(gate_world):
    other = IntakeFactory(conditions=[Condition.objects.get(code="M51.16")])
    case, facts = eligibility_check_facts(
        spa_id=gate_world.spa.pk,
        intake_id=other.pk,
        therapist_id=other.pk,
        start=gate_world.start,
        end=gate_world.start + dt.timedelta(hours=1),
        focus_region=None,
        focus_minutes=0,
    )
    assert case is None
    assert facts is None


@pytest.fixture
def desk(gate_world):
    _, token = user_create(actor=None, username="desk-c", role="spa-staff", spa=gate_world.spa)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    intake = IntakeFactory(
        spa=gate_world.spa,
        conditions=[Condition.objects.get(code="M51.16")],
        screening={"ces-bladder-bowel": False, "recent-trauma": False},
    )
    body = {
        "spa": str(gate_world.spa.pk),
        "therapist": str(gate_world.ana.pk),
        "intake": str(intake.pk),
        "start": gate_world.start.isoformat(),
        "duration_minutes": 60,
        "focus_region": "lumbar",
        "focus_minutes": 20,
    }
    return lambda: client.post("/api/v1/eligibility/check/", body, format="json")


def test_a_check_sees_a_tightened_condition_at_once(gate_world, desk):
    assert desk().json()["allowed"] is True  # the catalog is now copied in this process
    ProtocolFactory(slug="nerve-glide", name="Nerve glide", region=BodyRegion.LUMBAR)
    condition_update(
        condition=Condition.objects.get(code="M51.16"),
        actor=None,
        requirements=[["low-back-radiculopathy"], ["nerve-glide"]],
    )
    body = desk().json()
    assert body["allowed"] is False
    assert [r["code"] for r in body["reasons"]] == ["PROTOCOL_NOT_CERTIFIED"]
    assert body["reasons"][0]["protocols"] == ["nerve-glide"]


def test_the_first_check_after_a_catalog_change_reads_the_catalog_once(gate_world, desk):
    counts = []
    for _ in range(2):
        ScreeningQuestionFactory(code=f"q-{len(counts)}")  # a catalog change
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                assert desk().status_code == 200
            counts.append(len(queries.captured_queries))
    assert counts == [3, 2, 3, 2]  # authentication, the check (+ the catalog when it changed)


def test_without_a_version_row_the_catalog_is_read_every_time(gate_world, desk):
    CatalogVersion.objects.all().delete()
    selectors._catalog_copy = None
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert desk().json()["allowed"] is True
        assert len(queries.captured_queries) == 3
