"""Revocation everyone can see: W3C Bitstring Status Lists (v1.0).

Every certification holds one bit in a revocation list (``StatusList``), given at issuance:
``status_list_allocate`` picks an index at random among the free ones of the current list (so
an index says nothing about when, or in what order, certificates were issued) and opens a new
list when one is full. ``status_list_revoke`` sets the bit, in the revocation's transaction,
under a row lock on the list. The list is published as a signed ``BitstringStatusListCredential``
at ``/api/v1/status-lists/{id}/``; each credential names its list and index in
``credentialStatus``, and the verifier (``credentials.vc.jws``) reads the bit.

Why the index is chosen before the certification row exists: issued certifications are
append-only (a trigger refuses any UPDATE but revocation and review), so the list and index are
written in the INSERT itself and can never change afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from credentials.models import Certification, StatusList, StatusPurpose
from credentials.vc import bitstring
from credentials.vc.jsonld import STATUS_LIST_CONTEXT
from credentials.vc.jws import sign_credential

STATUS_LIST_PATH = "/api/v1/status-lists/{id}/"
DEFAULT_SIZE = bitstring.MIN_ENTRIES
#: Random candidates tried at once before the exhaustive search for a free index.
_CANDIDATES = 64
# Serialises opening a new list (pg_advisory_xact_lock key; any constant unique to this use).
_NEW_LIST_LOCK = 0x5354_4C53  # "STLS"
_random = secrets.SystemRandom()


def status_list_url(status_list_id: uuid.UUID | str) -> str:
    """Where the signed list is published (the ``statusListCredential`` of every entry)."""
    return settings.REGISTRY_BASE_URL + STATUS_LIST_PATH.format(id=status_list_id)


def status_list_id_from_url(url: str) -> uuid.UUID | None:
    """The id of one of this registry's lists from its URL; None for any other URL."""
    pattern = re.escape(settings.REGISTRY_BASE_URL + STATUS_LIST_PATH).replace(
        re.escape("{id}"), r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    )
    match = re.fullmatch(pattern, url) if isinstance(url, str) else None
    return uuid.UUID(match["id"]) if match else None


def credential_status(certification: Certification) -> dict[str, str] | None:
    """The credential's ``credentialStatus`` (a ``BitstringStatusListEntry``); None for a
    certification issued before status lists existed."""
    if certification.status_list_id is None or certification.status_index is None:
        return None
    url = status_list_url(certification.status_list_id)
    return {
        "id": f"{url}#{certification.status_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": StatusPurpose.REVOCATION.value,
        "statusListIndex": str(certification.status_index),
        "statusListCredential": url,
    }


# --- writes (inside the caller's transaction) ----------------------------------------------------


def _current_list(size: int) -> StatusList:
    """The open revocation list, locked until the caller's transaction ends; a new one if none."""

    def open_list() -> StatusList | None:
        return (
            StatusList.objects.select_for_update()
            .filter(purpose=StatusPurpose.REVOCATION, full=False)
            .order_by("created_at", "id")
            .defer("bits")
            .first()
        )

    current = open_list()
    if current is not None:
        return current
    with connection.cursor() as cursor:  # two first issuances must not open two lists
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_NEW_LIST_LOCK])
    current = open_list()
    if current is not None:
        return current
    return StatusList.objects.create(purpose=StatusPurpose.REVOCATION, size=size, bits=bitstring.empty(size))


