"""``Idempotency-Key`` for the creating POSTs (``/bookings/``, ``/intakes/``,
``/certifications/``): a retry replays the first answer instead of doing the work again.

Decorate the handler::

    class BookingViewSet(...):
        @idempotent
        def create(self, request): ...

With the header, the claim (``core.IdempotencyKey``, unique per user and key) is inserted in
the same transaction as the work, and the answer is stored on it before that transaction
commits. So:

- the same key and body again (same user): the stored status and body are replayed — a
  refusal too (a booking refusal commits its decision record, and the claim with it);
- a concurrent duplicate blocks on the unique index until the first commits, then replays;
  if the first rolled back (an error answer: no work done), the duplicate does the work;
- the same key with another method, path or body: 422 ``idempotency-mismatch``.

Without the header the handler runs as usual. Answers are stored as the JSON text that was
sent, so a replay is byte for byte the first answer (``Idempotent-Replayed: true`` marks it).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.exceptions import PROBLEM_CONTENT_TYPE, problem
from api.schema import problems
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
REPLAYED_HEADER = "Idempotent-Replayed"

KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique key per creation (e.g. a UUID). Sent again with the same body, the first "
        "answer is replayed (a refusal included) and nothing new is created; with another "
        "body: 422 `idempotency-mismatch`."
    ),
)


def request_hash(method: str, path: str, data: Any) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON (sorted keys)."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{body}".encode()).hexdigest()


def _key_of(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise exceptions.ValidationError({HEADER: [f"Give a key of 1 to {MAX_KEY_LENGTH} characters."]})
    return key


def _body_data(request) -> Any:
    data = request.data
    if hasattr(data, "dict"):  # a QueryDict (form or multipart): its plain values
        data = {key: data.getlist(key) for key in sorted(data.keys())}
    return data


def _replay(claim: IdempotencyKey) -> Response:
    body = json.loads(claim.response_body) if isinstance(claim.response_body, str) else claim.response_body
    status = claim.response_status or 200
    response = Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE if status >= 400 else None)
    response[REPLAYED_HEADER] = "true"
    return response


def _mismatch() -> Response:
    return problem(
        "idempotency-mismatch",
        422,
        f"This {HEADER} was used with another request; use a new key for a new request.",
    )


def idempotent(handler: Callable) -> Callable:
    """Make a creating POST handler honour ``Idempotency-Key`` (see the module docstring)."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = _key_of(request)
        if key is None:
            return handler(view, request, *args, **kwargs)
        digest = request_hash(request.method, request.path, _body_data(request))
        with transaction.atomic():
            try:
                with transaction.atomic():  # a savepoint: a duplicate leaves the outer block usable
                    claim = IdempotencyKey.objects.create(
                        user=request.user,
                        key=key,
                        method=request.method.upper(),
                        path=request.path[:300],
                        request_hash=digest,
                    )
            except IntegrityError:
                # Another request holds the key and has committed (the insert waited for it).
                claim = IdempotencyKey.objects.get(user=request.user, key=key)
                if claim.request_hash != digest:
                    return _mismatch()
                return _replay(claim)
            response = handler(view, request, *args, **kwargs)
            claim.response_status = response.status_code
            claim.response_body = JSONRenderer().render(response.data).decode()
            claim.save(update_fields=["response_status", "response_body"])
        return response

    wrapper = problems(422)(wrapper)
    return extend_schema(parameters=[KEY_PARAMETER])(wrapper)
