"""Admin for registry staff: search and filters over the credential records.

Every write goes through ``credentials.services`` (so it is validated and audited like an API
write). Nothing is deleted. Issued certifications are read-only: revocation, clearing a
review and attesting supervised sessions (issue 23) are admin actions that ask for a reason
(the "Reason" field next to the action menu), as are withdrawals of clinical experience and
school authorisations.

Revoking a certification or narrowing a licence must also re-check bookings (invariant 5),
which is the registry layer's use case, and an attestation tells schools and spas
(``certification.scope_full``). This app cannot import that layer, so those calls are class
attributes (``CertificationAdmin.revoke_certification``, ``CertificationAdmin.scope_attest``,
``LicenseAdmin.change_license``) that ``registry/admin.py`` points at ``registry.services`` by
re-registering subclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

from core.errors import DomainError
from credentials import services
from credentials.choices import CertificationStatus
from credentials.models import (
    Certification,
    ClinicalExperience,
    Instructor,
    License,
    ModuleCompletion,
    School,
    SchoolAuthorization,
    StatusList,
    Therapist,
)
from credentials.selectors import certification_status_q

# --- shared pieces ------------------------------------------------------------------------------


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        required=False,
        label="Reason",
        help_text="Required by revocations, withdrawals, reviews and attestations.",
        widget=forms.TextInput(attrs={"size": 50}),
    )


class RegistryAdmin(admin.ModelAdmin):
    """Nothing is deleted; a service refusing the input is shown as a message, not a 500."""

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:  # the admin's transaction rolled back
            self.message_user(request, _error_text(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @staticmethod
    def adopt(obj: Model, created: Model) -> None:
        """Make the admin's unsaved form instance the row the service created."""
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = created._state.db


def _error_text(error: DomainError) -> str:
    if not error.errors:
        return error.detail
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.errors.items())


class NoInlinesOnAdd:
    """Read-only inlines have nothing to show (or post) while the object is being added."""

    def get_inlines(self, request: HttpRequest, obj: Model | None) -> Any:
        return super().get_inlines(request, obj) if obj is not None else ()


class WithdrawAction:
    """The one withdrawal action of the verifications and authorisations a certificate rests
    on: asks for a reason, withdraws each selected row through ``withdraw_one`` (the service;
    the registry layer swaps in its use case, which also tells the schools), reports what
    the service refused. ``withdrawn_as``: the service's keyword for the row."""

    withdrawn_as: str
    withdrawn_message: str
    withdraw_one: Callable[..., Any]

    def has_withdraw_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    def withdraw_each(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = _reason(self, request)
        if reason is None:
            return
        _apply_each(
            self,
            request,
            queryset,
            lambda row: self.withdraw_one(actor=request.user, reason=reason, **{self.withdrawn_as: row}),
            self.withdrawn_message,
        )


def _reason(modeladmin: admin.ModelAdmin, request: HttpRequest) -> str | None:
    reason = request.POST.get("reason", "").strip()
    if not reason:
        modeladmin.message_user(
            request, "Give a reason in the Reason field next to the action.", messages.ERROR
        )
        return None
    return reason


def _apply_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    call: Callable[[Any], Any],
    done: str,
) -> None:
    """Call the service once per selected object (each its own transaction)."""
    count = 0
    for obj in queryset:
        try:
            call(obj)
        except DomainError as error:
            modeladmin.message_user(request, f"{obj}: {_error_text(error)}", messages.ERROR)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done.format(count=count), messages.SUCCESS)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


# --- therapists and licences --------------------------------------------------------------------


class LicenseInline(ReadOnlyInline):
    model = License
    fields = ("jurisdiction", "number", "status", "valid_from", "expires_on")


class TherapistCertificationInline(ReadOnlyInline):
    model = Certification
    fk_name = "therapist"
    fields = ("serial", "protocol", "school", "valid_from", "expires_at", "revoked_at", "review_required")


@admin.register(Therapist)
class TherapistAdmin(NoInlinesOnAdd, RegistryAdmin):
    list_display = ("name", "email", "created_at")
    search_fields = ("name", "email", "licenses__number")
    fields = ("name", "email", "created_at")
    readonly_fields = ("created_at",)
    inlines = (LicenseInline, TherapistCertificationInline)

    def has_change_permission(self, request: HttpRequest, obj: Therapist | None = None) -> bool:
        return False  # no edit service: a therapist's record changes through licences

    def save_model(self, request: HttpRequest, obj: Therapist, form: forms.Form, change: bool) -> None:
        data = form.cleaned_data
        self.adopt(obj, services.therapist_create(actor=request.user, name=data["name"], email=data["email"]))


