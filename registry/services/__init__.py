"""Registry services: every write with a rule (see the modules), re-exported here."""

from registry.services.accounts import token_ensure, token_revoke, token_rotate, user_create  # noqa: F401
