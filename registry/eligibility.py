"""The eligibility engine: may this therapist treat this case, in this session?

A pure function — facts in, decision out. No ORM, no clock: the time comes in the case.
``decide()`` collects every reason that applies from small rule functions and never stops at
the first. Selectors (``registry.selectors``) load the facts in a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class ReasonCode(StrEnum):
    RED_FLAG_REFERRAL = "RED_FLAG_REFERRAL"
    INTAKE_EXPIRED = "INTAKE_EXPIRED"
    NOT_EMPLOYED_AT_SPA = "NOT_EMPLOYED_AT_SPA"
    LICENSE_MISSING = "LICENSE_MISSING"
    LICENSE_INACTIVE = "LICENSE_INACTIVE"
    PROTOCOL_NOT_CERTIFIED = "PROTOCOL_NOT_CERTIFIED"
    CERTIFICATION_REVOKED = "CERTIFICATION_REVOKED"
    CERTIFICATION_EXPIRED = "CERTIFICATION_EXPIRED"
    CERTIFICATION_NOT_YET_VALID = "CERTIFICATION_NOT_YET_VALID"
    FOCUS_EXCEEDS_PROTOCOL_LIMIT = "FOCUS_EXCEEDS_PROTOCOL_LIMIT"
    THERAPIST_UNAVAILABLE = "THERAPIST_UNAVAILABLE"
    # warnings
    CERTIFICATION_EXPIRES_SOON = "CERTIFICATION_EXPIRES_SOON"
    LICENSE_EXPIRES_SOON = "LICENSE_EXPIRES_SOON"


WHOLE_BODY = "whole-body"
REFER_EMERGENCY = "refer-emergency"
REFER_PHYSICIAN = "refer-physician"


# --- facts about the therapist (loaded by registry.selectors) ---------------------------


@dataclass(frozen=True)
class EmploymentFact:
    spa_id: str
    started_on: date
    ended_on: date | None  # inclusive; None: open-ended


@dataclass(frozen=True)
class LicenseFact:
    id: str
    jurisdiction: str
    status: str  # "active", "suspended", "revoked", "expired"
    valid_from: date  # inclusive, read in the spa's timezone
    expires_on: date  # inclusive, read in the spa's timezone


@dataclass(frozen=True)
class CertificationFact:
    id: str
    protocol: str  # slug
    valid_from: datetime
    expires_at: datetime  # exclusive
    revoked_at: datetime | None


@dataclass(frozen=True)
class BookingFact:
    """One of the therapist's slot-holding bookings (confirmed or needs-reassignment)."""

    id: str
    spa_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class TherapistFacts:
    therapist_id: str
    name: str
    employments: tuple[EmploymentFact, ...] = ()
    licenses: tuple[LicenseFact, ...] = ()
    certifications: tuple[CertificationFact, ...] = ()
    bookings: tuple[BookingFact, ...] = ()


# --- the case (spa, intake, session) -----------------------------------------------------


@dataclass(frozen=True)
class ProtocolFact:
    slug: str
    name: str
    region: str
    max_focus_minutes: int


@dataclass(frozen=True)
class ConditionFact:
    code: str
    name: str
    region: str
    # every group must be met; a group by a valid certification in any one of its slugs
    requirement_groups: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ScreeningAnswer:
    question: str  # code
    text: str
    action: str  # "refer-emergency" or "refer-physician"
    answer: bool  # True: the red flag is present
    cleared: bool = False  # a recorded physician clearance (counts only for refer-physician)


@dataclass(frozen=True)
class Case:
    spa_id: str
    spa_jurisdiction: str
    spa_timezone: str  # IANA name; licence and employment days are read in it
    start: datetime
    end: datetime
    intake_valid_until: datetime
    conditions: tuple[ConditionFact, ...] = ()
    screening: tuple[ScreeningAnswer, ...] = ()
    focus_region: str | None = None
    focus_minutes: int = 0
    # every protocol named in the conditions' requirement groups, by slug
    protocols: Mapping[str, ProtocolFact] = field(default_factory=dict)
    # re-checking an existing booking: it does not collide with itself
    booking_id: str | None = None
    warning_days: int = 30


# --- the decision --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """A reason (or a warning: same shape). ``code`` is stable; ``message`` is plain words."""

    code: ReasonCode
    message: str
    condition: str | None = None
    protocols: tuple[str, ...] = ()
    certification: str | None = None
    question: str | None = None
    action: str | None = None
    booking: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.condition is not None:
            out["condition"] = self.condition
        if self.protocols:
            out["protocols"] = list(self.protocols)
        if self.certification is not None:
            out["certification"] = self.certification
        if self.question is not None:
            out["question"] = self.question
        if self.action is not None:
            out["action"] = self.action
        if self.booking is not None:
            out["booking"] = self.booking
        return out


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()


def decide(facts: TherapistFacts, case: Case) -> Decision:
    """Every reason this therapist may not take this case, and the warnings."""
    raise NotImplementedError
