"""Tenants are isolated (invariant 6), checked route by route from the URL configuration.

Every ``/api/v1/`` and ``/fhir/`` route and method the resolver knows is a case, called by every role (bound
to the A side of ``tenants``) on the A side's object and on the B side's (another spa, school
and therapist). A route without an entry in ``ROUTES`` fails: adding one means saying here who
may call it. For every call by someone other than a registry admin:

- nothing of the B side changes (its rows and counts are compared before and after);
- no answer carries a B-side id (therapist, spa, intake, booking, decision, certification,
  licence, employment, webhook, import) or client reference: 0 foreign objects, 0 foreign
  rows in lists;
- the B side's object answers 404 on its own URL, and a body naming it answers 400, unless the
  role may not call the route at all (401/403 for both sides);
- where ``own`` gives them, the statuses of the roles table.

Each call runs in a savepoint that is rolled back, so every role meets the same world.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.views import APIView

from credentials.models import Certification, License
from registry.choices import Role
from registry.models import (
    AdverseEvent,
    Booking,
    Decision,
    Employment,
    ImportJob,
    Intake,
    SessionOutcome,
    WebhookSubscription,
)
from registry.services.imports import CERTIFICATION_COLUMNS
from tests.api.helpers import NOT_YET_ON_THE_PATTERN

ANON, THER, SPA, SCHOOL, ADMIN = (
    "anonymous",
    Role.THERAPIST,
    Role.SPA_STAFF,
    Role.SCHOOL_STAFF,
    Role.REGISTRY_ADMIN,
)
ROLES = (ANON, THER, SPA, SCHOOL, ADMIN)
REFUSALS = {401, 403, 405}

Build = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Route:
    """How to call one route and method: ``url(t, side)``; ``body(t, side)`` naming that side's
    objects; ``own``: the status per role (anonymous, therapist, spa staff, school staff,
    admin) on the A side (``None``: not pinned here); ``public``: no tenant owns the object."""

    url: Build
    body: Build | None = None
    own: tuple[int | None, ...] = (None,) * 5
    public: bool = False
    fmt: str = "json"


def _v1(path: str) -> Build:
    return lambda t, side: f"/api/v1/{path}"


def _obj(path: str, family: str, attr: str = "pk") -> Build:
    """``path`` with ``{}`` replaced by the side's object (``<family>_<side>``)."""

    def build(t, side):
        return f"/api/v1/{path.format(getattr(getattr(t, f'{family}_{side}'), attr))}"

    build.names_object = True  # the B side's object on its own URL: 404
    return build


def _fhir(path: str, family: str | None = None, *, query: bool = False) -> Build:
    """A FHIR path; ``{}`` is the side's object (``<family>_<side>``): on its own URL (a read:
    the B side's is not found), or in the query (a search: the B side's matches nothing)."""

    def build(t, side):
        value = getattr(t, f"{family}_{side}").pk if family else ""
        return f"/fhir/{path.format(value)}"

    build.names_object = family is not None and not query
    return build


def _same(path: str, attr_path: str) -> Build:
    """A public object, the same for both sides."""

    def build(t, side):
        value = t
        for part in attr_path.split("."):
            value = getattr(value, part)
        return f"/api/v1/{path.format(value)}"

    return build


def _side(t, name: str, side: str) -> str:
    return str(getattr(t, f"{name}_{side}").pk)


def _slot(t, side: str) -> dict:
    return {
        "spa": _side(t, "spa", side),
        "intake": _side(t, "intake", side),
        "therapist": _side(t, "therapist", side),
        "start": (t.start + dt.timedelta(hours=3)).isoformat(),
        "duration_minutes": 60,
        "focus_region": "lumbar",
        "focus_minutes": 20,
    }


def _modules(day: str) -> list[dict]:
    return [
        {"kind": kind, "completed_on": day, "hours": "10", "assessment_passed": True}
        for kind in ("fundamentals", "critical-details", "harm-avoidance")
    ]


