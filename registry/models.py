"""Spas, who works where, client intakes, bookings and the decision log."""

import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Func, Q

from credentials.models import Certification, School, Therapist
from protocols.choices import BodyRegion, SignSeverity
from protocols.models import Condition, Protocol
from registry.choices import (
    ACTIVE_BOOKING_STATUSES,
    AdverseEventKind,
    BookingStatus,
    DecisionKind,
    ImportKind,
    OutcomeSeverity,
    Role,
)


class Spa(models.Model):
    """A spa or clinic that books therapists for clients. Licences count in its jurisdiction;
    dates (licence days, employment days) are read in its timezone."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    jurisdiction = models.CharField(max_length=10)
    timezone = models.CharField(max_length=64, default="UTC")
    contact_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                # As licences are matched on it: an ISO 3166-2 code in capitals (US-CA).
                condition=Q(jurisdiction__regex=r"^[A-Z]{2}-[A-Z0-9]{1,3}$"),
                name="spa_jurisdiction_iso_3166_2",
                violation_error_message="A spa's jurisdiction is an ISO 3166-2 code in capitals, e.g. US-CA.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's one role, and the spa, school or therapist it is bound to (registry admins
    are bound to none)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="membership",
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    spa = models.ForeignKey(Spa, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    therapist = models.ForeignKey(
        Therapist, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role=Role.REGISTRY_ADMIN, spa__isnull=True, school__isnull=True, therapist__isnull=True)
                    | Q(role=Role.SPA_STAFF, spa__isnull=False, school__isnull=True, therapist__isnull=True)
                    | Q(
                        role=Role.SCHOOL_STAFF, spa__isnull=True, school__isnull=False, therapist__isnull=True
                    )
                    | Q(role=Role.THERAPIST, spa__isnull=True, school__isnull=True, therapist__isnull=False)
                ),
                name="membership_role_matches_tenant",
                violation_error_message=(
                    "Spa staff need a spa, school staff a school, a therapist user a therapist; "
                    "registry admins none."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Employment(models.Model):
    """A therapist working at a spa over ``[started_on, ended_on]`` (inclusive days in the
    spa's timezone; open-ended while ``ended_on`` is null). One open employment per pair."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    spa = models.ForeignKey(Spa, on_delete=models.PROTECT, related_name="employments")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="employments")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["spa", "started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["spa", "therapist"],
                condition=Q(ended_on__isnull=True),
                name="employment_one_open_per_spa_therapist",
                violation_error_message="The therapist is already employed at this spa.",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="employment_window_ordered",
                violation_error_message="An employment cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.therapist_id} at {self.spa_id}"


class Intake(models.Model):
    """What a spa recorded about a client before a session: conditions, red-flag screening
    answers and clearances, pain score. Minimum necessary: the client is a spa-local reference,
    no name. It serves sessions starting before ``valid_until``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    spa = models.ForeignKey(Spa, on_delete=models.PROTECT, related_name="intakes")
    client_ref = models.CharField(max_length=64)
    conditions = models.ManyToManyField(Condition, related_name="+")
    focus_regions = ArrayField(
        models.CharField(max_length=20, choices=BodyRegion.choices), default=list, blank=True
    )
    screening = models.JSONField(default=dict)  # {question_code: bool}
    clearances = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    pain_score = models.PositiveSmallIntegerField()
    referral = models.JSONField(null=True, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    valid_until = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pain_score__lte=10),
                name="intake_pain_score_0_10",
                violation_error_message="The pain score is 0 to 10.",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("recorded_at")),
                name="intake_valid_after_recorded",
                violation_error_message="An intake must be valid after it is recorded.",
            ),
        ]

    def __str__(self) -> str:
        return f"intake {self.client_ref} ({self.recorded_at:%Y-%m-%d})"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Booking(models.Model):
    """A session of a client (an intake) with a therapist at a spa over ``[start, end)``.
    Confirmed only when the engine allowed it; ``confirmed`` and ``needs-reassignment``
    bookings hold the therapist's slot, and two of them never overlap (exclusion constraint)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    spa = models.ForeignKey(Spa, on_delete=models.PROTECT, related_name="bookings")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="bookings")
    # Issue 23: the therapist supervising a session that rests on a provisional certification
    # (None: unsupervised). The supervisor's slot is held too (``SlotHold``).
    supervisor = models.ForeignKey(
        Therapist, null=True, blank=True, on_delete=models.PROTECT, related_name="supervised_bookings"
    )
    intake = models.ForeignKey(Intake, on_delete=models.PROTECT, related_name="bookings")
    start = models.DateTimeField()
    end = models.DateTimeField()
    focus_region = models.CharField(max_length=20, choices=BodyRegion.choices, null=True, blank=True)
    focus_minutes = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=20, choices=BookingStatus.choices)
    reasons = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    suggested_therapists = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["spa", "start"]),
            models.Index(fields=["therapist", "start"]),
            models.Index(
                fields=["supervisor", "start"],
                condition=Q(supervisor__isnull=False),
                name="booking_supervisor_start",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(supervisor__isnull=True) | ~Q(supervisor=models.F("therapist")),
                name="booking_supervisor_not_therapist",
                violation_error_message="A therapist cannot supervise their own session.",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="booking_ends_after_start",
                violation_error_message="A booking must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=BookingStatus.values),
                name="booking_status_valid",
                violation_error_message="Unknown booking status.",
            ),
            models.CheckConstraint(
                condition=Q(focus_region__isnull=False) | Q(focus_minutes=0),
                name="booking_focus_minutes_need_region",
                violation_error_message="Focus minutes need a focus region.",
            ),
            ExclusionConstraint(
                name="booking_therapist_no_overlap",
                expressions=[
                    ("therapist", RangeOperators.EQUAL),
                    (TsTzRange("start", "end", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=[s.value for s in ACTIVE_BOOKING_STATUSES]),
                violation_error_message="The therapist already has a booking in this slot.",
            ),
        ]

    def __str__(self) -> str:
        return f"booking {self.start:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class SlotHold(models.Model):
    """A person's time held by a slot-holding booking: one row for its therapist and, for a
    supervised session, one for its supervisor. Written only by a database trigger on
    ``registry_booking`` (migration 0012), never by Python: a booking that holds a slot
    (confirmed, needs-reassignment) has exactly its rows. The exclusion constraint on the
    person and the time range is what makes "nobody is in two sessions at once" hold in the
    database, whether they treat or supervise."""

    id = models.BigAutoField(primary_key=True)
    booking = models.ForeignKey("Booking", on_delete=models.CASCADE, related_name="+")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="+")
    supervising = models.BooleanField()
    start = models.DateTimeField()
    end = models.DateTimeField()

    class Meta:
        constraints = [
            ExclusionConstraint(
                name="slothold_person_no_overlap",
                expressions=[
                    ("therapist", RangeOperators.EQUAL),
                    (TsTzRange("start", "end", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                violation_error_message="This therapist is already treating or supervising in this slot.",
            ),
            models.UniqueConstraint(
                fields=["booking", "therapist"],
                name="slothold_one_per_booking_person",
                violation_error_message="One hold per person and booking.",
            ),
        ]

    def __str__(self) -> str:
        return f"hold {self.therapist_id} {self.start:%Y-%m-%d %H:%M}"


class Decision(models.Model):
    """One eligibility decision: a booking attempt, a re-check after a change, or a
    reassignment. Append-only (a database trigger refuses UPDATE and DELETE): the record of
    why a booking was allowed or refused cannot be rewritten."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    made_at = models.DateTimeField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    spa = models.ForeignKey(Spa, on_delete=models.PROTECT, related_name="decisions")
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="+")
    intake = models.ForeignKey(Intake, on_delete=models.PROTECT, related_name="+")
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    case = models.JSONField(encoder=DjangoJSONEncoder)
    allowed = models.BooleanField()
    reasons = models.JSONField(default=list)
    warnings = models.JSONField(default=list)

    class Meta:
        ordering = ["made_at"]
        indexes = [
            models.Index(fields=["spa", "made_at"]),
            # the refusals, for the coverage reports (a small part of the log)
            models.Index(fields=["spa", "made_at"], condition=Q(allowed=False), name="decision_refused_idx"),
        ]

    def __str__(self) -> str:
        return f"decision {self.made_at:%Y-%m-%d %H:%M} allowed={self.allowed}"


class SessionCertification(models.Model):
    """A certification a completed session rested on: for each requirement group of the
    intake's conditions, the certification that met it over the whole session (the
    longest-lasting valid one, as the engine reads it). Written when the booking is completed;
    append-only (a database trigger refuses UPDATE and DELETE). A session counts in the safety
    record of its therapist under the protocols of these rows."""

    id = models.BigAutoField(primary_key=True)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="session_certifications")
    certification = models.ForeignKey(Certification, on_delete=models.PROTECT, related_name="+")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["booking", "id"]
        indexes = [models.Index(fields=["protocol", "booking"])]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "certification"],
                name="session_certification_once",
                violation_error_message="The session already rests on this certification.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.booking_id} rested on {self.certification_id}"


class SessionOutcome(models.Model):
    """How the client was after a completed session, recorded once (within 72 hours of its
    end) by the spa's staff or the assigned therapist: the pain score after (the intake's is the
    before) and the signs asked every time — ``signs`` holds those present, ``asked`` every one
    asked. ``severity`` is the worst sign's; ``advice`` what the client was told, as the catalog
    said it then. Append-only (a database trigger refuses UPDATE and DELETE); one per booking."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="outcome")
    pain_before = models.PositiveSmallIntegerField()
    pain_after = models.PositiveSmallIntegerField()
    pain_worse = models.BooleanField()
    signs = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    asked = ArrayField(models.CharField(max_length=40), default=list)
    severity = models.CharField(max_length=10, choices=OutcomeSeverity.choices)
    advice = models.JSONField(default=list)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pain_before__lte=10, pain_after__lte=10),
                name="session_outcome_pain_0_10",
                violation_error_message="The pain score is 0 to 10.",
            ),
            models.CheckConstraint(
                condition=Q(pain_after__lte=models.F("pain_before")) | Q(pain_worse=True),
                name="session_outcome_higher_pain_is_worse",
                violation_error_message="A higher pain score after the session is pain worse than before.",
            ),
            models.CheckConstraint(
                condition=Q(severity__in=OutcomeSeverity.values),
                name="session_outcome_severity_valid",
                violation_error_message="Unknown outcome severity.",
            ),
        ]

    def __str__(self) -> str:
        return f"outcome of {self.booking_id} ({self.severity})"


