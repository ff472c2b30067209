"""The clinical catalog: what a condition needs and what stops a booking."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

from protocols.choices import BodyRegion, ModuleKind, ScreeningAction, SignSeverity


class Protocol(models.Model):
    """A specific treatment protocol a therapist can be certified in. Its training has three
    modules (one per kind); a certification lasts ``validity_months``; one session may hold
    at most ``max_focus_minutes`` of focused work on its region (past that, overstimulation).
    A certification in it is provisional for its first ``supervised_sessions`` sessions, each
    one supervised by a therapist fully certified in it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=20, choices=BodyRegion.choices)
    max_focus_minutes = models.PositiveSmallIntegerField()
    validity_months = models.PositiveSmallIntegerField()
    min_instructor_years = models.PositiveSmallIntegerField()
    min_instructor_cases = models.PositiveIntegerField()
    prerequisites = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="required_by")
    source = models.TextField()
    version = models.CharField(max_length=40, default="1")
    # Provisional scope (issue 23): a new certification in this protocol is provisional until
    # its therapist has completed this many supervised sessions under it (0: full at once).
    supervised_sessions = models.PositiveSmallIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(supervised_sessions__gte=0, supervised_sessions__lte=100),
                name="protocol_supervised_sessions_range",
                violation_error_message="Supervised sessions are 0 to 100.",
            ),
            models.CheckConstraint(
                condition=models.Q(max_focus_minutes__gt=0),
                name="protocol_focus_minutes_positive",
                violation_error_message="The focus limit must be a positive number of minutes.",
            ),
            models.CheckConstraint(
                condition=models.Q(validity_months__gt=0),
                name="protocol_validity_positive",
                violation_error_message="The validity must be a positive number of months.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Module(models.Model):
    """One of the three parts of a protocol's training: the fundamentals, the critical details
    that produce results, and how not to cause harm. Every protocol has exactly one of each
    (a deferred database trigger checks it at commit)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="modules")
    kind = models.CharField(max_length=20, choices=ModuleKind.choices)
    title = models.CharField(max_length=200)
    min_hours = models.DecimalField(max_digits=6, decimal_places=2)

    class Meta:
        ordering = ["protocol", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "kind"],
                name="module_one_per_kind",
                violation_error_message="A protocol has one module of each kind.",
            ),
            models.CheckConstraint(
                condition=models.Q(min_hours__gt=0),
                name="module_min_hours_positive",
                violation_error_message="A module's minimum hours must be positive.",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ModuleKind.values),
                name="module_kind_valid",
                violation_error_message="Unknown module kind.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol.slug}: {self.kind}"


class Condition(models.Model):
    """A client condition, coded in ICD-10-CM where a code exists (else a local code such as
    ``WELLNESS``). Its requirement groups say which protocols a therapist must hold to treat it:
    every group must be met, a group by any one of its protocols; no groups, no protocol."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=20, unique=True)
    code_system = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=20, choices=BodyRegion.choices)
    source = models.TextField()
    version = models.CharField(max_length=40, default="1")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RequirementGroup(models.Model):
    """One group of a condition's requirements: met by a valid certification in any one of
    its protocols."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="requirement_groups")
    position = models.PositiveSmallIntegerField()
    protocols = models.ManyToManyField(Protocol, related_name="requirement_groups")

    class Meta:
        ordering = ["condition", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["condition", "position"],
                name="requirement_group_position_unique",
                violation_error_message="Two requirement groups at the same position.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.condition_id} group {self.position}"


class ScreeningQuestion(models.Model):
    """A red-flag question asked at intake. A yes means no massage, only referral: emergency
    care (never clearable) or a physician first (clearable by a recorded clearance).
    Empty ``regions``: asked at every intake."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=40, unique=True)
    text = models.TextField()
    action = models.CharField(max_length=20, choices=ScreeningAction.choices)
    regions = ArrayField(
        models.CharField(max_length=20, choices=BodyRegion.choices), default=list, blank=True
    )
    source = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=ScreeningAction.values),
                name="screening_action_valid",
                violation_error_message="Unknown screening action.",
            )
        ]

    def __str__(self) -> str:
        return self.code


class CatalogVersion(models.Model):
    """The catalog's version: one row whose number changes (to a fresh value of a sequence,
    never reused, also after a rollback) with every statement that writes a catalog table
    (protocols, conditions, requirement groups and their protocols, screening questions) —
    statement triggers set it, so no write path can forget. A process may keep a copy of the
    catalog and know it is current by reading this one value with its own query."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    version = models.BigIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="catalog_version_single_row")]

    def __str__(self) -> str:
        return f"catalog version {self.version}"


class OutcomeSign(models.Model):
    """A sign asked about after every session (dizziness, pain worse than before, new numbness,
    any change in bladder or bowel control...): how much it matters (``severity``), what the
    client is told to do in plain words (``instruction``), and where the rule comes from.
    Every sign is asked every time, in ``position`` order."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=40, unique=True)
    label = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=SignSeverity.choices)
    instruction = models.TextField()
    source = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__in=SignSeverity.values),
                name="outcome_sign_severity_valid",
                violation_error_message="Unknown sign severity.",
            ),
            models.CheckConstraint(
                condition=~models.Q(instruction=""),
                name="outcome_sign_has_instruction",
                violation_error_message="A sign needs an instruction for the client.",
            ),
        ]

    def __str__(self) -> str:
        return self.code
