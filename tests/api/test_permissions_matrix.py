"""The roles table of API.md, route by role → status, for the routes of API part 1; and the
guards that keep every API view on the permission and tenancy pattern.

Each caller is bound to the A side of ``world``; ``_b`` routes name the B side's objects
(another tenant: 404). Anonymous readers get 401 where the table says "—".
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from api.permissions import RolePermission, allowed_roles
from api.tenancy import READ_SCOPES, TenantScopedMixin
from registry.choices import Role
from tests.api.helpers import NOT_YET_ON_THE_PATTERN

ANON, THER, SPA, SCHOOL, ADMIN = (
    "anonymous",
    Role.THERAPIST,
    Role.SPA_STAFF,
    Role.SCHOOL_STAFF,
    Role.REGISTRY_ADMIN,
)

# (method, route template, body) → expected status for anonymous, therapist, spa, school, admin
MATRIX = [
    # catalog: anyone reads
    ("get", "/api/v1/protocols/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/protocols/{protocol}/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/conditions/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/conditions/{condition}/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/screening-questions/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/screening-questions/{question}/", None, (200, 200, 200, 200, 200)),
    # therapists: own / employed at own spa / certified by own school / all
    ("get", "/api/v1/therapists/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/v1/therapists/{therapist_a}/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/v1/therapists/{therapist_b}/", None, (401, 404, 404, 404, 200)),
    # licences: own / employed at own spa / — / all
    ("get", "/api/v1/therapists/{therapist_a}/licenses/", None, (401, 200, 200, 403, 200)),
    ("get", "/api/v1/therapists/{therapist_b}/licenses/", None, (401, 404, 404, 403, 200)),
    # schools, instructors, authorisations, experience: anyone reads
    ("get", "/api/v1/schools/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/schools/{school_b}/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/schools/{school_a}/authorizations/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/instructors/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/instructors/{instructor_b}/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/instructors/{instructor_a}/clinical-experience/", None, (200, 200, 200, 200, 200)),
    # certifications: own / of own spa's therapists / own school's / all; verify: anyone
    ("get", "/api/v1/certifications/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/v1/certifications/{certification_a}/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/v1/certifications/{certification_b}/", None, (401, 404, 404, 404, 200)),
    ("get", "/api/v1/verify/{serial_b}/", None, (200, 200, 200, 200, 200)),
    # users and tokens
    ("get", "/api/v1/me/", None, (401, 200, 200, 200, 200)),
    (
        "post",
        "/api/v1/users/",
        {"username": "{new_name}", "role": "registry-admin"},
        (401, 403, 403, 403, 201),
    ),
    ("post", "/api/v1/tokens/rotate/", None, (401, 200, 200, 200, 200)),
    ("delete", "/api/v1/tokens/current/", None, (401, 204, 204, 204, 204)),
    # catalog writes: registry admins
    ("post", "/api/v1/protocols/", "protocol", (401, 403, 403, 403, 201)),
    ("patch", "/api/v1/protocols/{protocol}/", {"name": "Renamed"}, (401, 403, 403, 403, 200)),
    ("post", "/api/v1/conditions/", "condition", (401, 403, 403, 403, 201)),
    ("patch", "/api/v1/conditions/{condition}/", {"name": "Renamed"}, (401, 403, 403, 403, 200)),
    ("post", "/api/v1/screening-questions/", "question", (401, 403, 403, 403, 201)),
    ("patch", "/api/v1/screening-questions/{question}/", {"text": "Fever?"}, (401, 403, 403, 403, 200)),
    # therapists: admins write; the scope as the therapist is read
    ("post", "/api/v1/therapists/", {"name": "Cara Cole"}, (401, 403, 403, 403, 201)),
    ("patch", "/api/v1/therapists/{therapist_a}/", {"name": "Alice A."}, (401, 403, 403, 403, 200)),
    ("patch", "/api/v1/therapists/{therapist_b}/", {"name": "Bob B."}, (401, 403, 403, 403, 200)),
    ("get", "/api/v1/therapists/{therapist_a}/scope/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/v1/therapists/{therapist_b}/scope/", None, (401, 404, 404, 404, 200)),
    # licences: admins write
    ("post", "/api/v1/therapists/{therapist_a}/licenses/", "license", (401, 403, 403, 403, 201)),
    ("get", "/api/v1/licenses/{license_a}/", None, (401, 200, 200, 403, 200)),
    ("get", "/api/v1/licenses/{license_b}/", None, (401, 404, 404, 403, 200)),
    (
        "patch",
        "/api/v1/licenses/{license_a}/",
        {"status": "suspended", "reason": "Board order"},
        (401, 403, 403, 403, 200),
    ),
    # schools, authorisations, experience: admins write; school staff add their instructors
    ("post", "/api/v1/schools/", {"name": "School C", "jurisdiction": "US-CA"}, (401, 403, 403, 403, 201)),
    (
        "post",
        "/api/v1/schools/{school_b}/authorizations/",
        {"protocol": "{protocol}"},
        (401, 403, 403, 403, 201),
    ),
    (
        "post",
        "/api/v1/authorizations/{authorization_a}/withdraw/",
        {"reason": "x"},
        (401, 403, 403, 403, 200),
    ),
    ("post", "/api/v1/instructors/", {"name": "Iris", "schools": ["{school_a}"]}, (401, 403, 403, 201, 201)),
    ("post", "/api/v1/instructors/", {"name": "Otto", "schools": ["{school_b}"]}, (401, 403, 403, 400, 201)),
    (
        "post",
        "/api/v1/instructors/{instructor_a}/clinical-experience/",
        {"protocol": "{protocol}", "years": 9, "cases": 300, "evidence": "Clinic logs"},
        (401, 403, 403, 403, 201),
    ),
    (
        "post",
        "/api/v1/clinical-experience/{experience_a}/withdraw/",
        {"reason": "x"},
        (401, 403, 403, 403, 200),
    ),
    # certifications: own school issues and revokes; admins any; only admins review and attest
    ("post", "/api/v1/certifications/", "issue_a", (401, 403, 403, 201, 201)),
    ("post", "/api/v1/certifications/", "issue_b", (401, 403, 403, 400, 422)),
    ("post", "/api/v1/certifications/{certification_a}/revoke/", {"reason": "x"}, (401, 403, 403, 200, 200)),
    ("post", "/api/v1/certifications/{certification_b}/revoke/", {"reason": "x"}, (401, 403, 403, 404, 200)),
    (
        "post",
        "/api/v1/certifications/{certification_a}/review/",
        {"decision": "keep", "reason": "x"},
        (401, 403, 403, 403, 409),  # admins may; certification A is not flagged
    ),
    (
        "post",
        "/api/v1/certifications/{certification_a}/scope-attest/",
        {"reason": "Proctored at the hospital"},
        (401, 403, 403, 403, 409),  # only admins; certification A's protocol asks for no supervision
    ),
    # API part 2 (every route, both sides: test_cross_tenant.py)
    ("get", "/api/v1/spas/", None, (401, 200, 200, 403, 200)),
    ("get", "/api/v1/spas/{spa_a}/", None, (401, 200, 200, 403, 200)),
    ("get", "/api/v1/spas/{spa_b}/", None, (401, 404, 404, 403, 200)),
    # coverage reports: the spa's staff; the school's staff (another tenant's: 404); admins
    ("get", "/api/v1/spas/{spa_a}/coverage/", None, (401, 403, 200, 403, 200)),
    ("get", "/api/v1/spas/{spa_b}/coverage/", None, (401, 403, 404, 403, 200)),
    ("get", "/api/v1/schools/{school_a}/demand/", None, (401, 403, 403, 200, 200)),
    ("get", "/api/v1/schools/{school_b}/demand/", None, (401, 403, 403, 404, 200)),
    ("get", "/api/v1/employments/", None, (401, 200, 200, 403, 200)),
    ("get", "/api/v1/intakes/", None, (401, 200, 200, 403, 403)),
    ("get", "/api/v1/bookings/", None, (401, 200, 200, 403, 403)),
    ("get", "/api/v1/decisions/", None, (401, 403, 200, 403, 403)),
    ("get", "/api/v1/webhooks/", None, (401, 403, 200, 200, 200)),
    ("post", "/api/v1/eligibility/check/", None, (401, 403, 400, 403, 403)),
    ("post", "/api/v1/eligibility/search/", None, (401, 403, 400, 403, 403)),
    # after the session: the signs (anyone), the safety record (every role, scoped), a booking's
    # outcome, adverse events and incident review (an unknown booking: 404 where the role may)
    ("get", "/api/v1/outcome-signs/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/outcome-signs/{sign}/", None, (200, 200, 200, 200, 200)),
    ("get", "/api/v1/outcome-signs/unknown-sign/", None, (404, 404, 404, 404, 404)),
    ("get", "/api/v1/safety-records/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/v1/bookings/{no_booking}/outcome/", None, (401, 404, 404, 403, 403)),
    ("post", "/api/v1/bookings/{no_booking}/outcome/", "outcome", (401, 404, 404, 403, 403)),
    ("get", "/api/v1/bookings/{no_booking}/adverse-events/", None, (401, 404, 404, 403, 403)),
    ("post", "/api/v1/bookings/{no_booking}/adverse-events/", "report", (401, 404, 404, 403, 404)),
    ("get", "/api/v1/bookings/{no_booking}/incident/", None, (401, 403, 404, 403, 404)),
    ("post", "/api/v1/bookings/{no_booking}/complete/", None, (401, 403, 404, 403, 403)),
    # routes with no handler for the method: 405 for everyone
    ("delete", "/api/v1/protocols/{protocol}/", None, (405, 405, 405, 405, 405)),
    ("post", "/api/v1/verify/{serial_b}/", None, (405, 405, 405, 405, 405)),
]
ROLES = (ANON, THER, SPA, SCHOOL, ADMIN)

CASES = [
    pytest.param(method, route, body, role, expected[i], id=f"{method} {route} as {role}")
    for method, route, body, expected in MATRIX
    for i, role in enumerate(ROLES)
]


def _values(world) -> dict[str, str]:
    return {
        "protocol": world.protocol.slug,
        "condition": world.condition.code,
        "question": world.question.code,
        "therapist_a": str(world.therapist_a.pk),
        "therapist_b": str(world.therapist_b.pk),
        "school_a": str(world.school_a.pk),
        "school_b": str(world.school_b.pk),
        "instructor_a": str(world.instructor_a.pk),
        "instructor_b": str(world.instructor_b.pk),
        "certification_a": str(world.certification_a.pk),
        "certification_b": str(world.certification_b.pk),
        "serial_b": world.certification_b.serial,
        "new_name": f"new-{uuid.uuid4().hex[:8]}",
        "spa_a": str(world.spa_a.pk),
        "spa_b": str(world.spa_b.pk),
        "license_a": str(world.license_a.pk),
        "license_b": str(world.license_b.pk),
        "authorization_a": str(world.authorization_a.pk),
        "experience_a": str(world.experience_a.pk),
        "sign": world.sign.code,
        "no_booking": "00000000-0000-0000-0000-0000000000b0",
    }


_MODULES = ("fundamentals", "critical-details", "harm-avoidance")
# Bodies too long for a table row, by name.
BODIES = {
    "protocol": {
        "slug": "neck-whiplash",
        "name": "Neck after whiplash",
        "region": "cervical",
        "max_focus_minutes": 20,
        "validity_months": 24,
        "min_instructor_years": 5,
        "min_instructor_cases": 200,
        "modules": [{"kind": kind, "title": kind, "min_hours": 8} for kind in _MODULES],
        "source": "Clinical board",
    },
    "condition": {
        "code": "M54.16",
        "name": "Radiculopathy, lumbar",
        "region": "lumbar",
        "requirements": [["{protocol}"]],
        "source": "Clinical board",
    },
    "question": {"code": "fever", "text": "Fever?", "action": "refer-physician", "source": "Clinical board"},
    "license": {
        "jurisdiction": "US-NV",
        "number": "NV-1",
        "valid_from": "2024-01-01",
        "expires_on": "2030-12-31",
    },
    # school A is authorised, instructor A on its roster and qualified, therapist A licensed
    "issue_a": {
        "therapist": "{therapist_b}",
        "protocol": "{protocol}",
        "school": "{school_a}",
        "instructor": "{instructor_a}",
        "taught_on": "2025-06-02",
        "modules": [
            {"kind": kind, "completed_on": "2025-06-02", "hours": 8, "assessment_passed": True}
            for kind in _MODULES
        ],
    },
    "outcome": {"pain_after": 4, "signs": {"saddle-numbness": False}},  # world.sign
    "report": {"signs": ["{sign}"], "narrative": "Phoned in."},
    # another school: school staff of A name what does not exist; admins are refused (B is
    # not authorised, instructor A not on its roster)
    "issue_b": {
        "therapist": "{therapist_a}",
        "protocol": "{protocol}",
        "school": "{school_b}",
        "instructor": "{instructor_a}",
        "taught_on": "2025-06-02",
        "modules": [
            {"kind": kind, "completed_on": "2025-06-02", "hours": 8, "assessment_passed": True}
            for kind in _MODULES
        ],
    },
}


def _fill(body, values: dict[str, str]):
    """The body with ``{name}`` placeholders in its strings filled in, at any depth."""
    if isinstance(body, str):
        return body.format(**values)
    if isinstance(body, dict):
        return {key: _fill(value, values) for key, value in body.items()}
    if isinstance(body, list):
        return [_fill(item, values) for item in body]
    return body


@pytest.mark.parametrize(("method", "route", "body", "role", "expected"), CASES)
def test_roles_table(world, as_role, method, route, body, role, expected):
    values = _values(world)
    client = as_role(role)
    url = route.format(**values)
    data = _fill(BODIES[body] if isinstance(body, str) else body, values) if body else None
    response = getattr(client, method)(url, data, format="json")
    assert response.status_code == expected, response.content[:300]
    if expected >= 400:  # the client checked the problem shape; the type fits the status
        names = {
            400: "validation-error",
            401: "not-authenticated",
            403: "permission-denied",
            404: "not-found",
            405: "method-not-allowed",
            409: "conflict",
            422: "issuance-refused",
        }
        assert response.json()["type"] == f"/problems/{names[expected]}"
    elif expected != 204:
        assert response["Content-Type"] == "application/json"


# --- guards: every view follows the pattern ------------------------------------------------


def _api_views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                cls = getattr(pattern.callback, "cls", None)
                if route.lstrip("^").startswith("api/v1/") and cls and issubclass(cls, APIView):
                    yield route, pattern.callback

    return [
        (route, callback)
        for route, callback in walk(get_resolver().url_patterns)
        if callback.cls.__module__ not in NOT_YET_ON_THE_PATTERN
    ]


def test_the_guard_sees_the_routes():
    routes = {route for route, _ in _api_views()}
    assert any("therapists" in route for route in routes)
    assert any("me/" in route for route in routes)


@pytest.mark.parametrize(("route", "callback"), _api_views(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_api_view_declares_roles_for_every_action(route, callback):
    cls = callback.cls
    assert RolePermission in cls.permission_classes, f"{cls.__name__} must use RolePermission"
    view = cls(**getattr(callback, "initkwargs", {}))
    actions = set(getattr(callback, "actions", None) or {}).difference({"head", "options"})
    names = (
        {callback.actions[m] for m in actions}
        if getattr(callback, "actions", None)
        else {m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}
    )
    for name in names:
        assert allowed_roles(view, name), f"{cls.__name__}.{name}: nobody may call it?"


@pytest.mark.parametrize(("route", "callback"), _api_views(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_api_view_that_reads_rows_is_tenant_scoped(route, callback):
    cls = callback.cls
    if getattr(cls, "queryset", None) is None and "get_queryset" not in vars(cls):
        return  # reads no rows (/me, tokens)
    assert issubclass(cls, TenantScopedMixin), f"{cls.__name__} must use TenantScopedMixin"
    assert cls.tenant_resource in READ_SCOPES, f"{cls.__name__}: unknown resource {cls.tenant_resource!r}"