class AdverseEvent(models.Model):
    """Something that went wrong after a session: raised by an outcome's moderate or serious
    signs, or reported later with a narrative. Linked to the booking, its therapist, the
    certifications the session rested on, its protocol (the one on the session's focus region,
    where one is), focus region and minutes. A ``serious`` one put those certifications under
    registry review in the same transaction. Append-only (a database trigger refuses UPDATE and
    DELETE)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="adverse_events")
    outcome = models.ForeignKey(
        SessionOutcome, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    kind = models.CharField(max_length=10, choices=AdverseEventKind.choices)
    severity = models.CharField(max_length=10, choices=SignSeverity.choices)
    signs = ArrayField(models.CharField(max_length=40), default=list)
    advice = models.JSONField(default=list)
    narrative = models.TextField(blank=True)
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="adverse_events")
    protocol = models.ForeignKey(Protocol, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    focus_region = models.CharField(max_length=20, choices=BodyRegion.choices, null=True, blank=True)
    focus_minutes = models.PositiveSmallIntegerField(default=0)
    certifications = models.ManyToManyField(Certification, blank=True, related_name="adverse_events")
    reported_at = models.DateTimeField()
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["reported_at", "id"]
        indexes = [
            models.Index(fields=["severity", "reported_at"]),
            models.Index(fields=["therapist", "reported_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=SignSeverity.values),
                name="adverse_event_severity_valid",
                violation_error_message="Unknown adverse event severity.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AdverseEventKind.values),
                name="adverse_event_kind_valid",
                violation_error_message="Unknown adverse event kind.",
            ),
            models.CheckConstraint(
                condition=Q(kind=AdverseEventKind.OUTCOME, outcome__isnull=False)
                | (Q(kind=AdverseEventKind.REPORT) & ~Q(narrative="")),
                name="adverse_event_has_outcome_or_narrative",
                violation_error_message=(
                    "An adverse event comes from an outcome, or is reported with a narrative."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(signs=[]),
                name="adverse_event_names_a_sign",
                violation_error_message="An adverse event names at least one sign.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity} adverse event {self.booking_id}"


class WebhookSubscription(models.Model):
    """A spa's or a school's endpoint for events about it, signed with ``secret``
    (HMAC-SHA256). ``events`` lists the event types wanted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    spa = models.ForeignKey(Spa, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    events = ArrayField(models.CharField(max_length=60), default=list)
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(spa__isnull=False, school__isnull=True)
                | Q(spa__isnull=True, school__isnull=False),
                name="webhook_belongs_to_spa_or_school",
                violation_error_message="A webhook belongs to one spa or one school.",
            )
        ]

    def __str__(self) -> str:
        return self.url

    @property
    def audience(self) -> str:
        return f"spa:{self.spa_id}" if self.spa_id else f"school:{self.school_id}"


