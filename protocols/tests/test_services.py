"""Catalog services: what they save, what they refuse, what they audit, what they report as
tightened; and the catalog selectors' query counts."""

from decimal import Decimal

import pytest

from core.errors import DomainError, NotFound
from core.models import AuditEvent
from core.tests.factories import UserFactory
from protocols.models import Condition, Module, Protocol, RequirementGroup, ScreeningQuestion
from protocols.selectors import (
    condition_as_dict,
    condition_get,
    condition_list,
    condition_requirements,
    protocol_as_dict,
    protocol_get,
    protocol_list,
    requirements_by_condition,
    screening_question_get,
    screening_question_list,
)
from protocols.services import (
    condition_create,
    condition_requirements_tightened,
    condition_update,
    focus_limits_tightened,
    protocol_create,
    protocol_update,
    screening_question_create,
    screening_question_tightened,
    screening_question_update,
)
from protocols.tests.factories import module_specs, protocol_kwargs

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead():
    return UserFactory(username="clinical-lead")


def make_protocol(slug, actor=None, **overrides):
    return protocol_create(actor=actor, **protocol_kwargs(slug, **overrides))


def make_condition(code="M51.16", requirements=(), actor=None, **overrides):
    kwargs = {
        "code": code,
        "code_system": "ICD-10-CM FY2026",
        "name": f"Condition {code}",
        "region": "lumbar",
        "requirements": [list(g) for g in requirements],
        "source": "Test source",
    }
    kwargs.update(overrides)
    return condition_create(actor=actor, **kwargs)


def make_question(code="ces-bladder-bowel", actor=None, **overrides):
    kwargs = {
        "code": code,
        "text": "New bladder or bowel disturbance?",
        "action": "refer-emergency",
        "regions": ["lumbar"],
        "source": "NICE CKS Sciatica",
    }
    kwargs.update(overrides)
    return screening_question_create(actor=actor, **kwargs)


def events_for(obj):
    return list(AuditEvent.objects.filter(object_id=str(obj.pk)).order_by("at"))


# --- protocols ---------------------------------------------------------------------------


def test_protocol_create_saves_three_modules_and_its_prerequisites(lead):
    base = make_protocol("low-back-no-radiculopathy")
    make_protocol("low-back-radiculopathy", actor=lead, prerequisites=[base.slug])

    data = protocol_as_dict(protocol_get(slug="low-back-radiculopathy"))
    assert [m["kind"] for m in data["modules"]] == ["fundamentals", "critical-details", "harm-avoidance"]
    assert all(m["min_hours"] == Decimal("8") for m in data["modules"])
    assert data["prerequisites"] == ["low-back-no-radiculopathy"]
    assert data["max_focus_minutes"] == 30


def test_protocol_create_writes_one_audit_event_naming_the_actor(lead):
    protocol = make_protocol("neck-radiculopathy", actor=lead)

    [event] = events_for(protocol)
    assert event.actor == lead
    assert event.action == "protocol.create"
    assert event.object_type == "protocols.protocol"
    assert event.before is None
    assert event.after["slug"] == "neck-radiculopathy"
    assert len(event.after["modules"]) == 3


def test_protocol_create_by_the_system_is_audited_without_an_actor():
    protocol = make_protocol("tension-headache", actor=None)

    [event] = events_for(protocol)
    assert event.actor is None


def test_protocol_update_writes_one_audit_event_with_before_and_after(lead):
    protocol = make_protocol("low-back-radiculopathy")

    result = protocol_update(protocol=protocol, actor=lead, max_focus_minutes=20, reason="KNGF review")

    _create, update = events_for(protocol)
    assert update.actor == lead
    assert update.action == "protocol.update"
    assert update.before["max_focus_minutes"] == 30
    assert update.after["max_focus_minutes"] == 20
    assert update.reason == "KNGF review"
    assert result.protocol.max_focus_minutes == 20
    assert result.changed == ("max_focus_minutes",)


