"""Recording a client's intake: conditions, red-flag screening, clearances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from core.models import User
from protocols.choices import BodyRegion, ScreeningAction
from protocols.models import Condition, ScreeningQuestion
from registry.eligibility import question_applies
from registry.models import Intake, Spa


def applicable_questions(
    questions: Iterable[ScreeningQuestion], regions: set[str]
) -> list[ScreeningQuestion]:
    """Questions asked at an intake covering ``regions``: those with no regions (asked at every
    intake), those whose regions meet the intake's, and all of them for whole-body work."""
    return [q for q in questions if question_applies(q.regions, regions)]


def referral_for(
    questions: Iterable[ScreeningQuestion], screening: Mapping[str, bool], clearances: Mapping
) -> dict[str, Any] | None:
    """Yes-answers not cleared → the most urgent action and the questions behind it.
    A clearance counts only for a ``refer-physician`` question."""
    flagged = []
    for question in questions:
        if not screening.get(question.code):
            continue
        cleared = question.code in clearances and question.action == ScreeningAction.REFER_PHYSICIAN
        if not cleared:
            flagged.append(question)
    if not flagged:
        return None
    emergency = [q.code for q in flagged if q.action == ScreeningAction.REFER_EMERGENCY]
    if emergency:
        return {"action": ScreeningAction.REFER_EMERGENCY.value, "questions": emergency}
    return {"action": ScreeningAction.REFER_PHYSICIAN.value, "questions": [q.code for q in flagged]}


@transaction.atomic
def intake_record(
    *,
    actor: User | None,
    spa: Spa,
    client_ref: str,
    condition_codes: list[str],
    screening: Mapping[str, bool],
    pain_score: int,
    focus_regions: list[str] | None = None,
    clearances: Mapping[str, Mapping[str, Any]] | None = None,
    now: dt.datetime | None = None,
) -> Intake:
    """Record an intake. Every screening question that applies to the intake's regions (its
    conditions' plus ``focus_regions``) must be answered yes or no; condition codes must exist;
    a physician clearance is accepted only for a yes to a ``refer-physician`` question (an
    emergency flag can never be cleared). The intake serves sessions starting within
    ``REGISTRY_INTAKE_VALID_DAYS`` of now; its ``referral`` says whom to send the client to."""
    now = now or timezone.now()
    focus_regions = list(dict.fromkeys(focus_regions or []))
    clearances = dict(clearances or {})
    errors: dict[str, list[str]] = {}

    client_ref = (client_ref or "").strip()
    if not client_ref:
        errors["client_ref"] = ["A spa-local client reference is required."]
    if not 0 <= pain_score <= 10:
        errors["pain_score"] = ["The pain score is 0 to 10."]
    for index, region in enumerate(focus_regions):
        if region not in BodyRegion.values:
            errors[f"focus_regions.{index}"] = [f"Unknown body region '{region}'."]

    codes = list(dict.fromkeys(condition_codes))
    conditions = list(Condition.objects.filter(code__in=codes))
    known = {c.code for c in conditions}
    for index, code in enumerate(codes):
        if code not in known:
            errors.setdefault(f"conditions.{index}", []).append(f"Unknown condition code '{code}'.")
    if not codes:
        errors["conditions"] = ["Name at least one condition (WELLNESS for general wellness)."]

    regions = {c.region for c in conditions} | set(focus_regions)
    questions = list(ScreeningQuestion.objects.all())
    by_code = {q.code: q for q in questions}
    for code, answer in screening.items():
        if code not in by_code:
            errors[f"screening.{code}"] = [f"Unknown screening question '{code}'."]
        elif not isinstance(answer, bool):
            errors[f"screening.{code}"] = ["Answer yes (true) or no (false)."]
    asked = applicable_questions(questions, regions)
    for question in asked:
        if question.code not in screening:
            errors[f"screening.{question.code}"] = [
                f"This question must be answered before booking: {question.text}"
            ]

    for code, clearance in clearances.items():
        question = by_code.get(code)
        field = f"clearances.{code}"
        if question is None:
            errors[field] = [f"Unknown screening question '{code}'."]
        elif question.action == ScreeningAction.REFER_EMERGENCY:
            errors[field] = ["An emergency red flag cannot be cleared: refer for emergency care."]
        elif screening.get(code) is not True:
            errors[field] = ["Only a yes answer needs a physician clearance."]
        else:
            cleared_on = clearance.get("cleared_on")
            cleared_by = str(clearance.get("cleared_by") or "").strip()
            if not isinstance(cleared_on, dt.date) or cleared_on > now.date():
                errors.setdefault(field, []).append("The clearance date must be a date, not in the future.")
            if not cleared_by:
                errors.setdefault(field, []).append("Name the physician who cleared the client.")
    if errors:
        raise DomainError("The intake has invalid fields.", errors=errors)

    intake = Intake.objects.create(
        spa=spa,
        client_ref=client_ref,
        focus_regions=focus_regions,
        screening={code: bool(answer) for code, answer in screening.items()},
        clearances={
            code: {"cleared_on": c["cleared_on"].isoformat(), "cleared_by": str(c["cleared_by"]).strip()}
            for code, c in clearances.items()
        },
        pain_score=pain_score,
        referral=referral_for(asked + [q for q in questions if q not in asked], screening, clearances),
        recorded_at=now,
        recorded_by=actor if actor is not None and actor.pk else None,
        valid_until=now + dt.timedelta(days=settings.REGISTRY_INTAKE_VALID_DAYS),
    )
    intake.conditions.set(conditions)
    return intake
