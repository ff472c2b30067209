"""``issue_token --username NAME --role ROLE [--spa ID|--school ID|--therapist ID]``.

Creates the user (through ``registry.services.accounts.user_create``) when there is none
with that name, and prints the user's API token as the last line; an existing user's
current token is reused (one is created if they have none). For an existing user the role
(and a tenant, when given) must be the user's: the command never changes a role.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.models import User
from credentials.models import School, Therapist
from registry.choices import Role
from registry.models import Membership, Spa
from registry.services.accounts import token_ensure, user_create

_TENANTS = {"spa": Spa, "school": School, "therapist": Therapist}


class Command(BaseCommand):
    help = "Create a user with one role if needed and print their API token (last line)."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        tenant = parser.add_mutually_exclusive_group()
        tenant.add_argument("--spa", metavar="ID", help="the spa of a spa-staff user")
        tenant.add_argument("--school", metavar="ID", help="the school of a school-staff user")
        tenant.add_argument("--therapist", metavar="ID", help="the therapist of a therapist user")

    def handle(self, *args, **options):
        username, role = options["username"], options["role"]
        tenants = {name: self._load(name, options[name]) for name in _TENANTS}

        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            try:
                user, token = user_create(actor=None, username=username, role=role, **tenants)
            except DomainError as exc:
                raise CommandError(_describe(exc)) from exc
            self.stdout.write(f"created user {user.username} ({role})")
        else:
            self._check_matches(user, role, tenants)
            token = token_ensure(user=user)
            self.stdout.write(f"user {user.username} ({role}) exists; its token:")
        self.stdout.write(token)

    @staticmethod
    def _load(name: str, value: str | None):
        if value is None:
            return None
        try:
            return _TENANTS[name].objects.get(pk=value)
        except (_TENANTS[name].DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"No {name} with id {value!r}.") from None

    @staticmethod
    def _check_matches(user: User, role: str, tenants: dict) -> None:
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            raise CommandError(f"User {user.username} exists but has no role; give them one in the admin.")
        # A tenant given must be the user's; one left out is not checked.
        mismatched = membership.role != role or any(
            obj is not None and getattr(membership, f"{name}_id") != obj.pk for name, obj in tenants.items()
        )
        if mismatched:
            bound = next(
                (
                    f" of {name} {getattr(membership, f'{name}_id')}"
                    for name in _TENANTS
                    if getattr(membership, f"{name}_id")
                ),
                "",
            )
            raise CommandError(
                f"User {user.username} exists as {membership.role}{bound}; "
                "not issuing a token for another role or tenant."
            )


def _describe(exc: DomainError) -> str:
    lines = [exc.detail]
    lines += [f"  {field}: {' '.join(messages)}" for field, messages in exc.errors.items()]
    return "\n".join(lines)
