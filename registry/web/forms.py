"""Forms of the front desk pages. They only turn submitted text into values (a date, a number,
yes/no) and carry the services' field errors back to the fields they are about: every rule
(which questions must be answered, what a clearance needs, a session's limits) is the
services' (``intake_record``, ``slot_validate``), exactly as for the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.http import QueryDict

from protocols.choices import BodyRegion, ScreeningAction
from protocols.models import ScreeningQuestion

YES_NO = [("yes", "Yes"), ("no", "No")]


def screening_field(code: str) -> str:
    return f"screening-{code}"


def clearance_fields(code: str) -> tuple[str, str]:
    return f"clearance-{code}-on", f"clearance-{code}-by"


class ErrorSummaryMixin:
    """``summary``: (anchor id, message) pairs for the error summary at the top of a page,
    each linking to the field it is about. (Django itself marks an input with an error
    ``aria-invalid`` and points its ``aria-describedby`` at ``<id>_error``.)"""

    anchors: dict[str, str]
    extra_errors: dict[str, list[str]]

    def anchor_for(self, name: str) -> str:
        if name in self.anchors:
            return self.anchors[name]
        if name in self.fields:  # type: ignore[attr-defined]
            return self[name].auto_id  # type: ignore[index]
        return "main"

    @property
    def summary(self) -> list[tuple[str, str]]:
        pairs = [
            (self.anchor_for(name) if name != forms.forms.NON_FIELD_ERRORS else "main", message)
            for name, messages in self.errors.items()  # type: ignore[attr-defined]
            for message in messages
        ]
        pairs += [
            (self.anchor_for(name), m) for name, messages in self.extra_errors.items() for m in messages
        ]
        return pairs


class IntakeForm(ErrorSummaryMixin, forms.Form):
    """An intake: client reference, conditions (codes), focus regions, pain score, and a yes/no
    for each screening question that applies (``questions``, chosen by the caller with the
    service's ``applicable_questions``), with a physician clearance for ``refer-physician``
    ones. Nothing is required here: ``intake_record`` says what is missing."""

    client_ref = forms.CharField(
        label="Client reference",
        required=False,
        max_length=64,
        help_text="The spa's own reference for the client: no name, no birth date.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    conditions = forms.MultipleChoiceField(required=False)
    focus_regions = forms.MultipleChoiceField(
        label="Focus regions",
        required=False,
        choices=BodyRegion.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    pain_score = forms.IntegerField(
        label="Pain score (0 = none, 10 = worst imaginable)",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": 10, "inputmode": "numeric"}),
    )

    def __init__(
        self,
        *args: Any,
        questions: Iterable[ScreeningQuestion] = (),
        condition_codes: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        self.fields["conditions"].choices = [(code, code) for code in condition_codes]
        self.extra_errors = {}
        self.anchors = {"conditions": "condition-search", "focus_regions": "id_focus_regions_0"}
        for question in self.questions:
            name = screening_field(question.code)
            self.fields[name] = forms.ChoiceField(
                label=question.text, required=False, choices=YES_NO, widget=forms.RadioSelect
            )
            self.anchors[name] = f"id_{name}_0"
            if question.action == ScreeningAction.REFER_PHYSICIAN:
                on, by = clearance_fields(question.code)
                self.fields[on] = forms.DateField(
                    label="Date of the physician's clearance",
                    required=False,
                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                )
                self.fields[by] = forms.CharField(label="Physician's name", required=False, max_length=200)
                self.anchors[f"clearance-{question.code}"] = f"id_{on}"

    @classmethod
    def initial_from(cls, data: QueryDict) -> dict[str, Any]:
        """Submitted values as ``initial`` for an unbound form: a page re-shown after "Search"
        or "Show the questions" keeps what was entered without reporting errors yet."""
        multi = {"conditions", "focus_regions"}
        return {key: data.getlist(key) if key in multi else data.get(key) for key in data}

    def rows(self) -> list[dict[str, Any]]:
        """The screening questions for the template: the question, its yes/no field and, for a
        ``refer-physician`` one, the clearance fields and their errors."""
        rows = []
        for question in self.questions:
            row: dict[str, Any] = {
                "question": question,
                "field": self[screening_field(question.code)],
                "emergency": question.action == ScreeningAction.REFER_EMERGENCY,
            }
            if question.action == ScreeningAction.REFER_PHYSICIAN:
                on, by = clearance_fields(question.code)
                row["cleared_on"] = self[on]
                row["cleared_by"] = self[by]
                row["clearance_errors"] = self.extra_errors.get(f"clearance-{question.code}", [])
            rows.append(row)
        return rows

    def service_arguments(self) -> dict[str, Any]:
        """``intake_record``'s keyword arguments from the cleaned data. A question left
        unanswered is left out (the service says it must be answered); a clearance is passed
        when either of its fields is filled in (the service says what it lacks)."""
        data = self.cleaned_data
        screening: dict[str, bool] = {}
        clearances: dict[str, dict[str, Any]] = {}
        for question in self.questions:
            answer = data.get(screening_field(question.code))
            if answer in ("yes", "no"):
                screening[question.code] = answer == "yes"
            if question.action == ScreeningAction.REFER_PHYSICIAN:
                on, by = clearance_fields(question.code)
                cleared_on, cleared_by = data.get(on), (data.get(by) or "").strip()
                if cleared_on or cleared_by:
                    clearances[question.code] = {"cleared_on": cleared_on, "cleared_by": cleared_by}
        pain_score = data.get("pain_score")
        return {
            "client_ref": data.get("client_ref") or "",
            "condition_codes": list(data.get("conditions") or []),
            "focus_regions": list(data.get("focus_regions") or []),
            "screening": screening,
            "clearances": clearances,
            # No score given: out of range on purpose, so the service reports it with the rest.
            "pain_score": -1 if pain_score is None else pain_score,
        }

    def add_service_errors(self, errors: Mapping[str, list[str]]) -> None:
        """The service's dotted field names (``screening.<code>``, ``clearances.<code>``,
        ``conditions.0``, ``focus_regions.1``) on the fields they are about."""
        for key, messages in errors.items():
            head, _, rest = key.partition(".")
            if head == "screening" and screening_field(rest) in self.fields:
                name: str | None = screening_field(rest)
            elif head == "clearances":
                self.extra_errors.setdefault(f"clearance-{rest}", []).extend(messages)
                continue
            elif head in {"conditions", "focus_regions", "client_ref", "pain_score"}:
                name = head
            else:
                name = None
            for message in messages:
                if name is None or message not in self.errors.get(name, []):
                    self.add_error(name, message)


class SlotForm(ErrorSummaryMixin, forms.Form):
    """The session asked for: a date and a time in the spa's timezone, a length, and the
    focused work (a region of the intake, or whole body, and its minutes)."""

    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(label="Start time", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    duration_minutes = forms.IntegerField(
        label="Length (minutes)", widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"})
    )
    focus_region = forms.ChoiceField(label="Focus region", required=False)
    focus_minutes = forms.IntegerField(
        label="Focus minutes (focused work on that region)",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
    )

    FIELDS = ("date", "time", "duration_minutes", "focus_region", "focus_minutes")

    def __init__(self, *args: Any, regions: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(BodyRegion.choices)
        offered = [r for r in dict.fromkeys([*regions, BodyRegion.WHOLE_BODY.value]) if r in labels]
        self.fields["focus_region"].choices = [("", "No focused work"), *((r, labels[r]) for r in offered)]
        self.extra_errors = {}
        self.anchors = {}

    def start(self, timezone_name: str) -> dt.datetime:
        """The start as an aware time: the date and time read in the spa's timezone."""
        data = self.cleaned_data
        return dt.datetime.combine(data["date"], data["time"], tzinfo=ZoneInfo(timezone_name))

    def service_arguments(self, timezone_name: str) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "start": self.start(timezone_name),
            "duration_minutes": data["duration_minutes"],
            "focus_region": data.get("focus_region") or None,
            "focus_minutes": data.get("focus_minutes") or 0,
        }

    def add_service_errors(self, errors: Mapping[str, list[str]]) -> None:
        fields = {
            "start": "time",
            "duration_minutes": "duration_minutes",
            "focus_region": "focus_region",
            "focus_minutes": "focus_minutes",
        }
        for key, messages in errors.items():
            for message in messages:
                self.add_error(fields.get(key), message)

    def as_hidden_pairs(self) -> list[tuple[str, str]]:
        """The session's values, to repeat as hidden inputs in each "Book" form."""
        return [(name, self.data.get(name, "")) for name in self.FIELDS]


