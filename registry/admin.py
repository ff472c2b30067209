"""Admin for registry staff. Intakes' conditions and screening answers never appear in a
list (minimum necessary); bookings and decisions are read-only — writes go through the
services (the API and the pages)."""

from django.contrib import admin

from registry.models import AdverseEvent, Booking, Decision, Employment, Membership, Spa


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Spa)
class SpaAdmin(ReadOnlyAdmin):
    list_display = ("name", "jurisdiction", "timezone", "contact_email")
    search_fields = ("name", "contact_email")
    list_filter = ("jurisdiction",)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "role", "spa", "school", "therapist")
    list_filter = ("role",)
    search_fields = ("user__username",)
    list_select_related = ("user", "spa", "school", "therapist")


@admin.register(Employment)
class EmploymentAdmin(ReadOnlyAdmin):
    list_display = ("therapist", "spa", "started_on", "ended_on")
    list_filter = ("spa",)
    search_fields = ("therapist__name", "spa__name")
    list_select_related = ("therapist", "spa")


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    list_display = ("start", "spa", "therapist", "status")
    list_filter = ("status", "spa")
    search_fields = ("therapist__name", "spa__name")
    list_select_related = ("therapist", "spa")
    date_hierarchy = "start"
    # No intake, reasons or case: they can name a client's conditions.
    fields = ("spa", "therapist", "start", "end", "status", "created_at")


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("made_at", "kind", "spa", "therapist", "allowed")
    list_filter = ("allowed", "kind", "spa")
    list_select_related = ("therapist", "spa")
    fields = ("made_at", "kind", "spa", "therapist", "booking", "allowed")


# --- credentials admin, wired to the registry's use cases ----------------------------------
# The credentials admin cannot import this layer; its state-changing actions call swappable
# attributes, pointed here at the use cases that also re-check bookings and tell spas and
# schools (invariants 5 and 7).

from credentials import admin as credentials_admin  # noqa: E402
from credentials.models import Certification, ClinicalExperience, License, SchoolAuthorization  # noqa: E402
from registry.services import credentials as credential_use_cases  # noqa: E402
from registry.services import rechecks  # noqa: E402


def _revoke(*, actor, certification, reason, at=None):
    return credential_use_cases.certification_revoke(
        actor=actor, certification=certification, reason=reason, now=at
    )[0]


def _change_license(*, actor, license, status=None, expires_on=None, reason):
    return rechecks.license_change(
        actor=actor, license=license, status=status, expires_on=expires_on, reason=reason
    )[0]


class CertificationAdmin(credentials_admin.CertificationAdmin):
    revoke_certification = staticmethod(_revoke)
    scope_attest = staticmethod(credential_use_cases.certification_scope_attest)


class LicenseAdmin(credentials_admin.LicenseAdmin):
    change_license = staticmethod(_change_license)


class SchoolAuthorizationAdmin(credentials_admin.SchoolAuthorizationAdmin):
    withdraw_one = staticmethod(credential_use_cases.school_authorization_withdraw)


class ClinicalExperienceAdmin(credentials_admin.ClinicalExperienceAdmin):
    withdraw_one = staticmethod(credential_use_cases.clinical_experience_withdraw)


for _model, _admin_class in (
    (Certification, CertificationAdmin),
    (License, LicenseAdmin),
    (SchoolAuthorization, SchoolAuthorizationAdmin),
    (ClinicalExperience, ClinicalExperienceAdmin),
):
    admin.site.unregister(_model)
    admin.site.register(_model, _admin_class)


def _registry_staff_only(request) -> bool:
    """The admin is for registry staff: an active staff user whose role is registry-admin
    (or a superuser created on the command line). Spa, school and therapist users never enter,
    even if someone set ``is_staff`` on them."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser and not Membership.objects.filter(user_id=user.pk).exists():
        return True
    return Membership.objects.filter(user_id=user.pk, role="registry-admin").exists()


admin.site.has_permission = _registry_staff_only


@admin.register(AdverseEvent)
class AdverseEventAdmin(ReadOnlyAdmin):
    list_display = (
        "reported_at",
        "severity",
        "kind",
        "therapist",
        "protocol",
        "focus_region",
        "focus_minutes",
    )
    list_filter = ("severity", "kind", "protocol")
    list_select_related = ("therapist", "protocol")
    date_hierarchy = "reported_at"
    # No signs, advice or narrative: they describe the client (read in the audited incident review).
    fields = (
        "reported_at",
        "severity",
        "kind",
        "booking",
        "therapist",
        "protocol",
        "focus_region",
        "focus_minutes",
    )
