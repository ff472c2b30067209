from django.db import models


class Role(models.TextChoices):
    REGISTRY_ADMIN = "registry-admin", "Registry admin"
    SPA_STAFF = "spa-staff", "Spa staff"
    SCHOOL_STAFF = "school-staff", "School staff"
    THERAPIST = "therapist", "Therapist"


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    NEEDS_REASSIGNMENT = "needs-reassignment", "Needs reassignment"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"


# Statuses that hold the therapist's time slot.
ACTIVE_BOOKING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.NEEDS_REASSIGNMENT)


class DecisionKind(models.TextChoices):
    BOOKING = "booking", "Booking attempt"
    RECHECK = "recheck", "Re-check after a change"
    REASSIGNMENT = "reassignment", "Reassignment"


class RosterFinding(models.TextChoices):
    """What a licence roster found besides refused rows (``ImportJob.findings``)."""

    LICENSE_CHANGED = "LICENSE_CHANGED", "Status or expiry set to the roster's"
    NAME_MISMATCH = "NAME_MISMATCH", "The roster's name is not the therapist's: review"
    NOT_ON_ROSTER = "NOT_ON_ROSTER", "A registry licence the roster does not list"


class ImportKind(models.TextChoices):
    """What an import holds (``ImportJob.kind``)."""

    THERAPISTS = "therapists", "Therapists"
    CERTIFICATIONS = "certifications", "Certifications"
    LICENSE_ROSTER = "license-roster", "Licence roster"


class OutcomeSeverity(models.TextChoices):
    """A session outcome's worst sign (``none``: no sign reported)."""

    NONE = "none", "No sign"
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SERIOUS = "serious", "Serious"


class AdverseEventKind(models.TextChoices):
    """How an adverse event came to be: raised by an outcome's moderate or serious signs, or
    reported later (by the spa, the therapist or a registry admin, with a narrative)."""

    OUTCOME = "outcome", "Raised by the session's outcome"
    REPORT = "report", "Reported later"
