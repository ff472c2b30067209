"""The story of DESIGN.md, through HTTP only: a client with an L4-L5 disc bulge and
radiculopathy (M51.16) books a low-back massage. The gate refuses the untrained therapist,
holds the trained one to the protocol's dose limit, refuses a double booking and a red flag,
and when the school revokes the certification the booking needs reassignment — every step in
the decision log."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_problem


def _codes(reasons) -> list[str]:
    return [reason["code"] for reason in reasons]


@pytest.fixture
def story(booking_world):
    return booking_world


def test_the_story_through_http(story):
    w = story
    # The spa records the intake: M51.16, pain 4, no red flags.
    response = w.intake(client_ref="C-0042", pain_score=4)
    assert response.status_code == 201, response.content
    intake = response.json()
    assert intake["conditions"] == ["M51.16"]
    assert intake["referral"] is None

    # Beth was never trained in the protocol: refused, with the reason and the group.
    refused = assert_problem(w.book(w.beth, intake["id"], focus_minutes=30), 409, "booking-refused")
    assert _codes(refused["reasons"]) == ["PROTOCOL_NOT_CERTIFIED"]
    assert refused["reasons"][0]["condition"] == "M51.16"
    assert refused["reasons"][0]["protocols"] == ["low-back-radiculopathy"]

    # Ana is certified, but 31 focused minutes on the low back exceed the protocol's 30.
    past_limit = assert_problem(w.book(w.ana, intake["id"], focus_minutes=31), 409, "booking-refused")
    assert _codes(past_limit["reasons"]) == ["FOCUS_EXCEEDS_PROTOCOL_LIMIT"]
    assert past_limit["reasons"][0]["protocols"] == ["low-back-radiculopathy"]

    # At the limit she may: confirmed.
    response = w.book(w.ana, intake["id"], focus_minutes=30)
    assert response.status_code == 201, response.content
    booking = response.json()
    assert booking["status"] == "confirmed"
    assert booking["therapist"] == str(w.ana.pk)
    assert booking["reasons"] == []
    assert booking["suggested_therapists"] == []

    # The same slot again, for another client: Ana is already booked here.
    second = w.intake(client_ref="C-0043").json()
    double = assert_problem(w.book(w.ana, second["id"]), 409, "booking-refused")
    assert _codes(double["reasons"]) == ["THERAPIST_UNAVAILABLE"]
    assert double["reasons"][0]["booking"] == booking["id"]  # our own spa's booking: named

    # A client with new loss of bladder control: referred for emergency care, never booked.
    response = w.intake(client_ref="C-0044", screening={"ces-bladder-bowel": True, "recent-trauma": False})
    assert response.status_code == 201, response.content
    red_flag = response.json()
    assert red_flag["referral"] == {"action": "refer-emergency", "questions": ["ces-bladder-bowel"]}
    flagged = assert_problem(
        w.book(w.carla, red_flag["id"], start=w.start.replace(hour=14).isoformat()), 409, "booking-refused"
    )
    assert _codes(flagged["reasons"]) == ["RED_FLAG_REFERRAL"]
    assert flagged["reasons"][0]["action"] == "refer-emergency"
    assert flagged["reasons"][0]["question"] == "ces-bladder-bowel"

    # The school revokes Ana's certification over HTTP: the booking needs reassignment, with
    # the reason and Carla (certified, free) suggested.
    response = w.school_staff.post(
        f"/api/v1/certifications/{w.certification.pk}/revoke/",
        {"reason": "Assessment found to be falsified."},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "revoked"
    moved = w.desk.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert moved["status"] == "needs-reassignment"
    assert _codes(moved["reasons"]) == ["CERTIFICATION_REVOKED"]
    assert moved["reasons"][0]["certification"] == str(w.certification.pk)
    assert moved["suggested_therapists"] == [str(w.carla.pk)]

    # Reassigned to a suggested therapist: confirmed again.
    response = w.desk.post(
        f"/api/v1/bookings/{booking['id']}/reassign/", {"therapist": str(w.carla.pk)}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    assert response.json()["therapist"] == str(w.carla.pk)

    # The booking's decision log shows each step: allowed at booking, refused at the re-check,
    # allowed for Carla.
    log = w.desk.get(f"/api/v1/bookings/{booking['id']}/decisions/").json()["results"]
    assert [(d["therapist"], d["allowed"], _codes(d["reasons"])) for d in log] == [
        (str(w.ana.pk), True, []),
        (str(w.ana.pk), False, ["CERTIFICATION_REVOKED"]),
        (str(w.carla.pk), True, []),
    ]
    assert {d["booking"] for d in log} == {booking["id"]}
    assert log[0]["case"]["focus_minutes"] == 30

    # The spa's whole log holds the refused attempts too (no booking): every attempt is kept.
    everything = w.desk.get("/api/v1/decisions/", {"limit": 200}).json()
    assert everything["count"] == 7
    refusals = w.desk.get("/api/v1/decisions/", {"allowed": "false"}).json()["results"]
    assert [_codes(d["reasons"]) for d in refusals] == [
        ["PROTOCOL_NOT_CERTIFIED"],
        ["FOCUS_EXCEEDS_PROTOCOL_LIMIT"],
        ["THERAPIST_UNAVAILABLE"],
        ["RED_FLAG_REFERRAL"],
        ["CERTIFICATION_REVOKED"],
    ]
    assert [d["booking"] for d in refusals][:4] == [None, None, None, None]