def test_lowering_a_protocol_focus_limit_tightens_the_rule():
    protocol = make_protocol("low-back-radiculopathy")
    condition = make_condition("M51.16", [[protocol.slug]])

    result = protocol_update(protocol=protocol, actor=None, max_focus_minutes=20)

    assert result.tightened is True
    assert result.condition_codes == (condition.code,)


def test_raising_a_protocol_focus_limit_does_not_tighten_the_rule():
    protocol = make_protocol("low-back-radiculopathy")

    assert protocol_update(protocol=protocol, actor=None, max_focus_minutes=45).tightened is False


def test_moving_a_protocol_to_another_region_tightens_the_rule():
    protocol = make_protocol("post-concussion", region="head")

    assert protocol_update(protocol=protocol, actor=None, region="cervical").tightened is True


def test_changing_protocol_training_content_does_not_tighten_a_booking_rule(lead):
    protocol = make_protocol("tension-headache")

    result = protocol_update(
        protocol=protocol, actor=lead, modules=module_specs("Tension", hours="12"), validity_months=12
    )

    assert result.tightened is False
    assert set(result.changed) == {"modules", "validity_months"}
    assert all(m.min_hours == Decimal("12") for m in Module.objects.filter(protocol=protocol))


def test_protocol_update_keeps_module_rows_and_changes_them_in_place():
    protocol = make_protocol("tension-headache")
    ids = set(Module.objects.filter(protocol=protocol).values_list("id", flat=True))

    protocol_update(protocol=protocol, actor=None, modules=module_specs("Renamed"))

    assert set(Module.objects.filter(protocol=protocol).values_list("id", flat=True)) == ids
    assert Module.objects.get(protocol=protocol, kind="fundamentals").title == "Renamed: fundamentals"


def test_protocol_update_that_changes_nothing_writes_no_audit_event():
    protocol = make_protocol("tension-headache")

    result = protocol_update(protocol=protocol, actor=None, max_focus_minutes=30, name=protocol.name)

    assert result.changed == ()
    assert result.tightened is False
    assert len(events_for(protocol)) == 1


def test_refused_protocol_update_changes_nothing_and_writes_no_audit_event(lead):
    protocol = make_protocol("tension-headache")

    with pytest.raises(DomainError) as exc:
        protocol_update(protocol=protocol, actor=lead, max_focus_minutes=0, source="  ")

    assert set(exc.value.errors) == {"max_focus_minutes", "source"}
    assert Protocol.objects.get(pk=protocol.pk).max_focus_minutes == 30
    assert len(events_for(protocol)) == 1


def test_protocol_naming_an_unknown_prerequisite_is_refused():
    with pytest.raises(DomainError) as exc:
        make_protocol("low-back-radiculopathy", prerequisites=["no-such-protocol"])

    assert exc.value.errors == {"prerequisites.0": ["Unknown protocol 'no-such-protocol'."]}
    assert not Protocol.objects.exists()


def test_protocol_cannot_be_its_own_prerequisite():
    protocol = make_protocol("low-back-radiculopathy")

    with pytest.raises(DomainError) as exc:
        protocol_update(protocol=protocol, actor=None, prerequisites=[protocol.slug])

    assert exc.value.errors["prerequisites.0"] == ["A protocol cannot be its own prerequisite."]


def test_circular_prerequisites_are_refused():
    base = make_protocol("low-back-no-radiculopathy")
    make_protocol("low-back-radiculopathy", prerequisites=[base.slug])

    with pytest.raises(DomainError) as exc:
        protocol_update(protocol=base, actor=None, prerequisites=["low-back-radiculopathy"])

    assert "circle" in exc.value.errors["prerequisites"][0]


def test_protocol_without_a_source_is_refused():
    with pytest.raises(DomainError) as exc:
        make_protocol("tension-headache", source="")

    assert exc.value.errors == {"source": ["This field is required and may not be blank."]}


def test_protocol_with_an_unknown_region_and_non_positive_numbers_is_refused_naming_every_field():
    with pytest.raises(DomainError) as exc:
        make_protocol("tension-headache", region="knee", max_focus_minutes=0, validity_months=-1)

    assert set(exc.value.errors) == {"region", "max_focus_minutes", "validity_months"}
    assert "Unknown body region 'knee'" in exc.value.errors["region"][0]
    assert "region" in str(exc.value)


