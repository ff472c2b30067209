"""``manage.py load_catalog``: the shipped example catalog, added where missing, never
overwriting the clinical lead's edits."""

from io import StringIO

import pytest
from django.core.management import call_command

from core.models import AuditEvent
from core.tests.factories import UserFactory
from protocols import catalog_data
from protocols.models import Condition, Module, OutcomeSign, Protocol, RequirementGroup, ScreeningQuestion
from protocols.selectors import condition_get, condition_requirements, protocol_get, screening_question_list
from protocols.services import condition_update, protocol_update

pytestmark = pytest.mark.django_db

SHIPPED = (
    len(catalog_data.PROTOCOLS)
    + len(catalog_data.CONDITIONS)
    + len(catalog_data.SCREENING_QUESTIONS)
    + len(catalog_data.OUTCOME_SIGNS)
)


def load() -> str:
    out = StringIO()
    call_command("load_catalog", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Protocol,
            Module,
            Condition,
            RequirementGroup,
            ScreeningQuestion,
            OutcomeSign,
            AuditEvent,
        )
    }


def test_load_catalog_creates_the_shipped_catalog_through_the_audited_services():
    output = load()

    assert Protocol.objects.count() == len(catalog_data.PROTOCOLS)
    assert Module.objects.count() == 3 * len(catalog_data.PROTOCOLS)
    assert Condition.objects.count() == len(catalog_data.CONDITIONS)
    assert ScreeningQuestion.objects.count() == len(catalog_data.SCREENING_QUESTIONS)
    assert OutcomeSign.objects.count() == len(catalog_data.OUTCOME_SIGNS)
    # one audit event per created row, by the system (no actor)
    assert AuditEvent.objects.count() == SHIPPED
    assert not AuditEvent.objects.filter(actor__isnull=False).exists()
    assert f"created {SHIPPED}, unchanged 0, differs 0: none" in output
    assert "clinical lead to review" in output


def test_load_catalog_run_twice_changes_nothing():
    load()
    before = counts()

    output = load()

    assert counts() == before
    assert f"created 0, unchanged {SHIPPED}, differs 0: none" in output


def test_clinical_lead_edit_survives_load_catalog_and_is_listed_as_differing():
    load()
    lead = UserFactory(username="clinical-lead")
    protocol_update(
        protocol=Protocol.objects.get(slug="low-back-radiculopathy"),
        actor=lead,
        max_focus_minutes=20,
        reason="Local review: shorter lumbar dose",
    )
    before = counts()

    output = load()

    assert protocol_get(slug="low-back-radiculopathy").max_focus_minutes == 20
    assert counts() == before
    assert "differs 1: protocol low-back-radiculopathy" in output
    assert "max_focus_minutes (here 20, shipped 30)" in output
    assert f"created 0, unchanged {SHIPPED - 1}" in output


def test_edited_requirements_survive_load_catalog_and_are_listed_as_differing():
    load()
    condition_update(
        condition=Condition.objects.get(code="M54.50"), actor=None, requirements=[["low-back-radiculopathy"]]
    )

    output = load()

    assert condition_requirements(condition_get(code="M54.50")) == [["low-back-radiculopathy"]]
    assert "condition M54.50: requirements" in output


def test_load_catalog_creates_only_what_is_missing():
    load()
    ScreeningQuestion.objects.filter(code="ces-saddle-numbness").delete()
    events = AuditEvent.objects.count()

    output = load()

    assert ScreeningQuestion.objects.filter(code="ces-saddle-numbness").exists()
    assert AuditEvent.objects.count() == events + 1
    assert "created: question ces-saddle-numbness" in output
    assert f"created 1, unchanged {SHIPPED - 1}" in output


# --- the shipped content -----------------------------------------------------------------


def test_every_shipped_protocol_condition_and_question_names_a_source():
    load()

    for model in (Protocol, Condition, ScreeningQuestion):
        for row in model.objects.all():
            assert row.source.strip(), f"{model.__name__} {row} has no source"
    for entry in [*catalog_data.PROTOCOLS, *catalog_data.CONDITIONS, *catalog_data.SCREENING_QUESTIONS]:
        assert entry["source"].strip()


