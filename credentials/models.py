"""Who is trained in what, by whom: therapists, licences, schools, instructors, certifications."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

from credentials.choices import CertificationStatus, LicenseStatus
from protocols.choices import ModuleKind
from protocols.models import Protocol


class Therapist(models.Model):
    """A massage therapist known to the registry. A licence says they may practise;
    certifications say which protocols they are trained in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class License(models.Model):
    """A licence to practise in one jurisdiction (ISO 3166-2). It counts on a day when its
    status is active and the day lies in ``[valid_from, expires_on]`` (inclusive dates, read in
    the spa's timezone). ``verified_at`` and ``verified_source``: when and against what the
    registry last checked it at the primary source (a licensing board's roster); never
    verified while empty."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="licenses")
    jurisdiction = models.CharField(max_length=10)
    number = models.CharField(max_length=60)
    status = models.CharField(max_length=12, choices=LicenseStatus.choices)
    valid_from = models.DateField()
    expires_on = models.DateField()
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_source = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["jurisdiction", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "number"],
                name="license_number_unique_in_jurisdiction",
                violation_error_message="A licence with this number exists in this jurisdiction.",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gte=models.F("valid_from")),
                name="license_window_ordered",
                violation_error_message="A licence cannot expire before it is valid.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=LicenseStatus.values),
                name="license_status_valid",
                violation_error_message="Unknown licence status.",
            ),
            models.CheckConstraint(
                condition=Q(verified_at__isnull=True, verified_source="")
                | (Q(verified_at__isnull=False) & ~Q(verified_source="")),
                name="license_verification_has_source",
                violation_error_message="A licence verification needs its time and its source.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction} {self.number}"


class School(models.Model):
    """A school that teaches and certifies protocols it is authorised for."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    jurisdiction = models.CharField(max_length=10)
    contact_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SchoolAuthorization(models.Model):
    """The registry's authorisation of a school to certify one protocol, from ``granted_at``
    until ``withdrawn_at``. At most one authorisation of a school for a protocol is open."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="authorizations")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    withdrawn_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["school", "granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "protocol"],
                condition=Q(withdrawn_at__isnull=True),
                name="authorization_one_open_per_school_protocol",
                violation_error_message="The school is already authorised for this protocol.",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=models.F("granted_at")),
                name="authorization_withdrawn_after_granted",
                violation_error_message="An authorisation cannot be withdrawn before it is granted.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id} → {self.protocol_id}"


class Instructor(models.Model):
    """A person who teaches protocols at one or more schools. They may teach a protocol only
    with verified clinical experience in that protocol (see ``ClinicalExperience``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    schools = models.ManyToManyField(School, related_name="instructors", blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ClinicalExperience(models.Model):
    """The registry's verification that an instructor has ``years`` and ``cases`` of clinical
    experience performing one protocol, held from ``verified_on``. Only registry staff verify
    or withdraw it; a withdrawal flags the certifications it underpinned for review."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    instructor = models.ForeignKey(Instructor, on_delete=models.PROTECT, related_name="experience")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    years = models.PositiveSmallIntegerField()
    cases = models.PositiveIntegerField()
    evidence = models.TextField()
    verified_on = models.DateField()
    verified_at = models.DateTimeField()
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    withdrawn_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["instructor", "verified_on"]
        verbose_name_plural = "clinical experience"

    def __str__(self) -> str:
        return f"{self.instructor_id} in {self.protocol_id}"


class StatusPurpose(models.TextChoices):
    """What a set bit in a status list means (Bitstring Status List ``statusPurpose``). Kept
    here, beside its one model, rather than in ``choices.py``."""

    REVOCATION = "revocation", "Revocation"


class StatusList(models.Model):
    """A W3C Bitstring Status List (v1.0): one bit per certification that holds an index in it,
    set when the certification is revoked (``purpose`` revocation). ``bits`` is the raw
    bitstring, ``size`` bits long; index 0 is the left-most bit (the most significant bit of
    the first byte), as the specification orders them. The signed list is served at
    ``/api/v1/status-lists/{id}/`` (see ``credentials.vc.status_list``); 131,072 bits, the
    specification's minimum, so one bit says nothing about whose certificate it is."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=20, choices=StatusPurpose.choices, default=StatusPurpose.REVOCATION)
    size = models.PositiveIntegerField(default=131_072)
    bits = models.BinaryField()
    full = models.BooleanField(
        default=False, help_text="No free index is left: new certifications go to a new list."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=StatusPurpose.values),
                name="status_list_purpose_valid",
                violation_error_message="Unknown status purpose.",
            ),
            models.CheckConstraint(
                condition=Q(size__gte=8),
                name="status_list_size_positive",
                violation_error_message="A status list holds at least 8 bits.",
            ),
            models.CheckConstraint(
                condition=Q(size=Length("bits") * 8),
                name="status_list_bits_match_size",
                violation_error_message="A status list's bits must be exactly its size.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} list {self.id}"


class Certification(models.Model):
    """A therapist's certification in one protocol, issued by a school, taught by an
    instructor, valid over ``[valid_from, expires_at)``. Issued certifications are never edited
    or deleted (a database trigger refuses it): revocation and review are new facts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    serial = models.CharField(max_length=40, unique=True, editable=False)
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="certifications")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="certifications")
    instructor = models.ForeignKey(Instructor, on_delete=models.PROTECT, related_name="certifications")
    taught_on = models.DateField()
    valid_from = models.DateTimeField()
    expires_at = models.DateTimeField()
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoked_reason = models.TextField(blank=True)
    review_required = models.BooleanField(default=False)
    review_reason = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Its bit in a revocation status list, fixed at issuance (in the INSERT: the trigger refuses
    # any later change). Null only for rows issued before status lists existed.
    status_list = models.ForeignKey(
        StatusList,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="certifications",
    )
    status_index = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Provisional scope (issue 23): in a protocol with ``supervised_sessions``, the certification
    # is provisional until ``scope_full_at``; ``supervised_sessions_done`` counts its completed
    # supervised sessions with no moderate or serious adverse event, as of the last completion.
    # Written by the completion of a booking (registry.services.bookings); ``scope_full_at`` also
    # by an attestation (certification_scope_attest) and by grandfathering when the protocol
    # starts asking for supervised sessions (certifications_scope_grandfather).
    supervised_sessions_done = models.PositiveSmallIntegerField(default=0)
    scope_full_at = models.DateTimeField(null=True, blank=True)

    # The only columns an UPDATE may change (the trigger in the migration holds it).
    MUTABLE_FIELDS = (
        "revoked_at",
        "revoked_by_id",
        "revoked_reason",
        "review_required",
        "review_reason",
        "reviewed_at",
        "reviewed_by_id",
        "supervised_sessions_done",
        "scope_full_at",
    )

    class Meta:
        ordering = ["-issued_at"]
        indexes = [
            models.Index(fields=["therapist", "protocol"]),
            models.Index(fields=["school", "protocol"]),
            models.Index(fields=["instructor", "protocol"]),
            models.Index(fields=["expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("valid_from")),
                name="certification_window_ordered",
                violation_error_message="A certification must expire after it becomes valid.",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""),
                name="certification_revocation_has_reason",
                violation_error_message="A revocation needs a reason.",
            ),
            models.UniqueConstraint(
                fields=["status_list", "status_index"],
                name="certification_status_index_unique",
                violation_error_message="Two certifications cannot share a status list index.",
            ),
            models.CheckConstraint(
                condition=Q(status_list__isnull=True, status_index__isnull=True)
                | Q(status_list__isnull=False, status_index__isnull=False),
                name="certification_status_list_and_index_together",
                violation_error_message="A status list index needs its list, and a list an index.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.serial} {self.protocol_id}"

    @staticmethod
    def new_serial() -> str:
        # 128 bits from the OS's CSPRNG: unguessable, URL-safe.
        return secrets.token_urlsafe(16)

    def status_at(self, at) -> str:
        """The status a reader sees at ``at``; revocation wins over the window."""
        if self.revoked_at is not None and self.revoked_at <= at:
            return CertificationStatus.REVOKED
        if at < self.valid_from:
            return CertificationStatus.NOT_YET_VALID
        if at >= self.expires_at:
            return CertificationStatus.EXPIRED
        return CertificationStatus.ACTIVE


class ModuleCompletion(models.Model):
    """The therapist's completion of one module of the certification's protocol: when, how
    many hours, and whether the assessment was passed. Part of the issued record: never
    edited or deleted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    certification = models.ForeignKey(Certification, on_delete=models.PROTECT, related_name="modules")
    kind = models.CharField(max_length=20, choices=ModuleKind.choices)
    completed_on = models.DateField()
    hours = models.DecimalField(max_digits=6, decimal_places=2)
    assessment_passed = models.BooleanField()

    class Meta:
        ordering = ["certification", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["certification", "kind"],
                name="module_completion_one_per_kind",
                violation_error_message="One completion per module kind.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.certification_id}: {self.kind}"