class Delivery(models.Model):
    """One event to one receiver (a webhook or a contact e-mail address), delivered at least
    once: retried with exponential back-off and jitter until it succeeds."""

    class Channel(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        EMAIL = "email", "E-mail"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey("core.OutboxEvent", on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subscription = models.ForeignKey(
        WebhookSubscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    email = models.EmailField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscription"],
                condition=Q(subscription__isnull=False),
                name="delivery_once_per_event_and_webhook",
            ),
            models.UniqueConstraint(
                fields=["event", "email"],
                condition=Q(channel="email"),
                name="delivery_once_per_event_and_email",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True),
                name="delivery_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event_id}"


class DeliveryAttempt(models.Model):
    """One try at a delivery and what the receiver answered. Append-only."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True)
    error = models.TextField(blank=True)
    succeeded = models.BooleanField()

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"attempt {self.delivery_id} {self.status_code}"


class ExpiryReminder(models.Model):
    """That a reminder went out for one credential, one threshold (days ahead) and one expiry:
    each is raised once. A renewal moves the expiry, so the next approach reminds again."""

    class Kind(models.TextChoices):
        CERTIFICATION = "certification", "Certification"
        LICENSE = "license", "Licence"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.UUIDField()
    threshold_days = models.PositiveSmallIntegerField()
    expires = models.DateTimeField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "threshold_days", "expires"],
                name="expiry_reminder_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} -{self.threshold_days}d"


class ImportJob(models.Model):
    """A batch (therapists, certifications of one school, or a licensing board's roster of one
    jurisdiction) processed row by row through the same services as the API; its report names
    every refused row and why. A roster's ``findings`` name what it changed, the names that
    did not match (for review) and the registry's licences it did not list."""

    Kind = ImportKind

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    jurisdiction = models.CharField(max_length=10, blank=True, help_text="A roster's jurisdiction.")
    source = models.CharField(max_length=200, blank=True, help_text="The file's name, as uploaded.")
    content = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list)
    findings = models.JSONField(default=list)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ImportKind.values),
                name="import_kind_valid",
                violation_error_message="Unknown import kind.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="license-roster") | ~Q(jurisdiction=""),
                name="import_roster_has_jurisdiction",
                violation_error_message="A licence roster is of one jurisdiction.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="certifications") | Q(school__isnull=False),
                name="import_certifications_have_school",
                violation_error_message="Certifications are imported for one school.",
            ),
        ]

    def __str__(self) -> str:
        return f"import {self.kind} {self.status}"
