"""Forms of the school office and registry staff pages. As on the front desk, they only turn
submitted text into values (an id, a date, a number of hours, yes/no) and carry back, next to
the field each concerns, what the services say: field errors (``DomainError``) and every
reason an issuance was refused (``IssuanceOutcome.reasons``). The rules themselves are the
services' (``certification_issue``, ``certification_revoke``, ``certification_review``,
``clinical_experience_verify``, ``import_create``), exactly as for the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms

from credentials.choices import CertificationStatus, IssuanceReasonCode
from credentials.models import Instructor, Therapist
from credentials.services import IssuanceReason
from protocols.choices import ModuleKind
from protocols.models import Protocol
from registry.web.forms import ErrorSummaryMixin

MODULE_KINDS: tuple[str, ...] = tuple(ModuleKind.values)  # teaching order
MODULE_PARTS = ("completed_on", "hours", "passed")

# The field each issuance refusal is about (a module's reasons go to that module's fieldset).
REASON_FIELDS: dict[str, str] = {
    IssuanceReasonCode.SCHOOL_NOT_AUTHORIZED: "protocol",
    IssuanceReasonCode.INSTRUCTOR_NOT_AT_SCHOOL: "instructor",
    IssuanceReasonCode.INSTRUCTOR_NOT_QUALIFIED: "instructor",
    IssuanceReasonCode.LICENSE_MISSING: "therapist",
    IssuanceReasonCode.LICENSE_INACTIVE: "therapist",
    IssuanceReasonCode.PREREQUISITE_MISSING: "therapist",
}

# The service's names for a module's parts (``modules.<i>.<part>``) and the form's.
_SERVICE_MODULE_PARTS = {"completed_on": "completed_on", "hours": "hours", "assessment_passed": "passed"}


def module_field(kind: str, part: str) -> str:
    """The form field of one part of one module: ``fundamentals-hours``."""
    return f"{kind}-{part}"


def module_key(kind: str) -> str:
    """The key of a module's own errors (a refusal about the whole module)."""
    return f"module-{kind}"


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProtocolChoiceField(forms.ModelChoiceField):
    """A protocol by slug, shown by name."""

    def label_from_instance(self, obj: Protocol) -> str:
        return obj.name


