"""The catalog's rules, held twice: the services refuse bad input with a clear message, and
the database refuses what slips past them (raw SQL)."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from core.errors import DomainError
from protocols.models import Module, Protocol
from protocols.services import condition_create, protocol_create, screening_question_create
from protocols.tests.factories import ProtocolFactory, module_specs, protocol_kwargs

THREE = "A protocol needs exactly three modules, one of each kind"


def without(kind):
    return [m for m in module_specs("x") if m["kind"] != kind]


def insert_protocol(cursor, slug):
    pid = uuid.uuid4()
    cursor.execute(
        "INSERT INTO protocols_protocol (id, slug, name, region, max_focus_minutes, validity_months, "
        "min_instructor_years, min_instructor_cases, source, version) "
        "VALUES (%s, %s, 'Raw', 'lumbar', 30, 24, 5, 200, 'Test source', '1')",
        [pid, slug],
    )
    return pid


def insert_module(cursor, protocol_id, kind):
    cursor.execute(
        "INSERT INTO protocols_module (id, protocol_id, kind, title, min_hours) "
        "VALUES (%s, %s, %s, 'Raw', 8)",
        [uuid.uuid4(), protocol_id, kind],
    )


def insert_protocol_with_modules(slug, kinds):
    """Raw inserts in one transaction (a savepoint inside a test's transaction)."""
    with transaction.atomic(), connection.cursor() as cursor:
        pid = insert_protocol(cursor, slug)
        for kind in kinds:
            insert_module(cursor, pid, kind)


def execute_checking_constraints_now(sql, params=()):
    """Run raw SQL, then check the deferred constraints at once, as a commit would."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# --- three modules -----------------------------------------------------------------------


@pytest.mark.django_db
def test_protocol_without_harm_avoidance_module_is_refused():
    with pytest.raises(DomainError) as exc:
        protocol_create(actor=None, **protocol_kwargs(modules=without("harm-avoidance")))

    [message] = exc.value.errors["modules"]
    assert message.startswith(THREE)
    assert "(missing: harm-avoidance)" in message
    assert not Protocol.objects.exists()


@pytest.mark.django_db
def test_protocol_with_two_fundamentals_modules_is_refused():
    modules = module_specs("x")
    modules[2] = {**modules[0], "title": "Fundamentals again"}

    with pytest.raises(DomainError) as exc:
        protocol_create(actor=None, **protocol_kwargs(modules=modules))

    assert exc.value.errors["modules.2.kind"] == [
        "A second 'fundamentals' module: a protocol has one module of each kind."
    ]
    assert "(missing: harm-avoidance)" in exc.value.errors["modules"][0]


@pytest.mark.django_db
def test_protocol_with_four_modules_is_refused():
    modules = [*module_specs("x"), {"kind": "aftercare", "title": "Aftercare", "min_hours": 2}]

    with pytest.raises(DomainError) as exc:
        protocol_create(actor=None, **protocol_kwargs(modules=modules))

    assert "Unknown module kind 'aftercare'" in exc.value.errors["modules.3.kind"][0]
    assert exc.value.errors["modules"] == [
        f"{THREE}: fundamentals, critical-details and harm-avoidance (given 4)."
    ]


@pytest.mark.django_db
def test_protocol_with_no_modules_is_refused_naming_all_three_kinds():
    with pytest.raises(DomainError) as exc:
        protocol_create(actor=None, **protocol_kwargs(modules=[]))

    assert "(missing: fundamentals, critical-details, harm-avoidance)" in exc.value.errors["modules"][0]


@pytest.mark.django_db(transaction=True)
def test_protocol_without_harm_avoidance_module_is_refused_by_the_database_at_commit():
    # a real commit (transactional test): the deferred trigger fires when the block commits
    with pytest.raises(IntegrityError, match="exactly three modules"):
        insert_protocol_with_modules("raw-two-modules", ["fundamentals", "critical-details"])

    assert not Protocol.objects.filter(slug="raw-two-modules").exists()


@pytest.mark.django_db(transaction=True)
def test_protocol_with_its_three_modules_is_accepted_by_the_database_at_commit():
    insert_protocol_with_modules("raw-three-modules", ["fundamentals", "critical-details", "harm-avoidance"])

    assert Module.objects.filter(protocol__slug="raw-three-modules").count() == 3


@pytest.mark.django_db
def test_deleting_the_harm_avoidance_module_is_refused_by_the_database():
    protocol = ProtocolFactory(slug="low-back-radiculopathy")

    with pytest.raises(IntegrityError, match="exactly three modules"):
        execute_checking_constraints_now(
            "DELETE FROM protocols_module WHERE protocol_id = %s AND kind = 'harm-avoidance'", [protocol.pk]
        )

    assert Module.objects.filter(protocol=protocol).count() == 3


@pytest.mark.django_db
def test_a_second_module_of_one_kind_is_refused_by_the_database():
    protocol = ProtocolFactory(slug="low-back-radiculopathy")

    with pytest.raises(IntegrityError, match="module_one_per_kind"), transaction.atomic():
        Module.objects.create(protocol=protocol, kind="fundamentals", title="Again", min_hours=8)


@pytest.mark.django_db
def test_database_refuses_a_focus_limit_of_zero():
    protocol = ProtocolFactory(slug="low-back-radiculopathy")

    with pytest.raises(IntegrityError, match="protocol_focus_minutes_positive"):
        execute_checking_constraints_now(
            "UPDATE protocols_protocol SET max_focus_minutes = 0 WHERE id = %s", [protocol.pk]
        )


# --- requirement groups ------------------------------------------------------------------


@pytest.mark.django_db
def test_requirement_group_naming_an_unknown_protocol_is_refused():
    with pytest.raises(DomainError) as exc:
        condition_create(
            actor=None,
            code="M51.16",
            code_system="ICD-10-CM FY2026",
            name="Intervertebral disc disorders with radiculopathy, lumbar region",
            region="lumbar",
            requirements=[["low-back-radiculopathy"]],
            source="Test source",
        )

    assert exc.value.errors == {"requirements.0": ["Unknown protocol 'low-back-radiculopathy'."]}
    assert "Unknown protocol 'low-back-radiculopathy'" in str(exc.value)


# --- duplicate codes ---------------------------------------------------------------------


@pytest.mark.django_db
def test_duplicate_protocol_slug_is_refused():
    protocol_create(actor=None, **protocol_kwargs("low-back-radiculopathy"))

    with pytest.raises(DomainError) as exc:
        protocol_create(actor=None, **protocol_kwargs("low-back-radiculopathy"))

    assert exc.value.errors == {"slug": ["A protocol with slug 'low-back-radiculopathy' already exists."]}
    assert Protocol.objects.count() == 1


@pytest.mark.django_db
def test_duplicate_condition_code_is_refused():
    kwargs = {
        "code_system": "ICD-10-CM FY2026",
        "name": "Postconcussional syndrome",
        "region": "head",
        "requirements": [],
        "source": "Test source",
    }
    condition_create(actor=None, code="F07.81", **kwargs)

    with pytest.raises(DomainError) as exc:
        condition_create(actor=None, code="f07.81", **kwargs)

    assert exc.value.errors == {"code": ["A condition with code 'F07.81' already exists."]}


@pytest.mark.django_db
def test_duplicate_screening_question_code_is_refused():
    kwargs = {"text": "Recent trauma?", "action": "refer-physician", "regions": [], "source": "NICE CKS"}
    screening_question_create(actor=None, code="recent-trauma", **kwargs)

    with pytest.raises(DomainError) as exc:
        screening_question_create(actor=None, code="recent-trauma", **kwargs)

    assert exc.value.errors == {"code": ["A screening question with code 'recent-trauma' already exists."]}


@pytest.mark.django_db
def test_duplicate_protocol_slug_is_refused_by_the_database():
    ProtocolFactory(slug="low-back-radiculopathy")

    with pytest.raises(IntegrityError, match="slug"), transaction.atomic(), connection.cursor() as cursor:
        insert_protocol(cursor, "low-back-radiculopathy")
