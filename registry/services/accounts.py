"""Users, their one role, and their API tokens.

A user has exactly one role (``registry.Membership``) bound to the tenant the role needs:
spa staff to a spa, school staff to a school, a therapist user to a therapist, registry
admins to none. API clients authenticate with a DRF token (one per user); rotating it makes
the old one stop working at once.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from core.errors import DomainError
from core.models import User
from core.services import audit_record
from credentials.models import School, Therapist
from registry.choices import Role
from registry.models import Membership, Spa

__all__ = ["ROLE_TENANT", "token_ensure", "token_revoke", "token_rotate", "user_create"]

# The tenant field each role is bound to (None: bound to no tenant).
ROLE_TENANT: dict[str, str | None] = {
    Role.REGISTRY_ADMIN: None,
    Role.SPA_STAFF: "spa",
    Role.SCHOOL_STAFF: "school",
    Role.THERAPIST: "therapist",
}
_TENANT_FIELDS = ("spa", "school", "therapist")


def _tenant_errors(role: str, tenants: dict[str, object | None]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if role not in ROLE_TENANT:
        errors["role"] = [f"Unknown role {role!r}; one of: {', '.join(Role.values)}."]
        return errors
    needed = ROLE_TENANT[role]
    for name in _TENANT_FIELDS:
        given = tenants[name] is not None
        if name == needed and not given:
            errors[name] = [f"A {role} user needs a {name}."]
        elif name != needed and given:
            errors[name] = [
                f"A {role} user is bound to {'no tenant' if needed is None else 'a ' + needed}, not a {name}."
            ]
    return errors


def _username_errors(username: str) -> list[str]:
    field = User._meta.get_field("username")
    try:
        field.clean(username, None)
    except DjangoValidationError as exc:
        return list(exc.messages)
    if User.objects.filter(username__iexact=username).exists():
        return ["A user with this username already exists."]
    return []


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None = None,
    role: str,
    spa: Spa | None = None,
    school: School | None = None,
    therapist: Therapist | None = None,
) -> tuple[User, str]:
    """Create a user with one role bound to the tenant that role needs, and an API token.

    With a password, Django's password validators apply; without one, the user can only use
    the API token (the password is unusable). Usernames are unique ignoring case. Returns the
    user and the token key; writes one audit event.
    """
    errors: dict[str, list[str]] = {}
    if messages := _username_errors(username):
        errors["username"] = messages
    errors.update(_tenant_errors(role, {"spa": spa, "school": school, "therapist": therapist}))
    if password is not None:
        try:
            validate_password(password, user=User(username=username))
        except DjangoValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise DomainError("The user could not be created.", errors=errors)

    # Registry admins work in the Django admin too; no other role may enter it.
    is_admin = role == Role.REGISTRY_ADMIN
    user = User(username=username, is_staff=is_admin, is_superuser=is_admin)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    try:
        with transaction.atomic():  # a concurrent create of the same name loses here
            user.save()
    except IntegrityError:
        raise DomainError(
            "The user could not be created.",
            errors={"username": ["A user with this username already exists."]},
        ) from None
    Membership.objects.create(user=user, role=role, spa=spa, school=school, therapist=therapist)
    token = Token.objects.create(user=user)
    audit_record(
        actor=actor,
        action="user.created",
        obj=user,
        after={
            "username": user.username,
            "role": role,
            "spa": str(spa.pk) if spa else None,
            "school": str(school.pk) if school else None,
            "therapist": str(therapist.pk) if therapist else None,
            "password": "set" if password is not None else "unusable",
        },
    )
    return user, token.key


@transaction.atomic
def token_rotate(*, user: User) -> str:
    """Replace the user's API token with a new one; the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit_record(actor=user, action="token.rotated", obj=user)
    return token.key


@transaction.atomic
def token_revoke(*, user: User) -> None:
    """Delete the user's API token (they may rotate to get a new one while signed in)."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        audit_record(actor=user, action="token.revoked", obj=user)


@transaction.atomic
def token_ensure(*, user: User, actor: User | None = None) -> str:
    """The user's current API token, creating one if they have none."""
    token, created = Token.objects.get_or_create(user=user)
    if created:
        audit_record(actor=actor, action="token.issued", obj=user)
    return token.key
