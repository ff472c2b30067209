from django.db import models


class BodyRegion(models.TextChoices):
    HEAD = "head", "Head"
    CERVICAL = "cervical", "Cervical spine (neck)"
    THORACIC = "thoracic", "Thoracic spine (upper back)"
    LUMBAR = "lumbar", "Lumbar spine (low back)"
    PELVIS = "pelvis", "Pelvis"
    SHOULDER = "shoulder", "Shoulder"
    UPPER_LIMB = "upper-limb", "Upper limb"
    LOWER_LIMB = "lower-limb", "Lower limb"
    ABDOMEN = "abdomen", "Abdomen"
    WHOLE_BODY = "whole-body", "Whole body"


class ModuleKind(models.TextChoices):
    FUNDAMENTALS = "fundamentals", "Fundamentals"
    CRITICAL_DETAILS = "critical-details", "Critical details"
    HARM_AVOIDANCE = "harm-avoidance", "How not to cause harm"


class ScreeningAction(models.TextChoices):
    REFER_EMERGENCY = "refer-emergency", "Emergency care now"
    REFER_PHYSICIAN = "refer-physician", "See a physician first"


class SignSeverity(models.TextChoices):
    """How much a sign noticed after a session matters: ``mild`` is recorded and watched,
    ``moderate`` raises an adverse event, ``serious`` raises one and puts the certifications the
    session rested on under registry review."""

    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SERIOUS = "serious", "Serious"


SEVERITY_RANK = {SignSeverity.MILD.value: 1, SignSeverity.MODERATE.value: 2, SignSeverity.SERIOUS.value: 3}