def _csv(t, side: str) -> dict:
    content = (",".join(CERTIFICATION_COLUMNS) + "\n").encode()
    return {
        "kind": "certifications",
        "school": _side(t, "school", side),
        "file": SimpleUploadedFile("rows.csv", content, content_type="text/csv"),
    }


EVERYONE_READS = (200, 200, 200, 200, 200)
ADMIN_WRITES = (401, 403, 403, 403, None)

ROUTES: dict[tuple[str, str], Route] = {
    # --- no object ------------------------------------------------------------------------------
    ("api-root", "get"): Route(_v1(""), own=EVERYONE_READS, public=True),
    ("me", "get"): Route(_v1("me/"), own=(401, 200, 200, 200, 200)),
    ("token-rotate", "post"): Route(_v1("tokens/rotate/"), own=(401, 200, 200, 200, 200)),
    ("token-current", "delete"): Route(_v1("tokens/current/"), own=(401, 204, 204, 204, 204)),
    ("user-list", "post"): Route(
        _v1("users/"),
        body=lambda t, s: {"username": f"new-{s}", "role": "spa-staff", "spa": _side(t, "spa", s)},
        own=(401, 403, 403, 403, 201),
    ),
    # --- the catalog: anyone reads, registry admins write ---------------------------------------
    ("protocol-list", "get"): Route(_v1("protocols/"), own=EVERYONE_READS, public=True),
    ("protocol-list", "post"): Route(_v1("protocols/"), body=lambda t, s: {}, own=ADMIN_WRITES, public=True),
    ("protocol-detail", "get"): Route(
        _same("protocols/{}/", "protocol.slug"), own=EVERYONE_READS, public=True
    ),
    ("protocol-detail", "patch"): Route(
        _same("protocols/{}/", "protocol.slug"), body=lambda t, s: {}, own=ADMIN_WRITES, public=True
    ),
    ("condition-list", "get"): Route(_v1("conditions/"), own=EVERYONE_READS, public=True),
    ("condition-list", "post"): Route(
        _v1("conditions/"), body=lambda t, s: {}, own=ADMIN_WRITES, public=True
    ),
    ("condition-detail", "get"): Route(
        _same("conditions/{}/", "condition.code"), own=EVERYONE_READS, public=True
    ),
    ("condition-detail", "patch"): Route(
        _same("conditions/{}/", "condition.code"), body=lambda t, s: {}, own=ADMIN_WRITES, public=True
    ),
    ("screening-question-list", "get"): Route(_v1("screening-questions/"), own=EVERYONE_READS, public=True),
    ("screening-question-list", "post"): Route(
        _v1("screening-questions/"), body=lambda t, s: {}, own=ADMIN_WRITES, public=True
    ),
    ("screening-question-detail", "get"): Route(
        _same("screening-questions/{}/", "question.code"), own=EVERYONE_READS, public=True
    ),
    ("outcome-sign-list", "get"): Route(_v1("outcome-signs/"), own=EVERYONE_READS, public=True),
    ("outcome-sign-detail", "get"): Route(
        _same("outcome-signs/{}/", "sign.code"), own=EVERYONE_READS, public=True
    ),
    ("screening-question-detail", "patch"): Route(
        _same("screening-questions/{}/", "question.code"), body=lambda t, s: {}, own=ADMIN_WRITES, public=True
    ),
    # --- therapists and licences ----------------------------------------------------------------
    ("therapist-list", "get"): Route(_v1("therapists/"), own=(401, 200, 200, 200, 200)),
    ("therapist-list", "post"): Route(
        _v1("therapists/"), body=lambda t, s: {"name": f"New {s}"}, own=(401, 403, 403, 403, 201)
    ),
    ("therapist-detail", "get"): Route(_obj("therapists/{}/", "therapist"), own=(401, 200, 200, 200, 200)),
    ("therapist-detail", "patch"): Route(
        _obj("therapists/{}/", "therapist"),
        body=lambda t, s: {"name": "Renamed"},
        own=(401, 403, 403, 403, 200),
    ),
    ("therapist-licenses", "get"): Route(
        _obj("therapists/{}/licenses/", "therapist"), own=(401, 200, 200, 403, 200)
    ),
    ("therapist-licenses", "post"): Route(
        _obj("therapists/{}/licenses/", "therapist"),
        body=lambda t, s: {
            "jurisdiction": "US-NV",
            "number": f"NV-{s}",
            "valid_from": "2020-01-01",
            "expires_on": "2035-12-31",
        },
        own=(401, 403, 403, 403, 201),
    ),
    ("therapist-scope", "get"): Route(
        _obj("therapists/{}/scope/", "therapist"), own=(401, 200, 200, 200, 200)
    ),
    ("license-detail", "get"): Route(_obj("licenses/{}/", "license"), own=(401, 200, 200, 403, 200)),
    ("license-detail", "patch"): Route(
        _obj("licenses/{}/", "license"),
        body=lambda t, s: {"status": "suspended", "reason": "Board order."},
        own=(401, 403, 403, 403, 200),
    ),
    # --- schools, instructors, authorisations, experience ---------------------------------------
    ("school-list", "get"): Route(_v1("schools/"), own=EVERYONE_READS, public=True),
    ("school-list", "post"): Route(_v1("schools/"), body=lambda t, s: {}, own=ADMIN_WRITES, public=True),
    ("school-detail", "get"): Route(_obj("schools/{}/", "school"), own=EVERYONE_READS, public=True),
    ("school-authorizations", "get"): Route(
        _obj("schools/{}/authorizations/", "school"), own=EVERYONE_READS, public=True
    ),
    ("school-authorizations", "post"): Route(
        _obj("schools/{}/authorizations/", "school"),
        body=lambda t, s: {"protocol": t.protocol.slug},
        own=ADMIN_WRITES,
        public=True,
    ),
    ("authorization-withdraw", "post"): Route(
        _same("authorizations/{}/withdraw/", "authorization_a.pk"),
        body=lambda t, s: {"reason": "Audit."},
        own=(401, 403, 403, 403, 200),
        public=True,
    ),
    ("school-demand", "get"): Route(_obj("schools/{}/demand/", "school"), own=(401, 403, 403, 200, 200)),
    ("instructor-list", "get"): Route(_v1("instructors/"), own=EVERYONE_READS, public=True),
    ("instructor-list", "post"): Route(
        _v1("instructors/"),
        body=lambda t, s: {"name": f"New instructor {s}", "schools": [_side(t, "school", s)]},
        own=(401, 403, 403, 201, 201),
    ),
    ("instructor-detail", "get"): Route(
        _obj("instructors/{}/", "instructor"), own=EVERYONE_READS, public=True
    ),
    ("instructor-clinical-experience", "get"): Route(
        _obj("instructors/{}/clinical-experience/", "instructor"), own=EVERYONE_READS, public=True
    ),
    ("instructor-clinical-experience", "post"): Route(
        _obj("instructors/{}/clinical-experience/", "instructor"),
        body=lambda t, s: {"protocol": t.protocol.slug, "years": 10, "cases": 500, "evidence": "Records."},
        own=ADMIN_WRITES,
        public=True,
    ),
    ("clinical-experience-withdraw", "post"): Route(
        _same("clinical-experience/{}/withdraw/", "experience_a.pk"),
        body=lambda t, s: {"reason": "Audit."},
        own=(401, 403, 403, 403, 200),
        public=True,
    ),
    # --- certifications and verification --------------------------------------------------------
    ("certification-list", "get"): Route(_v1("certifications/"), own=(401, 200, 200, 200, 200)),
    ("certification-list", "post"): Route(
        _v1("certifications/"),
        body=lambda t, s: {
            "therapist": _side(t, "therapist", s),
            "protocol": t.protocol.slug,
            "school": _side(t, "school", s),
            "instructor": _side(t, "instructor", s),
            "taught_on": "2024-01-10",
            "modules": _modules("2024-01-10"),
        },
        own=(401, 403, 403, None, None),
    ),
    ("certification-detail", "get"): Route(
        _obj("certifications/{}/", "certification"), own=(401, 200, 200, 200, 200)
    ),
    ("certification-revoke", "post"): Route(
        _obj("certifications/{}/revoke/", "certification"),
        body=lambda t, s: {"reason": "Falsified assessment."},
        own=(401, 403, 403, 200, 200),
    ),
    ("certification-review", "post"): Route(
        _obj("certifications/{}/review/", "certification"),
        body=lambda t, s: {"decision": "keep", "reason": "Checked."},
        own=(401, 403, 403, 403, 409),  # not flagged for review
    ),
    ("certification-scope-attest", "post"): Route(
        _obj("certifications/{}/scope-attest/", "certification"),
        body=lambda t, s: {"reason": "Proctored at the hospital."},
        own=(401, 403, 403, 403, 409),  # the protocol asks for no supervised sessions
    ),
    ("certification-credential", "get"): Route(
        _obj("certifications/{}/credential/", "certification"), own=(401, None, None, None, None)
    ),
    ("verify-detail", "get"): Route(
        _obj("verify/{}/", "certification", "serial"), own=EVERYONE_READS, public=True
    ),
    ("verify-credential", "post"): Route(
        _v1("verify/"), body=lambda t, s: {"credential": "x.y.z"}, public=True
    ),
    ("status-list", "get"): Route(_same("status-lists/{}/", "certification_a.status_list_id"), public=True),
    # --- spas and employments -------------------------------------------------------------------
    ("spa-list", "get"): Route(_v1("spas/"), own=(401, 200, 200, 403, 200)),
    ("spa-list", "post"): Route(
        _v1("spas/"),
        body=lambda t, s: {"name": f"New spa {s}", "jurisdiction": "US-CA", "timezone": "UTC"},
        own=(401, 403, 403, 403, 201),
    ),
    ("spa-detail", "get"): Route(_obj("spas/{}/", "spa"), own=(401, 200, 200, 403, 200)),
    ("spa-detail", "patch"): Route(
        _obj("spas/{}/", "spa"), body=lambda t, s: {"name": f"Renamed spa {s}"}, own=(401, 403, 403, 403, 200)
    ),
    ("spa-coverage", "get"): Route(_obj("spas/{}/coverage/", "spa"), own=(401, 403, 200, 403, 200)),
    ("employment-list", "get"): Route(_v1("employments/"), own=(401, 200, 200, 403, 200)),
    ("employment-list", "post"): Route(  # hiring the other side's therapist: allowed by id
        _v1("employments/"),
        body=lambda t, s: {
            "spa": _side(t, "spa", s),
            "therapist": _side(t, "therapist", "b" if s == "a" else "a"),
        },
        own=(401, 403, 201, 403, 201),
    ),
    ("employment-detail", "get"): Route(_obj("employments/{}/", "employment"), own=(401, 200, 200, 403, 200)),
    ("employment-detail", "delete"): Route(
        _obj("employments/{}/", "employment"), own=(401, 403, 204, 403, 204)
    ),
    ("employment-end", "post"): Route(
        _obj("employments/{}/end/", "employment"), own=(401, 403, 200, 403, 200)
    ),
    # --- intakes, eligibility, bookings, decisions ----------------------------------------------
    ("intake-list", "get"): Route(_v1("intakes/"), own=(401, 200, 200, 403, 403)),
    ("intake-list", "post"): Route(
        _v1("intakes/"),
        body=lambda t, s: {
            "spa": _side(t, "spa", s),
            "client_ref": "NEW-CLIENT",
            "conditions": [t.condition.code],
            "screening": {t.question.code: False},
            "pain_score": 2,
        },
        own=(401, 403, 201, 403, 403),
    ),
    ("intake-detail", "get"): Route(_obj("intakes/{}/", "intake"), own=(401, 200, 200, 403, 403)),
    ("eligibility-check", "post"): Route(
        _v1("eligibility/check/"), body=_slot, own=(401, 403, 200, 403, 403)
    ),
    ("eligibility-search", "post"): Route(
        _v1("eligibility/search/"),
        body=lambda t, s: {k: v for k, v in _slot(t, s).items() if k != "therapist"},
        own=(401, 403, 200, 403, 403),
    ),
    ("booking-list", "get"): Route(_v1("bookings/"), own=(401, 200, 200, 403, 403)),
    ("booking-list", "post"): Route(_v1("bookings/"), body=_slot, own=(401, 403, 201, 403, 403)),
    ("booking-detail", "get"): Route(_obj("bookings/{}/", "booking"), own=(401, 200, 200, 403, 403)),
    ("booking-cancel", "post"): Route(_obj("bookings/{}/cancel/", "booking"), own=(401, 403, 200, 403, 403)),
    ("booking-complete", "post"): Route(  # tomorrow's session has not started: a conflict
        _obj("bookings/{}/complete/", "booking"), own=(401, 403, 409, 403, 403)
    ),
    ("booking-reassign", "post"): Route(
        _obj("bookings/{}/reassign/", "booking"),
        body=lambda t, s: {"therapist": _side(t, "therapist", s)},
        own=(401, 403, 200, 403, 403),
    ),
    ("booking-decisions", "get"): Route(
        _obj("bookings/{}/decisions/", "booking"), own=(401, 403, 200, 403, 200)
    ),
    ("decision-list", "get"): Route(_v1("decisions/"), own=(401, 403, 200, 403, 403)),
    # --- after the session (tomorrow's booking is not completed: outcomes and events are conflicts)
    ("booking-outcome", "get"): Route(  # none recorded yet: 404 on both sides
        _obj("bookings/{}/outcome/", "booking"), own=(401, 404, 404, 403, 403)
    ),
    ("booking-outcome", "post"): Route(
        _obj("bookings/{}/outcome/", "booking"),
        body=lambda t, s: {"pain_after": 4, "signs": {t.sign.code: False}},
        own=(401, 409, 409, 403, 403),
    ),
    ("booking-adverse-events", "get"): Route(
        _obj("bookings/{}/adverse-events/", "booking"), own=(401, 200, 200, 403, 403)
    ),
    ("booking-adverse-events", "post"): Route(
        _obj("bookings/{}/adverse-events/", "booking"),
        body=lambda t, s: {"signs": [t.sign.code], "narrative": "Phoned in."},
        own=(401, 409, 409, 403, 409),
    ),
    ("booking-incident", "get"): Route(
        _obj("bookings/{}/incident/", "booking"), own=(401, 403, 200, 403, 200)
    ),
    ("safety-record-list", "get"): Route(_v1("safety-records/"), own=(401, 200, 200, 200, 200)),
    # --- webhooks and imports -------------------------------------------------------------------
    ("webhook-list", "get"): Route(_v1("webhooks/"), own=(401, 403, 200, 200, 200)),
    ("webhook-list", "post"): Route(
        _v1("webhooks/"),
        body=lambda t, s: {
            "url": "https://new.example.org/",
            "events": ["license.expiring"],
            "spa": _side(t, "spa", s),
        },
        own=(401, 403, 201, 400, 201),  # school staff cannot name a spa
    ),
    ("webhook-detail", "get"): Route(_obj("webhooks/{}/", "webhook"), own=(401, 403, 200, 404, 200)),
    ("webhook-detail", "patch"): Route(
        _obj("webhooks/{}/", "webhook"), body=lambda t, s: {"active": False}, own=(401, 403, 200, 404, 200)
    ),
    ("webhook-detail", "delete"): Route(_obj("webhooks/{}/", "webhook"), own=(401, 403, 204, 404, 204)),
    ("import-list", "get"): Route(_v1("imports/"), own=(401, 403, 403, 200, 200)),
    ("import-list", "post"): Route(
        _v1("imports/"), body=_csv, own=(401, 403, 403, 202, 202), fmt="multipart"
    ),
    ("import-detail", "get"): Route(_obj("imports/{}/", "import"), own=(401, 403, 403, 200, 200)),
    # --- FHIR R5, read-only: the same roles and scopes; errors are OperationOutcomes ----------------
    ("fhir-metadata", "get"): Route(_fhir("metadata"), own=EVERYONE_READS, public=True),
    ("fhir-practitioner-search", "get"): Route(_fhir("Practitioner"), own=(401, 200, 200, 200, 200)),
    ("fhir-practitioner-read", "get"): Route(
        _fhir("Practitioner/{}", "therapist"), own=(401, 200, 200, 200, 200)
    ),
    ("fhir-practitionerrole-search", "get"): Route(
        _fhir("PractitionerRole?practitioner=Practitioner/{}", "therapist", query=True),
        own=(401, 200, 200, 403, 200),
    ),
    ("fhir-practitionerrole-read", "get"): Route(
        _fhir("PractitionerRole/{}", "employment"), own=(401, 200, 200, 403, 200)
    ),
    ("fhir-organization-search", "get"): Route(_fhir("Organization"), own=(401, 200, 200, 200, 200)),
    ("fhir-organization-read", "get"): Route(  # a spa (schools are public: tests/api/test_fhir.py)
        _fhir("Organization/{}", "spa"), own=(401, 200, 200, 404, 200)
    ),
}


