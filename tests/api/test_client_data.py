"""Minimum necessary (API.md, "Client data"): conditions, screening answers and client references
reach the recording spa and the assigned therapist only — never another therapist, a school,
verification, an event, or a registry admin's lists. A scan over every credential-side body,
for every role, and over every admin list."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.models import OutboxEvent
from credentials.models import Certification, License
from protocols.tests.factories import ConditionFactory, ProtocolFactory
from tests.api.helpers import ProblemCheckingClient

CLIENT_ONLY_CONDITION = "Z99.89"  # needs a protocol nobody holds: in no therapist's scope
CLIENT_REFS = ("SECRET-REF-1", "SECRET-REF-2")
PHYSICIAN = "Dr. Secret Physician"
QUESTIONS = ("ces-bladder-bowel", "recent-trauma")

# Credential-side reads: therapists, licences, schools, instructors, certifications, verification.
CREDENTIAL_PREFIXES = ("therapist-", "license-", "school-", "instructor-", "certification-", "verify-")
CATALOG_LISTS = {"protocol-list", "condition-list", "screening-question-list"}


@pytest.fixture
def recorded(booking_world):
    """Client data in every place it may live: two intakes (one with a physician's clearance),
    a booking later needing reassignment (its reasons name M51.16), a refusal naming the
    client-only condition, and the events the revocation sent."""
    w = booking_world
    ProtocolFactory(slug="spinal-cord-injury", region="lumbar")
    ConditionFactory(
        code=CLIENT_ONLY_CONDITION,
        region="lumbar",
        requirements=[[ProtocolFactory(slug="spinal-cord-injury")]],
    )
    first = w.intake(
        client_ref=CLIENT_REFS[0],
        screening={"ces-bladder-bowel": False, "recent-trauma": True},
        clearances={"recent-trauma": {"cleared_on": "2026-01-05", "cleared_by": PHYSICIAN}},
    ).json()
    second = w.intake(client_ref=CLIENT_REFS[1], conditions=[CLIENT_ONLY_CONDITION]).json()
    assert w.book(w.ana, first["id"]).status_code == 201
    assert w.book(w.carla, second["id"]).status_code == 409  # refused: the decision names the condition
    response = w.school_staff.post(
        f"/api/v1/certifications/{w.certification.pk}/revoke/", {"reason": "Audit."}, format="json"
    )
    assert response.status_code == 200
    return w


def _tokens(*, with_catalog_code: bool) -> list[str]:
    tokens = [CLIENT_ONLY_CONDITION, *CLIENT_REFS, PHYSICIAN, *QUESTIONS]
    # M51.16 is the client's condition too, but also a catalog code a therapist's scope lists.
    return [*tokens, "M51.16"] if with_catalog_code else tokens


def _get_routes() -> dict[str, set[str]]:
    """URL name → its keyword arguments, for every GET route under /api/v1/."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.replace("^", "").startswith("api/v1/"):
                yield pattern

    routes = {}
    for pattern in walk(get_resolver().url_patterns):
        actions = getattr(pattern.callback, "actions", None)
        cls = getattr(pattern.callback, "cls", None)
        if (actions and "get" in actions) or (not actions and cls is not None and hasattr(cls, "get")):
            routes[pattern.name] = set(pattern.pattern.regex.groupindex)
    return routes


def _objects(w) -> dict[str, list]:
    therapists = [w.ana, w.beth, w.carla, w.dora]
    return {
        "therapist": [{"pk": t.pk} for t in therapists],
        "license": [{"pk": pk} for pk in License.objects.values_list("pk", flat=True)],
        "school": [{"pk": w.school.pk}],
        "instructor": [{"pk": w.instructor.pk}],
        "certification": [{"pk": pk} for pk in Certification.objects.values_list("pk", flat=True)],
        "verify": [{"serial": serial} for serial in Certification.objects.values_list("serial", flat=True)],
    }


def _urls(w, name: str, kwargs: set[str]) -> list[str]:
    if not kwargs:
        return [reverse(name)]
    family = name.split("-")[0]
    return [reverse(name, kwargs=values) for values in _objects(w)[family]]


def test_no_credential_side_body_shows_client_data_to_anyone(recorded):
    w = recorded
    callers = {
        "anonymous": ProblemCheckingClient(),
        "ana (assigned therapist)": w.ana_client,
        "beth (another therapist)": w.beth_client,
        "spa staff": w.desk,
        "another spa": w.other_desk,
        "school staff": w.school_staff,
        "registry admin": w.admin,
    }
    routes = {n: k for n, k in _get_routes().items() if n.startswith(CREDENTIAL_PREFIXES)}
    assert {"therapist-detail", "certification-list", "verify-detail", "school-list"} <= set(routes)
    scanned = 0
    for name, kwargs in sorted(routes.items()):
        tokens = _tokens(with_catalog_code=name != "therapist-scope")
        for url in _urls(w, name, kwargs):
            for who, client in callers.items():
                response = client.get(url, HTTP_ACCEPT="application/json")
                assert response.status_code < 500, (url, who)
                text = response.content.decode(errors="replace")
                leaked = [token for token in tokens if token in text]
                assert leaked == [], f"GET {url} as {who} shows {leaked}"
                scanned += 1
    assert scanned > 100


def test_no_admin_list_shows_client_data(recorded):
    w = recorded
    lists = sorted(n for n, kwargs in _get_routes().items() if n.endswith("-list") and not kwargs)
    assert {"therapist-list", "certification-list", "booking-list", "intake-list", "decision-list"} <= set(
        lists
    )
    for name in lists:
        if name in CATALOG_LISTS:
            continue  # the catalog's own codes, not a client's
        response = w.admin.get(reverse(name), {"limit": 200})
        text = response.content.decode(errors="replace")
        leaked = [token for token in _tokens(with_catalog_code=True) if token in text]
        assert leaked == [], f"GET {name} as admin shows {leaked}"
    for name in ("booking-list", "intake-list", "decision-list"):
        assert w.admin.get(reverse(name)).status_code == 403


def test_no_event_carries_client_data(recorded):
    events = list(OutboxEvent.objects.all())
    assert {e.type for e in events} >= {"certification.revoked", "booking.needs_reassignment"}
    for event in events:
        leaked = [token for token in _tokens(with_catalog_code=True) if token in str(event.data)]
        assert leaked == [], f"{event.type} to {event.audience} carries {leaked}"


def test_the_recording_spa_and_the_assigned_therapist_do_read_it(recorded):
    w = recorded
    for client in (w.desk, w.ana_client):
        text = client.get("/api/v1/intakes/").content.decode()
        assert CLIENT_REFS[0] in text
        assert PHYSICIAN in text
    assert CLIENT_REFS[0] not in w.beth_client.get("/api/v1/intakes/").content.decode()
    assert CLIENT_REFS[0] not in w.other_desk.get("/api/v1/intakes/").content.decode()