def test_protocol_slug_must_be_lowercase_and_hyphenated():
    with pytest.raises(DomainError) as exc:
        make_protocol("Low Back")

    assert "not a slug" in exc.value.errors["slug"][0]


def test_module_with_zero_hours_is_refused():
    modules = module_specs("x")
    modules[1]["min_hours"] = 0

    with pytest.raises(DomainError) as exc:
        make_protocol("tension-headache", modules=modules)

    assert exc.value.errors == {"modules.1.min_hours": ["A module's minimum hours must be positive."]}


# --- conditions --------------------------------------------------------------------------


def test_condition_create_stores_requirement_groups_as_lists_of_protocol_slugs(lead):
    make_protocol("low-back-radiculopathy")
    make_protocol("low-back-no-radiculopathy")

    condition = make_condition(
        "M54.50", [["low-back-radiculopathy", "low-back-no-radiculopathy"], ["low-back-radiculopathy"]]
    )

    assert condition_requirements(condition_get(code="M54.50")) == [
        ["low-back-no-radiculopathy", "low-back-radiculopathy"],
        ["low-back-radiculopathy"],
    ]
    assert list(RequirementGroup.objects.filter(condition=condition).values_list("position", flat=True)) == [
        0,
        1,
    ]


def test_condition_without_requirements_needs_no_protocol():
    condition = make_condition("WELLNESS", [], code_system="", region="whole-body")

    assert condition_requirements(condition) == []


def test_condition_create_writes_one_audit_event_naming_the_actor(lead):
    make_protocol("low-back-radiculopathy")

    condition = make_condition("M51.16", [["low-back-radiculopathy"]], actor=lead)

    [event] = events_for(condition)
    assert event.actor == lead
    assert event.action == "condition.create"
    assert event.after["requirements"] == [["low-back-radiculopathy"]]


def test_condition_update_writes_one_audit_event_with_before_and_after(lead):
    make_protocol("low-back-radiculopathy")
    make_protocol("low-back-no-radiculopathy")
    condition = make_condition("M54.50", [["low-back-radiculopathy"]])

    condition_update(
        condition=condition,
        actor=lead,
        requirements=[["low-back-radiculopathy", "low-back-no-radiculopathy"]],
    )

    _create, update = events_for(condition)
    assert update.actor == lead
    assert update.action == "condition.update"
    assert update.before["requirements"] == [["low-back-radiculopathy"]]
    assert update.after["requirements"] == [["low-back-no-radiculopathy", "low-back-radiculopathy"]]


def test_adding_a_requirement_group_tightens_the_condition():
    make_protocol("low-back-radiculopathy")
    make_protocol("tension-headache", region="head")
    condition = make_condition("M51.16", [["low-back-radiculopathy"]])

    result = condition_update(
        condition=condition, actor=None, requirements=[["low-back-radiculopathy"], ["tension-headache"]]
    )

    assert result.tightened is True
    assert condition_requirements(result.condition) == [["low-back-radiculopathy"], ["tension-headache"]]


def test_narrowing_a_requirement_group_tightens_the_condition():
    make_protocol("low-back-radiculopathy")
    make_protocol("low-back-no-radiculopathy", max_focus_minutes=45)
    condition = make_condition("M54.50", [["low-back-radiculopathy", "low-back-no-radiculopathy"]])

    result = condition_update(condition=condition, actor=None, requirements=[["low-back-no-radiculopathy"]])

    assert result.tightened is True


def test_widening_a_requirement_group_with_an_equal_focus_limit_does_not_tighten():
    make_protocol("low-back-radiculopathy")
    make_protocol("low-back-no-radiculopathy")
    condition = make_condition("M54.50", [["low-back-radiculopathy"]])

    result = condition_update(
        condition=condition,
        actor=None,
        requirements=[["low-back-radiculopathy", "low-back-no-radiculopathy"]],
    )

    assert result.tightened is False