# --- the routes the URL configuration has ------------------------------------------------------


def _api_views() -> dict[tuple[str, str], type]:
    """``(url name, method)`` → view class, for every ``/api/v1/`` and ``/fhir/`` route."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.replace("^", "").startswith(("api/v1/", "fhir/")):
                yield pattern

    found = {}
    for pattern in walk(get_resolver().url_patterns):
        cls = getattr(pattern.callback, "cls", None)
        if cls is None or not issubclass(cls, APIView):
            continue
        actions = getattr(pattern.callback, "actions", None)
        methods = (
            set(actions)
            if actions
            else {m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}
        )
        for method in methods - {"head", "options"}:
            found[(pattern.name, method)] = cls
    return found


API_VIEWS = _api_views()
API_ROUTES = sorted(API_VIEWS)


def test_the_matrix_sees_every_part_of_the_api():
    names = {name for name, _ in API_ROUTES}
    assert {"booking-list", "intake-detail", "therapist-detail", "eligibility-check", "import-list"} <= names
    assert {"fhir-metadata", "fhir-practitioner-read", "fhir-practitionerrole-search"} <= names


def test_every_route_has_an_entry():
    missing = [route for route in API_ROUTES if route not in ROUTES]
    assert missing == [], (
        f"Add these routes to ROUTES in {__name__} (who may call them, on which object): {missing}"
    )


# --- the B side: what must not change, what must not be shown ---------------------------------------


def _foreign_state(t) -> dict:
    state = {}
    for name in (
        "spa_b",
        "school_b",
        "therapist_b",
        "instructor_b",
        "certification_b",
        "license_b",
        "employment_b",
        "intake_b",
        "booking_b",
        "webhook_b",
        "school_webhook_b",
        "import_b",
    ):
        obj = getattr(t, name)
        state[name] = list(type(obj).objects.filter(pk=obj.pk).values())
    state["counts"] = [
        Booking.objects.filter(Q(spa=t.spa_b) | Q(therapist=t.therapist_b)).count(),
        Decision.objects.filter(Q(spa=t.spa_b) | Q(therapist=t.therapist_b)).count(),
        Employment.objects.filter(spa=t.spa_b).count(),  # a spa may hire any therapist by id
        Intake.objects.filter(spa=t.spa_b).count(),
        WebhookSubscription.objects.filter(Q(spa=t.spa_b) | Q(school=t.school_b)).count(),
        ImportJob.objects.filter(school=t.school_b).count(),
        Certification.objects.filter(Q(school=t.school_b) | Q(therapist=t.therapist_b)).count(),
        License.objects.filter(therapist=t.therapist_b).count(),
        t.instructor_b.schools.count(),
        SessionOutcome.objects.filter(Q(booking__spa=t.spa_b) | Q(booking__therapist=t.therapist_b)).count(),
        AdverseEvent.objects.filter(Q(booking__spa=t.spa_b) | Q(therapist=t.therapist_b)).count(),
    ]
    return state


def _foreign_marks(t) -> dict[str, str]:
    marks = {
        name: str(getattr(t, name).pk)
        for name in (
            "spa_b",
            "therapist_b",
            "certification_b",
            "license_b",
            "employment_b",
            "intake_b",
            "booking_b",
            "decision_b",
            "webhook_b",
            "school_webhook_b",
            "import_b",
        )
    }
    marks["serial_b"] = t.certification_b.serial
    marks["client_ref_b"] = t.intake_b.client_ref
    return marks


def _expected(route: Route, role: str, side: str) -> int | set[int] | None:
    """The status expected: ``own`` on the A side (and for public routes and admins); on the B
    side, the same refusal if the role may not call the route at all, else 404 for the B
    object's own URL and 400 for a body naming it."""
    own = route.own[ROLES.index(role)]
    names_object = getattr(route.url, "names_object", False)
    if side == "a" or route.public or role == ADMIN or own in REFUSALS:
        return own
    if not names_object and route.body is None:
        return own  # a list or the caller's own: no side to it
    if role == ANON:
        return 401
    if own is None:
        return {400, 403, 404}
    return 404 if names_object else 400