class CertificationIssueForm(ErrorSummaryMixin, forms.Form):
    """A certificate to issue for the school: the therapist's registry id (the therapist gives
    it), the protocol, the instructor who taught it and when, and each of the three modules'
    completion date, hours and assessment. ``protocol_groups`` and ``roster`` only arrange what
    the lists show (the school's authorised protocols first, its own instructors); whether the
    school may certify, and with whom, is ``certification_issue``'s to say."""

    therapist = forms.CharField(
        label="Therapist's registry id",
        max_length=64,
        help_text="The id the therapist gives you: it is shown on their page in the registry.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": "Enter the therapist's registry id."},
    )
    protocol = ProtocolChoiceField(
        label="Protocol",
        queryset=Protocol.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Choose a protocol",
        error_messages={
            "required": "Choose the protocol.",
            "invalid_choice": "Choose a protocol from the list.",
        },
    )
    instructor = forms.ModelChoiceField(
        label="Instructor",
        queryset=Instructor.objects.order_by("name", "id"),
        empty_label="Choose an instructor",
        error_messages={
            "required": "Choose the instructor who taught it.",
            "invalid_choice": "Choose an instructor from the list.",
        },
    )
    taught_on = forms.DateField(
        label="Taught on",
        widget=_date_input(),
        help_text="The day the instructor taught the protocol.",
        error_messages={
            "required": "Enter the day it was taught.",
            "invalid": "Enter a date such as 2026-03-14.",
        },
    )

    def __init__(
        self,
        *args: Any,
        protocol_groups: Iterable[tuple[str, Iterable[Protocol]]] = (),
        roster: Iterable[Instructor] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.extra_errors: dict[str, list[str]] = {}
        self.refused = False
        self.anchors = {module_key(kind): f"id_{module_field(kind, 'completed_on')}" for kind in MODULE_KINDS}
        for kind in MODULE_KINDS:
            self.fields[module_field(kind, "completed_on")] = forms.DateField(
                label="Completed on",
                widget=_date_input(),
                error_messages={
                    "required": "Enter the day the module was completed.",
                    "invalid": "Enter a date such as 2026-03-14.",
                },
            )
            self.fields[module_field(kind, "hours")] = forms.DecimalField(
                label="Hours",
                min_value=0,
                max_digits=6,
                decimal_places=2,
                widget=forms.NumberInput(attrs={"min": 0, "step": "0.25", "inputmode": "decimal"}),
                error_messages={
                    "required": "Enter the hours completed.",
                    "invalid": "Enter a number of hours.",
                },
            )
            self.fields[module_field(kind, "passed")] = forms.BooleanField(
                label="Assessment passed", required=False
            )
        # What the lists show (validation still takes any protocol or instructor: the service
        # says why one does not fit).
        groups = [(label, [(p.slug, p.name) for p in protocols]) for label, protocols in protocol_groups]
        if groups:
            self.fields["protocol"].widget.choices = [("", "Choose a protocol"), *[g for g in groups if g[1]]]
        choices = [(str(i.pk), i.name) for i in roster]
        chosen = self.data.get("instructor") if self.is_bound else None
        if chosen and chosen not in {value for value, _ in choices}:
            other = Instructor.objects.filter(pk=chosen).first() if is_uuid(chosen) else None
            if other is not None:
                choices.append((str(other.pk), f"{other.name} (not on the school's list)"))
        self.fields["instructor"].widget.choices = [("", "Choose an instructor"), *choices]

    def clean_therapist(self) -> Therapist:
        value = self.cleaned_data["therapist"].strip()
        therapist = Therapist.objects.filter(pk=value).first() if is_uuid(value) else None
        if therapist is None:
            raise forms.ValidationError("No therapist has this registry id. Check it with the therapist.")
        return therapist

    def modules(self) -> list[dict[str, Any]]:
        """The three modules for the template: kind, label, fields and the module's own errors."""
        return [
            {
                "kind": kind,
                "label": ModuleKind(kind).label,
                "error_id": f"{module_key(kind)}_error",
                "errors": self.extra_errors.get(module_key(kind), []),
                **{part: self[module_field(kind, part)] for part in MODULE_PARTS},
            }
            for kind in MODULE_KINDS
        ]

    def service_arguments(self) -> dict[str, Any]:
        """``certification_issue``'s keyword arguments (besides actor and school)."""
        data = self.cleaned_data
        return {
            "therapist": data["therapist"],
            "protocol": data["protocol"],
            "instructor": data["instructor"],
            "taught_on": data["taught_on"],
            "modules": [
                {
                    "kind": kind,
                    "completed_on": data[module_field(kind, "completed_on")],
                    "hours": data[module_field(kind, "hours")],
                    "assessment_passed": bool(data[module_field(kind, "passed")]),
                }
                for kind in MODULE_KINDS
            ],
        }

    def add_service_errors(self, errors: Mapping[str, list[str]]) -> None:
        """The service's field errors (``taught_on``, ``modules.<i>.<part>``) on their fields."""
        for key, messages in errors.items():
            parts = key.split(".")
            name: str | None = None
            if parts[0] == "modules" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < 3:
                kind = MODULE_KINDS[int(parts[1])]
                part = _SERVICE_MODULE_PARTS.get(parts[2])
                if part is None:
                    self.extra_errors.setdefault(module_key(kind), []).extend(messages)
                    continue
                name = module_field(kind, part)
            elif parts[0] in self.fields:
                name = parts[0]
            for message in messages:
                self.add_error(name, message)

    def add_refusal(self, reasons: Iterable[IssuanceReason]) -> None:
        """Every reason the issuance was refused, next to the field it concerns."""
        self.refused = True
        for reason in reasons:
            if reason.code == IssuanceReasonCode.MODULE_INCOMPLETE and reason.module in MODULE_KINDS:
                self.extra_errors.setdefault(module_key(reason.module), []).append(reason.message)
            else:
                self.add_error(REASON_FIELDS.get(reason.code), reason.message)


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


REVIEW_CHOICES = [("", "Any"), ("yes", "Flagged for review"), ("no", "Not flagged")]


class CertificationFilterForm(forms.Form):
    """The school's certificate list: by status (as of now), protocol and review flag."""

    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *CertificationStatus.choices]
    )
    protocol = ProtocolChoiceField(
        label="Protocol",
        required=False,
        queryset=Protocol.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Any protocol",
    )
    review = forms.ChoiceField(label="Review", required=False, choices=REVIEW_CHOICES)

    def selector_arguments(self) -> dict[str, Any]:
        """``certification_list``'s filters from the valid fields (an invalid one filters nothing)."""
        self.is_valid()  # an invalid field is left out of cleaned_data
        data = self.cleaned_data
        review = data.get("review")
        return {
            "status": data.get("status") or None,
            "protocol": data.get("protocol"),
            "review_required": {"yes": True, "no": False}.get(review or ""),
        }