class LicenseForm(forms.ModelForm):
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Why the licence changes."
    )

    class Meta:
        model = License
        fields = ("therapist", "jurisdiction", "number", "status", "valid_from", "expires_on")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.instance._state.adding and not (data.get("reason") or "").strip():
            self.add_error("reason", "Give the reason for the change.")
        return data


@admin.register(License)
class LicenseAdmin(RegistryAdmin):
    form = LicenseForm
    list_display = ("number", "jurisdiction", "therapist", "status", "valid_from", "expires_on")
    list_filter = ("status", "jurisdiction")
    search_fields = ("number", "therapist__name", "therapist__email")
    list_select_related = ("therapist",)
    autocomplete_fields = ("therapist",)
    date_hierarchy = "expires_on"

    # The registry layer swaps in its use case (change + booking re-check).
    change_license = staticmethod(services.license_change)

    def get_fields(self, request: HttpRequest, obj: License | None = None) -> list[str]:
        fields = ["therapist", "jurisdiction", "number", "status", "valid_from", "expires_on"]
        return [*fields, "verified_at", "verified_source", "reason"] if obj else fields

    def get_readonly_fields(self, request: HttpRequest, obj: License | None = None) -> tuple[str, ...]:
        # Verification is recorded by licence rosters only (registry.services.rosters).
        return (
            ("therapist", "jurisdiction", "number", "valid_from", "verified_at", "verified_source")
            if obj
            else ()
        )

    def save_model(self, request: HttpRequest, obj: License, form: forms.Form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.license_create(
                actor=request.user,
                therapist=data["therapist"],
                jurisdiction=data["jurisdiction"],
                number=data["number"],
                status=data["status"],
                valid_from=data["valid_from"],
                expires_on=data["expires_on"],
            )
            self.adopt(obj, created)
            return
        current = License.objects.get(pk=obj.pk)  # the form already wrote its values on ``obj``
        status = data["status"] if data["status"] != current.status else None
        expires_on = data["expires_on"] if data["expires_on"] != current.expires_on else None
        if status is None and expires_on is None:
            return
        self.change_license(
            actor=request.user,
            license=current,
            status=status,
            expires_on=expires_on,
            reason=data["reason"],
        )


# --- schools, instructors, authorisations, experience -------------------------------------------


class AuthorizationInline(ReadOnlyInline):
    model = SchoolAuthorization
    fields = ("protocol", "granted_at", "withdrawn_at", "withdrawn_reason")


@admin.register(School)
class SchoolAdmin(NoInlinesOnAdd, RegistryAdmin):
    list_display = ("name", "jurisdiction", "contact_email")
    list_filter = ("jurisdiction",)
    search_fields = ("name", "contact_email")
    fields = ("name", "jurisdiction", "contact_email")
    inlines = (AuthorizationInline,)

    def has_change_permission(self, request: HttpRequest, obj: School | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: School, form: forms.Form, change: bool) -> None:
        data = form.cleaned_data
        created = services.school_create(
            actor=request.user,
            name=data["name"],
            jurisdiction=data["jurisdiction"],
            contact_email=data["contact_email"],
        )
        self.adopt(obj, created)


class InstructorActionForm(ActionForm):
    school = forms.ModelChoiceField(School.objects.all(), required=False, label="School")


class ExperienceInline(ReadOnlyInline):
    model = ClinicalExperience
    fields = ("protocol", "years", "cases", "verified_on", "withdrawn_at")


@admin.register(Instructor)
class InstructorAdmin(NoInlinesOnAdd, RegistryAdmin):
    list_display = ("name", "school_names")
    list_filter = ("schools",)
    search_fields = ("name", "schools__name")
    fields = ("name", "schools")
    filter_horizontal = ("schools",)
    inlines = (ExperienceInline,)
    action_form = InstructorActionForm
    actions = ("add_to_school",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Instructor]:
        return super().get_queryset(request).prefetch_related("schools")

    @admin.display(description="schools")
    def school_names(self, obj: Instructor) -> str:
        return ", ".join(school.name for school in obj.schools.all())

    def has_change_permission(self, request: HttpRequest, obj: Instructor | None = None) -> bool:
        return False  # rosters grow through the "add to school" action

    def has_roster_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("credentials.change_instructor")

    def save_model(self, request: HttpRequest, obj: Instructor, form: forms.Form, change: bool) -> None:
        data = form.cleaned_data
        created = services.instructor_create(
            actor=request.user, name=data["name"], schools=list(data["schools"])
        )
        self.adopt(obj, created)

    def save_related(self, request: HttpRequest, form: forms.Form, formsets: Any, change: bool) -> None:
        pass  # the roster was set by instructor_create; the inlines are read-only

    @admin.action(description="Add the selected instructors to the chosen school", permissions=["roster"])
    def add_to_school(self, request: HttpRequest, queryset: QuerySet[Instructor]) -> None:
        try:
            school = InstructorActionForm.base_fields["school"].clean(request.POST.get("school"))
        except ValidationError:
            school = None
        if school is None:
            self.message_user(request, "Choose a school next to the action.", messages.ERROR)
            return
        _apply_each(
            self,
            request,
            queryset,
            lambda instructor: services.instructor_add_school(
                actor=request.user, instructor=instructor, school=school
            ),
            f"{{count}} instructor(s) are on the roster of {school.name}.",
        )


class AuthorizationForm(forms.ModelForm):
    class Meta:
        model = SchoolAuthorization
        fields = ("school", "protocol")


@admin.register(SchoolAuthorization)
class SchoolAuthorizationAdmin(WithdrawAction, RegistryAdmin):
    form = AuthorizationForm
    list_display = ("school", "protocol", "granted_at", "withdrawn_at")
    list_filter = (("withdrawn_at", admin.EmptyFieldListFilter), "protocol", "school")
    search_fields = ("school__name", "protocol__slug", "protocol__name")
    list_select_related = ("school", "protocol")
    fields = ("school", "protocol", "granted_at", "withdrawn_at", "withdrawn_reason")
    readonly_fields = ("granted_at", "withdrawn_at", "withdrawn_reason")
    action_form = ReasonActionForm
    actions = ("withdraw",)
    withdrawn_as = "authorization"
    withdrawn_message = "{count} authorisation(s) withdrawn; their certificates are flagged for review."
    # The registry layer swaps in its use case (withdrawal + review events).
    withdraw_one = staticmethod(services.school_authorization_withdraw)

    def has_change_permission(self, request: HttpRequest, obj: SchoolAuthorization | None = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: SchoolAuthorization, form: forms.Form, change: bool
    ) -> None:
        data = form.cleaned_data
        created = services.school_authorization_grant(
            actor=request.user, school=data["school"], protocol=data["protocol"]
        )
        self.adopt(obj, created)

    @admin.action(
        description="Withdraw the selected authorisations (flags their certificates)",
        permissions=["withdraw"],
    )
    def withdraw(self, request: HttpRequest, queryset: QuerySet[SchoolAuthorization]) -> None:
        self.withdraw_each(request, queryset)


class ExperienceForm(forms.ModelForm):
    verified_on = forms.DateField(
        required=False,
        help_text="The date the experience is attested from (today or earlier; empty: today).",
    )

    class Meta:
        model = ClinicalExperience
        fields = ("instructor", "protocol", "years", "cases", "evidence", "verified_on")


@admin.register(ClinicalExperience)
class ClinicalExperienceAdmin(WithdrawAction, RegistryAdmin):
    form = ExperienceForm
    list_display = ("instructor", "protocol", "years", "cases", "verified_on", "withdrawn_at")
    list_filter = (("withdrawn_at", admin.EmptyFieldListFilter), "protocol")
    search_fields = ("instructor__name", "protocol__slug", "protocol__name")
    list_select_related = ("instructor", "protocol")
    autocomplete_fields = ("instructor",)
    action_form = ReasonActionForm
    actions = ("withdraw",)
    withdrawn_as = "experience"
    withdrawn_message = (
        "{count} verification(s) withdrawn; the certificates they underpinned are flagged for review."
    )
    # The registry layer swaps in its use case (withdrawal + review events).
    withdraw_one = staticmethod(services.clinical_experience_withdraw)

    def get_fields(self, request: HttpRequest, obj: ClinicalExperience | None = None) -> list[str]:
        fields = ["instructor", "protocol", "years", "cases", "evidence", "verified_on"]
        if obj:
            fields += ["verified_at", "verified_by", "withdrawn_at", "withdrawn_by", "withdrawn_reason"]
        return fields

    def has_change_permission(self, request: HttpRequest, obj: ClinicalExperience | None = None) -> bool:
        return False  # a verification is a fact: withdraw it and verify again

    def save_model(
        self, request: HttpRequest, obj: ClinicalExperience, form: forms.Form, change: bool
    ) -> None:
        data = form.cleaned_data
        created = services.clinical_experience_verify(
            actor=request.user,
            instructor=data["instructor"],
            protocol=data["protocol"],
            years=data["years"],
            cases=data["cases"],
            evidence=data["evidence"],
            verified_on=data.get("verified_on"),
        )
        self.adopt(obj, created)

    @admin.action(
        description="Withdraw the selected experience (flags the certificates it underpinned)",
        permissions=["withdraw"],
    )
    def withdraw(self, request: HttpRequest, queryset: QuerySet[ClinicalExperience]) -> None:
        self.withdraw_each(request, queryset)


# --- certifications -------------------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    title = "status now"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(CertificationStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Certification]) -> QuerySet[Certification]:
        if self.value() in CertificationStatus.values:
            return queryset.filter(certification_status_q(status=self.value(), at=timezone.now()))
        return queryset


class ModuleCompletionInline(ReadOnlyInline):
    model = ModuleCompletion
    fields = ("kind", "completed_on", "hours", "assessment_passed")
    show_change_link = False


@admin.register(Certification)
class CertificationAdmin(RegistryAdmin):
    list_display = (
        "serial",
        "therapist",
        "protocol",
        "school",
        "instructor",
        "valid_from",
        "expires_at",
        "status_now",
        "review_required",
    )
    list_filter = ("review_required", StatusFilter, "protocol", "school")
    search_fields = ("serial", "therapist__name", "instructor__name", "school__name", "protocol__slug")
    list_select_related = ("therapist", "protocol", "school", "instructor")
    date_hierarchy = "issued_at"
    inlines = (ModuleCompletionInline,)
    action_form = ReasonActionForm
    actions = ("revoke", "clear_review", "attest_scope")

    # The registry layer swaps in its use cases (revoke + booking re-check; attest + the
    # certification.scope_full event to the school and spas).
    revoke_certification = staticmethod(services.certification_revoke)
    scope_attest = staticmethod(services.certification_scope_attest)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued by schools through the API and imports

    def has_change_permission(self, request: HttpRequest, obj: Certification | None = None) -> bool:
        return False  # issued certifications are never edited

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("credentials.change_certification")

    has_review_permission = has_revoke_permission
    has_attest_permission = has_revoke_permission

    @admin.display(description="status")
    def status_now(self, obj: Certification) -> str:
        return CertificationStatus(obj.status_at(timezone.now())).label

    @admin.action(description="Revoke the selected certifications", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Certification]) -> None:
        reason = _reason(self, request)
        if reason is None:
            return
        _apply_each(
            self,
            request,
            queryset,
            lambda certification: self.revoke_certification(
                actor=request.user, certification=certification, reason=reason
            ),
            "{count} certification(s) revoked.",
        )

    @admin.action(
        description="Keep the selected certifications (clear their review flag)", permissions=["review"]
    )
    def clear_review(self, request: HttpRequest, queryset: QuerySet[Certification]) -> None:
        reason = _reason(self, request)
        if reason is None:
            return
        _apply_each(
            self,
            request,
            queryset,
            lambda certification: services.certification_review_clear(
                actor=request.user, certification=certification, reason=reason
            ),
            "{count} certification(s) reviewed and kept.",
        )

    @admin.action(description="Attest supervised sessions (make scope full)", permissions=["attest"])
    def attest_scope(self, request: HttpRequest, queryset: QuerySet[Certification]) -> None:
        """Issue 23: the selected provisional certifications' supervised sessions were done
        outside the registry; each is made full through the attestation service, with the
        reason. Already full, no supervision in the protocol, revoked: reported, unchanged."""
        reason = _reason(self, request)
        if reason is None:
            return
        _apply_each(
            self,
            request,
            queryset,
            lambda certification: self.scope_attest(
                actor=request.user, certification=certification, reason=reason
            ),
            "{count} certification(s) attested: scope full.",
        )


@admin.register(StatusList)
class StatusListAdmin(admin.ModelAdmin):
    """Read-only: the revocation status lists, how full each is and how many bits are set.
    Bits change only through revocation (``certification_revoke``), never by hand."""

    list_display = ("id", "purpose", "size", "indexes_in_use", "revoked", "full", "updated_at", "signed_list")
    list_filter = ("purpose", "full")
    readonly_fields = list_display
    fields = list_display
    ordering = ("created_at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        from django.db.models import Count

        return super().get_queryset(request).annotate(_in_use=Count("certifications"))

    @admin.display(description="indexes in use")
    def indexes_in_use(self, obj: StatusList) -> int:
        return getattr(obj, "_in_use", 0)

    @admin.display(description="revoked (bits set)")
    def revoked(self, obj: StatusList) -> int:
        return int.from_bytes(bytes(obj.bits), "big").bit_count()

    @admin.display(description="signed list")
    def signed_list(self, obj: StatusList) -> str:
        from django.utils.html import format_html

        return format_html('<a href="/api/v1/status-lists/{}/">/api/v1/status-lists/{}/</a>', obj.pk, obj.pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