@pytest.fixture
def callers(tenants, as_role):
    return {role: as_role(role) for role in ROLES}


@pytest.mark.parametrize(("name", "method"), API_ROUTES, ids=[f"{m} {n}" for n, m in API_ROUTES])
def test_no_role_reaches_another_tenants_objects(tenants, callers, name, method):
    route = ROUTES.get((name, method))
    assert route is not None, f"{name} {method}: no entry in ROUTES"
    t = tenants
    marks = _foreign_marks(t)
    before = _foreign_state(t)  # every call starts from it: each is rolled back
    for side in ("a", "b"):
        url = route.url(t, side)
        assert resolve(url.split("?")[0]).url_name == name, (url, name)
        for role in ROLES:
            body = route.body(t, side) if route.body else None
            watch = role != ADMIN and method != "get"
            with transaction.atomic():
                response = getattr(callers[role], method)(url, body, format=route.fmt)
                after = _foreign_state(t) if watch else before
                transaction.set_rollback(True)
            where = f"{method.upper()} {url} as {role} ({side} side)"
            assert response.status_code < 500, (where, response.content[:300])
            expected = _expected(route, role, side)
            if isinstance(expected, set):
                assert response.status_code in expected, (where, response.status_code, response.content[:300])
            elif expected is not None:
                assert response.status_code == expected, (where, response.content[:300])
            if role == ADMIN:
                continue
            assert before == after, f"{where} changed the B side"
            if 200 <= response.status_code < 300:
                text = response.content.decode(errors="replace")
                # What the caller named themselves (a hire names any therapist; a FHIR search's
                # Bundle links repeat its query).
                sent = str(body) + url
                shown = [mark for mark, value in marks.items() if value in text and value not in sent]
                assert shown == [], f"{where} showed another tenant's {shown}"


# --- anonymous reads are throttled -----------------------------------------------------------------


def _public_reads() -> list[str]:
    """GET routes anonymous callers may read, of views on the pattern (``AnonReadThrottle``)."""
    return [
        name
        for (name, method), cls in sorted(API_VIEWS.items())
        if method == "get"
        and (name, method) in ROUTES
        and ROUTES[(name, method)].own[0] == 200
        and cls.__module__ not in NOT_YET_ON_THE_PATTERN
    ]


@pytest.mark.parametrize("name", _public_reads())
def test_anonymous_reads_are_throttled(tenants, api_client, settings, name):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon-read": "2/min"},
    }
    url = ROUTES[(name, "get")].url(tenants, "a")
    assert [api_client.get(url).status_code for _ in range(2)] == [200, 200]
    response = api_client.get(url)
    assert response.status_code == 429
    if url.startswith("/fhir/"):
        assert response["Content-Type"] == "application/fhir+json"
        assert response.json()["issue"][0]["code"] == "throttled"
    else:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/throttled"
    assert int(response["Retry-After"]) >= 1