def test_widening_a_group_with_a_protocol_of_lower_focus_limit_tightens_the_dose():
    make_protocol("low-back-no-radiculopathy", max_focus_minutes=45)
    make_protocol("low-back-radiculopathy", max_focus_minutes=30)
    condition = make_condition("M54.50", [["low-back-no-radiculopathy"]])

    result = condition_update(
        condition=condition,
        actor=None,
        requirements=[["low-back-no-radiculopathy", "low-back-radiculopathy"]],
    )

    assert result.tightened is True


def test_moving_a_condition_to_another_region_tightens_it():
    condition = make_condition("WELLNESS", [], code_system="", region="whole-body")

    assert condition_update(condition=condition, actor=None, region="lumbar").tightened is True


def test_renaming_a_condition_does_not_tighten_it():
    condition = make_condition("M54.50", [])

    result = condition_update(condition=condition, actor=None, name="Low back pain, unspecified")

    assert result.tightened is False
    assert result.changed == ("name",)


def test_condition_requirement_group_naming_unknown_protocol_is_refused():
    with pytest.raises(DomainError) as exc:
        make_condition("M51.16", [["x"]])

    assert exc.value.errors == {"requirements.0": ["Unknown protocol 'x'."]}
    assert not Condition.objects.exists()


def test_condition_update_naming_unknown_protocol_is_refused_and_keeps_the_groups():
    make_protocol("low-back-radiculopathy")
    condition = make_condition("M51.16", [["low-back-radiculopathy"]])

    with pytest.raises(DomainError) as exc:
        condition_update(condition=condition, actor=None, requirements=[["low-back-radiculopathy"], ["nope"]])

    assert exc.value.errors == {"requirements.1": ["Unknown protocol 'nope'."]}
    assert condition_requirements(condition_get(code="M51.16")) == [["low-back-radiculopathy"]]


def test_empty_requirement_group_is_refused():
    with pytest.raises(DomainError) as exc:
        make_condition("M51.16", [[]])

    assert "can never be met" in exc.value.errors["requirements.0"][0]


def test_repeated_requirement_group_is_refused():
    make_protocol("low-back-radiculopathy")

    with pytest.raises(DomainError) as exc:
        make_condition("M51.16", [["low-back-radiculopathy"], ["low-back-radiculopathy"]])

    assert exc.value.errors == {"requirements.1": ["This group repeats group 0."]}


def test_malformed_icd10cm_code_is_refused():
    with pytest.raises(DomainError) as exc:
        make_condition("M5116")

    assert "not an ICD-10-CM code" in exc.value.errors["code"][0]


def test_condition_code_is_stored_in_capitals():
    assert make_condition("m51.16").code == "M51.16"


# --- screening questions -----------------------------------------------------------------


def test_screening_question_create_writes_one_audit_event_naming_the_actor(lead):
    question = make_question(actor=lead)

    [event] = events_for(question)
    assert event.actor == lead
    assert event.action == "screening_question.create"
    assert event.after["action"] == "refer-emergency"


def test_screening_question_update_writes_one_audit_event_with_before_and_after(lead):
    question = make_question(action="refer-physician")

    result = screening_question_update(question=question, actor=lead, action="refer-emergency")

    _create, update = events_for(question)
    assert update.actor == lead
    assert update.before["action"] == "refer-physician"
    assert update.after["action"] == "refer-emergency"
    assert result.tightened is True


def test_asking_a_question_at_more_intakes_tightens_it():
    question = make_question(regions=["lumbar"])

    assert screening_question_update(question=question, actor=None, regions=["lumbar", "pelvis"]).tightened
    assert screening_question_update(question=question, actor=None, regions=[]).tightened


def test_rewording_a_question_does_not_tighten_it():
    question = make_question()

    result = screening_question_update(question=question, actor=None, text="Any new bladder trouble?")

    assert result.tightened is False
    assert screening_question_get(code=question.code).text == "Any new bladder trouble?"


def test_screening_question_with_unknown_action_or_region_is_refused():
    with pytest.raises(DomainError) as exc:
        make_question(action="massage-gently", regions=["lumbar", "knee"])

    assert set(exc.value.errors) == {"action", "regions.1"}