def _free_index(status_list: StatusList) -> int | None:
    """A random index no certification holds in ``status_list``, or None when it is full."""
    size = status_list.size
    candidates = _random.sample(range(size), min(_CANDIDATES, size))
    taken = set(
        Certification.objects.filter(status_list=status_list, status_index__in=candidates).values_list(
            "status_index", flat=True
        )
    )
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    # Nearly full: pick at random among every free index.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT i FROM generate_series(0, %s - 1) AS i
            WHERE NOT EXISTS (
                SELECT 1 FROM {Certification._meta.db_table} c
                WHERE c.status_list_id = %s AND c.status_index = i
            )
            ORDER BY random() LIMIT 1
            """,  # noqa: S608 — the table name is the model's own, the values are parameters
            [size, status_list.pk],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def status_list_allocate(*, size: int = DEFAULT_SIZE) -> tuple[StatusList, int]:
    """A revocation list and a free index in it, chosen at random among the free ones, for the
    certification about to be inserted. Call it inside the issuing transaction, just before the
    INSERT: the list stays locked until that transaction ends, so two issuances never pick the
    same index (the unique constraint on the certification holds it anyway). A full list is
    marked full and a new one opened. ``size`` applies only to a list opened now."""
    while True:
        current = _current_list(size)
        index = _free_index(current)
        if index is not None:
            return current, index
        current.full = True
        current.save(update_fields=["full", "updated_at"])


def status_list_allocate_many(count: int, *, size: int = DEFAULT_SIZE) -> list[tuple[StatusList, int]]:
    """``status_list_allocate`` for ``count`` certifications about to be inserted together (an
    import's chunk): distinct free indexes, chosen at random, the list locked the same way."""
    found: list[tuple[StatusList, int]] = []
    while len(found) < count:
        current = _current_list(size)
        need = count - len(found)
        indexes = _free_indexes(current, need)
        found.extend((current, index) for index in indexes)
        if len(indexes) < need:
            current.full = True
            current.save(update_fields=["full", "updated_at"])
    return found


def _free_indexes(status_list: StatusList, count: int) -> list[int]:
    """Up to ``count`` distinct random indexes no certification holds in ``status_list``."""
    size = status_list.size
    # enough candidates for a list that is still three quarters full
    candidates = _random.sample(range(size), min(size, max(_CANDIDATES, 8 * count)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.status_index FROM {Certification._meta.db_table} c "  # noqa: S608 — the model's own table
            "WHERE c.status_list_id = %s AND c.status_index = ANY(%s::int[])",
            [status_list.pk, candidates],
        )
        taken = {row[0] for row in cursor.fetchall()}
    free = [candidate for candidate in candidates if candidate not in taken][:count]
    if len(free) < count:  # nearly full: at random among every free index (a hash anti-join)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT i FROM (
                    SELECT i FROM generate_series(0, %s - 1) AS i
                    EXCEPT SELECT c.status_index FROM {Certification._meta.db_table} c
                     WHERE c.status_list_id = %s
                ) AS f(i)
                WHERE NOT i = ANY(%s)
                ORDER BY random() LIMIT %s
                """,  # noqa: S608 — the table name is the model's own, the values are parameters
                [size, status_list.pk, free, count - len(free)],
            )
            free += [row[0] for row in cursor.fetchall()]
    return free


def status_list_revoke(certification: Certification) -> None:
    """Set the certification's bit: from the end of this transaction, its list says revoked.
    The list row is locked (``select_for_update``) for the read-modify-write, so concurrent
    revocations in one list never lose a bit. A certification without a list (issued before
    status lists existed) has no bit: its credential's ``validUntil`` carries the revocation."""
    if certification.status_list_id is None or certification.status_index is None:
        return
    status_list = StatusList.objects.select_for_update().get(pk=certification.status_list_id)
    bits = bytes(status_list.bits)
    if bitstring.get_bit(bits, certification.status_index):
        return
    status_list.bits = bitstring.set_bit(bits, certification.status_index)
    status_list.save(update_fields=["bits", "updated_at"])


# --- the published list ------------------------------------------------------------------------


def _rfc3339(value: dt.datetime) -> str:
    # As ``document.rfc3339`` (which imports this module for ``credential_status``).
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def status_list_document(status_list: StatusList, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential``: the list as it is now, valid from
    ``now`` (the moment it is known current, so an offline verifier can tell how old it is)."""
    url = status_list_url(status_list.id)
    return {
        "@context": list(STATUS_LIST_CONTEXT),
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": settings.REGISTRY_BASE_URL,
        "validFrom": _rfc3339(timezone.now() if now is None else now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": status_list.purpose,
            "encodedList": bitstring.encode(bytes(status_list.bits)),
        },
    }


def status_list_token(status_list: StatusList, *, now: dt.datetime | None = None) -> str:
    """The list as a compact JWS (``vc+jwt``), signed by the current key."""
    return sign_credential(status_list_document(status_list, now=now))


def status_list_resolver(*, now: dt.datetime) -> Callable[[str], str | None]:
    """For the online verifier: a function from a ``statusListCredential`` URL to this
    registry's current list there, signed and valid from ``now`` (None for a URL that is not
    one of its lists). One query per call."""

    def resolve(url: str) -> str | None:
        list_id = status_list_id_from_url(url)
        status_list = None if list_id is None else StatusList.objects.filter(pk=list_id).first()
        return None if status_list is None else status_list_token(status_list, now=now)

    return resolve
