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