class ReasonForm(ErrorSummaryMixin, forms.Form):
    """A reason (revoking, keeping): required by the service, which says so."""

    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, label: str | None = None, help_text: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extra_errors = {}
        self.anchors = {}
        if label:
            self.fields["reason"].label = label
        if help_text:
            self.fields["reason"].help_text = help_text

    def add_service_errors(self, errors: Mapping[str, list[str]], detail: str = "") -> None:
        for key, messages in errors.items():
            for message in messages:
                self.add_error(key if key in self.fields else None, message)
        if not errors and detail:
            self.add_error(None, detail)


class ImportForm(ErrorSummaryMixin, forms.Form):
    """A CSV file of certifications for the school (columns as in the API)."""

    file = forms.FileField(
        label="CSV file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extra_errors = {}
        self.anchors = {}

    def add_service_errors(self, errors: Mapping[str, list[str]]) -> None:
        for key, messages in errors.items():
            for message in messages:
                self.add_error("file" if key == "file" else None, message)


# --- registry staff ------------------------------------------------------------------------------


class ReviewDecisionForm(ErrorSummaryMixin, forms.Form):
    """Registry staff's decision on a flagged certification: keep or revoke, with a reason
    (``certification_review`` says what is missing)."""

    decision = forms.ChoiceField(
        label="Decision",
        required=False,
        choices=[
            ("keep", "Keep it: clear the flag"),
            ("revoke", "Revoke it: bookings resting on it are re-checked"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=2000,
        help_text="Kept in the audit trail; a revocation's reason shows on the public page.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The flag's reason as the card showed it: a keep is refused if it was flagged again since.
    reviewed_reason = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extra_errors = {}
        self.anchors = {"decision": f"{self['decision'].auto_id}_0"}

    def add_service_errors(self, errors: Mapping[str, list[str]], detail: str = "") -> None:
        for key, messages in errors.items():
            for message in messages:
                self.add_error(key if key in self.fields else None, message)
        if not errors and detail:
            self.add_error(None, detail)


class InstructorChoiceField(forms.ModelChoiceField):
    """An instructor, shown with the schools whose list they are on (names repeat)."""

    def label_from_instance(self, obj: Instructor) -> str:
        schools = ", ".join(school.name for school in obj.schools.all())
        return f"{obj.name} ({schools})" if schools else f"{obj.name} (no school)"


class ExperienceProtocolField(forms.ModelChoiceField):
    """A protocol, shown with the experience it asks of an instructor."""

    def label_from_instance(self, obj: Protocol) -> str:
        return f"{obj.name} (asks {obj.min_instructor_years} years, {obj.min_instructor_cases} cases)"


class ClinicalExperienceForm(ErrorSummaryMixin, forms.Form):
    """The registry's verification of an instructor's clinical experience in one protocol.
    Years, cases, evidence and the date are checked by ``clinical_experience_verify``."""

    instructor = InstructorChoiceField(
        label="Instructor",
        queryset=Instructor.objects.prefetch_related("schools").order_by("name", "id"),
        empty_label="Choose an instructor",
        error_messages={
            "required": "Choose the instructor.",
            "invalid_choice": "Choose an instructor from the list.",
        },
    )
    protocol = ExperienceProtocolField(
        label="Protocol",
        queryset=Protocol.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Choose a protocol",
        error_messages={
            "required": "Choose the protocol.",
            "invalid_choice": "Choose a protocol from the list.",
        },
    )
    years = forms.IntegerField(
        label="Years of clinical experience",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
        error_messages={"invalid": "Enter a whole number of years."},
    )
    cases = forms.IntegerField(
        label="Cases treated with the protocol",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
        error_messages={"invalid": "Enter a whole number of cases."},
    )
    evidence = forms.CharField(
        label="Evidence",
        required=False,
        max_length=5000,
        help_text="What the registry checked: clinic records, references, case logs.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    verified_on = forms.DateField(
        label="Experience held from",
        required=False,
        help_text="The date the registry attests the experience from: today or earlier. Empty: today.",
        widget=_date_input(),
        error_messages={"invalid": "Enter a date such as 2026-03-14."},
    )

    def __init__(self, *args: Any, panel_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extra_errors = {}
        self.anchors = {}
        if panel_url:  # HTMX: choosing an instructor shows what they may teach
            self.fields["instructor"].widget.attrs.update(
                {
                    "hx-get": panel_url,
                    "hx-trigger": "change",
                    "hx-target": "#instructor-panel",
                    "hx-swap": "outerHTML",
                }
            )

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "instructor": data["instructor"],
            "protocol": data["protocol"],
            "years": data.get("years"),
            "cases": data.get("cases"),
            "evidence": data.get("evidence") or "",
            "verified_on": data.get("verified_on"),
        }

    def add_service_errors(self, errors: Mapping[str, list[str]]) -> None:
        for key, messages in errors.items():
            for message in messages:
                self.add_error(key if key in self.fields else None, message)