def test_screening_question_code_must_be_stable_lowercase():
    with pytest.raises(DomainError) as exc:
        make_question(code="CES Bladder")

    assert "stable code" in exc.value.errors["code"][0]


def test_screening_question_without_a_position_is_asked_last():
    make_question("ces-bladder-bowel", position=10)

    assert make_question("recent-trauma", action="refer-physician").position == 11


# --- pure tightening rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "tightened"),
    [
        ([], [], False),
        ([], [["a"]], True),  # a group added
        ([["a"]], [["a"], ["b"]], True),  # another group added
        ([["a", "b"]], [["a"]], True),  # a group narrowed
        ([["a"]], [["a", "b"]], False),  # a group widened
        ([["a"], ["b"]], [["a"]], False),  # a group dropped
        ([["a"]], [], False),  # no protocol needed any more
        ([["a"], ["b"]], [["b"], ["a"]], False),  # reordered
        ([["a"]], [["b"]], True),  # replaced
        ([["a"], ["b"]], [["a", "c"], ["b", "d"]], False),
    ],
)
def test_condition_requirements_tightened(before, after, tightened):
    assert condition_requirements_tightened(before, after) is tightened


@pytest.mark.parametrize(
    ("before", "after", "tightened"),
    [
        ({"lumbar": 30}, {"lumbar": 30}, False),
        ({"lumbar": 30}, {"lumbar": 20}, True),
        ({"lumbar": 30}, {"lumbar": 45}, False),
        ({"lumbar": 30}, {}, False),
        ({}, {"head": 20}, True),
    ],
)
def test_focus_limits_tightened(before, after, tightened):
    assert focus_limits_tightened(before, after) is tightened


def test_a_question_asked_everywhere_is_not_tightened_by_adding_regions():
    before = {"action": "refer-physician", "regions": []}
    assert screening_question_tightened(before, {"action": "refer-physician", "regions": ["head"]}) is False
    assert screening_question_tightened(before, {"action": "refer-emergency", "regions": []}) is True


# --- selectors ---------------------------------------------------------------------------


def test_protocol_list_takes_three_queries_however_many_protocols(django_assert_num_queries):
    base = make_protocol("p-base")
    for i in range(4):
        make_protocol(f"p-{i}", prerequisites=[base.slug])

    with django_assert_num_queries(3):
        data = [protocol_as_dict(p) for p in protocol_list()]

    assert len(data) == 5
    assert data[0]["prerequisites"] == ["p-base"]


def test_condition_list_takes_three_queries_however_many_conditions(django_assert_num_queries):
    make_protocol("p-a")
    make_protocol("p-b")
    for i in range(4):
        make_condition(f"M51.1{i}", [["p-a", "p-b"], ["p-b"]])

    with django_assert_num_queries(3):
        data = [condition_as_dict(c) for c in condition_list()]

    assert [d["requirements"] for d in data] == [[["p-a", "p-b"], ["p-b"]]] * 4


def test_requirements_by_condition_takes_one_query(django_assert_num_queries):
    make_protocol("p-a")
    make_condition("M51.16", [["p-a"]])
    make_condition("WELLNESS", [], code_system="")

    with django_assert_num_queries(1):
        found = requirements_by_condition(codes=["M51.16", "WELLNESS", "UNKNOWN"])

    assert found == {"M51.16": [["p-a"]], "WELLNESS": [], "UNKNOWN": []}


def test_screening_questions_for_regions_include_those_asked_at_every_intake():
    make_question("ces-bladder-bowel", regions=["lumbar"], position=1)
    make_question("recent-trauma", regions=[], position=2)
    make_question("headache-thunderclap", regions=["head"], position=3)

    codes = [q.code for q in screening_question_list(regions=["lumbar", "pelvis"])]

    assert codes == ["ces-bladder-bowel", "recent-trauma"]
    assert len(screening_question_list()) == 3


def test_unknown_slug_or_code_is_not_found():
    with pytest.raises(NotFound):
        protocol_get(slug="nope")
    with pytest.raises(NotFound):
        condition_get(code="NOPE")
    with pytest.raises(NotFound):
        screening_question_get(code="nope")
    assert not ScreeningQuestion.objects.exists()