class TherapistChoiceForm(forms.Form):
    """A therapist picked from the spa's list (booking and reassigning)."""

    therapist = forms.UUIDField()
    # issue 23: a supervisor for a therapist whose certification is provisional
    supervisor = forms.UUIDField(required=False)


def sign_field(code: str) -> str:
    return f"sign-{code}"


class OutcomeForm(ErrorSummaryMixin, forms.Form):
    """The outcome after a session, in one short form: the pain score now and a yes/no for
    every sign asked after sessions (``signs``: the catalog's, in asking order). Nothing is
    required here: ``session_outcome_record`` says what is missing or wrong."""

    pain_after = forms.IntegerField(
        label="Pain score now (0 = none, 10 = worst imaginable)",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": 10, "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, signs: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signs = list(signs)
        self.extra_errors = {}
        self.anchors = {}
        for sign in self.signs:
            name = sign_field(sign.code)
            self.fields[name] = forms.ChoiceField(
                label=sign.label, required=False, choices=YES_NO, widget=forms.RadioSelect
            )
            self.anchors[name] = f"id_{name}_0"

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"sign": sign, "field": self[sign_field(sign.code)], "serious": sign.severity == "serious"}
            for sign in self.signs
        ]

    def service_arguments(self) -> dict[str, Any]:
        """``session_outcome_record``'s ``pain_after`` and ``signs``; a sign left unanswered is
        left out (the service says it must be asked)."""
        data = self.cleaned_data
        signs = {}
        for sign in self.signs:
            answer = data.get(sign_field(sign.code))
            if answer in ("yes", "no"):
                signs[sign.code] = answer == "yes"
        pain = data.get("pain_after")
        return {"pain_after": -1 if pain is None else pain, "signs": signs}

    def add_service_errors(self, errors: Mapping[str, list[str]]) -> None:
        for key, messages in errors.items():
            head, _, rest = key.partition(".")
            name: str | None = None
            if head == "pain_after":
                name = "pain_after"
            elif head == "signs" and sign_field(rest) in self.fields:
                name = sign_field(rest)
            for message in messages:
                self.add_error(name, message)


class AdverseEventForm(ErrorSummaryMixin, forms.Form):
    """A sign noticed later: which signs (ticked) and what happened."""

    signs = forms.MultipleChoiceField(
        label="Signs noticed", required=False, widget=forms.CheckboxSelectMultiple
    )
    narrative = forms.CharField(
        label="What happened",
        required=False,
        max_length=4000,
        help_text="When it was noticed, by whom, and what the client was told. No name.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, signs: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["signs"].choices = [(sign.code, sign.label) for sign in signs]
        self.extra_errors = {}
        self.anchors = {"signs": "id_signs_0"}

    def add_service_errors(self, errors: Mapping[str, list[str]]) -> None:
        for key, messages in errors.items():
            head = key.partition(".")[0]
            for message in messages:
                self.add_error(head if head in self.fields else None, message)