def test_shipped_catalog_is_labelled_an_example_for_the_clinical_lead():
    assert "clinical lead" in catalog_data.__doc__.lower()
    for entry in [*catalog_data.PROTOCOLS, *catalog_data.CONDITIONS, *catalog_data.SCREENING_QUESTIONS]:
        assert "clinical lead" in entry["source"]


def test_m51_16_requires_the_low_back_with_radiculopathy_protocol():
    load()

    condition = condition_get(code="M51.16")
    assert condition.code_system == "ICD-10-CM FY2026"
    assert condition_requirements(condition) == [["low-back-radiculopathy"]]
    assert protocol_get(slug="low-back-radiculopathy").name == "Low back with radiculopathy"


def test_low_back_with_radiculopathy_limits_focused_lumbar_work_well_short_of_an_hour():
    load()

    protocol = protocol_get(slug="low-back-radiculopathy")
    assert protocol.region == "lumbar"
    assert protocol.max_focus_minutes == 30
    assert {m.kind for m in protocol.modules.all()} == {"fundamentals", "critical-details", "harm-avoidance"}


def test_shipped_conditions_are_coded_in_icd10cm_fy2026_except_the_local_wellness_code():
    load()

    systems = dict(Condition.objects.values_list("code", "code_system"))
    wellness = systems.pop("WELLNESS")
    assert wellness == ""
    assert set(systems.values()) == {"ICD-10-CM FY2026"}
    assert {"M51.16", "M51.17", "M54.16", "M54.50", "M51.26", "M54.12", "F07.81", "G44.209"} <= set(systems)
    assert condition_requirements(condition_get(code="WELLNESS")) == []
    assert condition_get(code="WELLNESS").region == "whole-body"


def test_shipped_protocols_cover_the_story_and_the_other_examples():
    load()

    regions = dict(Protocol.objects.values_list("slug", "region"))
    assert regions == {
        "low-back-radiculopathy": "lumbar",
        "low-back-no-radiculopathy": "lumbar",
        "neck-radiculopathy": "cervical",
        "post-concussion": "head",
        "tension-headache": "head",
    }


def test_cauda_equina_red_flags_refer_to_emergency_care_at_low_back_intakes():
    load()

    lumbar = {q.code: q.action for q in screening_question_list(regions=["lumbar"])}
    for code in ("ces-bladder-bowel", "ces-saddle-numbness", "ces-leg-weakness", "ces-bilateral-sciatica"):
        assert lumbar[code] == "refer-emergency"
    for code in ("recent-trauma", "fever-back-pain", "cancer-history-back-pain", "calf-swelling-redness"):
        assert lumbar[code] == "refer-physician"


def test_whole_body_intakes_are_asked_the_cauda_equina_questions():
    load()

    codes = {q.code for q in screening_question_list(regions=["whole-body"])}
    assert "ces-bladder-bowel" in codes


def test_the_signs_asked_after_a_session_are_shipped_with_severity_instruction_and_source():
    load()
    signs = {sign.code: sign for sign in OutcomeSign.objects.all()}
    assert list(signs) == [
        "dizziness",
        "pain-worse",
        "muscle-spasm",
        "new-numbness-tingling",
        "new-limb-weakness",
        "bladder-bowel-change",
        "saddle-numbness",
    ]
    # the cauda equina signs are serious, with the emergency referral in plain words
    for code in ("new-limb-weakness", "bladder-bowel-change", "saddle-numbness"):
        assert signs[code].severity == "serious"
        assert signs[code].instruction.startswith("Call the emergency number now")
        assert "BMJ Best Practice, Cauda equina syndrome" in signs[code].source
    assert {signs[c].severity for c in ("dizziness", "pain-worse", "muscle-spasm")} == {"mild"}
    assert signs["new-numbness-tingling"].severity == "moderate"
    assert all(sign.source and sign.instruction for sign in signs.values())
