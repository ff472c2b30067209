"""Add a new signing key: it signs from now on; older keys stay published for verifying."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from credentials.vc import keys


class Command(BaseCommand):
    help = (
        "Create a new Ed25519 signing key in REGISTRY_SIGNING_KEYS. New credentials carry its kid; "
        "credentials signed by older keys still verify (every public key stays in the JWKS)."
    )
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        key = keys.rotate()
        published = len(keys.load_keys())
        self.stdout.write(f"new signing key {key.kid} ({key.path}); {published} key(s) published")
        self.stdout.write(key.kid)
