"""Token authentication: the token, its user, the user's membership (role and tenant) and the
membership's spa in ONE prepared statement, so an authenticated request costs one statement
(planned once per connection) before the view does any work.

This is the one place where an API request learns who is asking, and the statement also sets
the caller's row-level security scope for the rest of the request's transaction: the settings
are columns of the same statement (``registry.rls.settings_select_sql``), so they cost no
statement of their own (an inactive user's role is left empty).

Nothing is cached between requests: a revoked or rotated token, a deactivated user or a changed
role is seen by the very next request (tests/api/test_auth_statement.py).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from core.db import prepared_cursor
from core.models import User
from registry import rls
from registry.models import Membership, Spa

_MODELS = ((Token, "tok"), (User, "u"), (Membership, "m"), (Spa, "s"))


def _columns(model) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def _plain(model) -> bool:
    """Every column reaches Python as the driver reads it (no ``from_db_value`` to apply)."""
    return not any(hasattr(field, "from_db_value") for field in model._meta.concrete_fields)


if not all(_plain(model) for model, _ in _MODELS):
    raise ImportError("a field of the authentication models needs a converter: load it through the ORM")

_AUTH_SQL = """
SELECT {columns}, {settings}
  FROM {token} tok
  JOIN {user} u ON u.{user_pk} = tok.user_id
  LEFT JOIN {membership} m ON m.user_id = u.{user_pk}
  LEFT JOIN {spa} s ON s.id = m.spa_id
 WHERE tok.key = %s
""".format(
    columns=", ".join(f'{alias}."{column}"' for model, alias in _MODELS for column in _columns(model)),
    token=Token._meta.db_table,
    user=User._meta.db_table,
    user_pk=User._meta.pk.column,
    membership=Membership._meta.db_table,
    spa=Spa._meta.db_table,
    settings=rls.settings_select_sql(
        role="CASE WHEN u.is_active THEN m.role END", spa="m.spa_id::text", therapist="m.therapist_id::text"
    ),
)


def _split(row: tuple) -> list[tuple[list[str], tuple]]:
    parts, offset = [], 0
    for model, _alias in _MODELS:
        names = _columns(model)
        parts.append((names, row[offset : offset + len(names)]))
        offset += len(names)
    return parts


def token_user(key: str) -> tuple[User, Token] | None:
    """The user and token of ``key`` (``None``: no such token), the user's membership and its
    spa loaded with them (``membership_of`` reads them without a query). One statement."""
    with prepared_cursor() as cursor:
        cursor.execute(_AUTH_SQL, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    (token_names, token_values), (user_names, user_values), (m_names, m_values), (s_names, s_values) = _split(
        row
    )
    token = Token.from_db(DEFAULT_DB_ALIAS, token_names, token_values)
    user = User.from_db(DEFAULT_DB_ALIAS, user_names, user_values)
    membership = None
    if m_values[0] is not None:  # the membership's key: its user
        membership = Membership.from_db(DEFAULT_DB_ALIAS, m_names, m_values)
        spa = Spa.from_db(DEFAULT_DB_ALIAS, s_names, s_values) if s_values[0] is not None else None
        membership._state.fields_cache["spa"] = spa
        membership._state.fields_cache["user"] = user
    user._state.fields_cache["membership"] = membership
    token._state.fields_cache["user"] = user
    rls.adopt(rls.scope_of_membership(membership) if user.is_active else None)
    return user, token


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        found = token_user(key) if isinstance(key, str) and "\x00" not in key else None
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user, token = found
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (user, token)
