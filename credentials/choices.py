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
