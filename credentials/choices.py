from enum import StrEnum

from django.db import models


class LicenseStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class CertificationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NOT_YET_VALID = "not-yet-valid", "Not yet valid"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class IssuanceReasonCode(StrEnum):
    """Why a certification was not issued (stable codes: API.md, "Reason codes")."""

    SCHOOL_NOT_AUTHORIZED = "SCHOOL_NOT_AUTHORIZED"
    INSTRUCTOR_NOT_AT_SCHOOL = "INSTRUCTOR_NOT_AT_SCHOOL"
    INSTRUCTOR_NOT_QUALIFIED = "INSTRUCTOR_NOT_QUALIFIED"
    LICENSE_MISSING = "LICENSE_MISSING"
    LICENSE_INACTIVE = "LICENSE_INACTIVE"
    PREREQUISITE_MISSING = "PREREQUISITE_MISSING"
    MODULE_INCOMPLETE = "MODULE_INCOMPLETE"
