"""Retrying a whole transaction when PostgreSQL aborts it to break a cycle."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection

P = ParamSpec("P")
R = TypeVar("R")

# serialization_failure, deadlock_detected: the transaction did nothing; running it again is safe.
RETRYABLE_SQLSTATES = {"40001", "40P01"}


def _sqlstate(error: BaseException) -> str | None:
    cause = error.__cause__ or error
    return getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)


def retry_on_conflict(
    attempts: int = 4, base_delay: float = 0.02
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the (outermost) transaction again, with jittered back-off, when PostgreSQL reports a
    serialization failure or a deadlock. Inside an enclosing transaction it does not retry:
    the outer one must be retried as a whole."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if connection.in_atomic_block:
                return func(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except OperationalError as error:
                    if _sqlstate(error) not in RETRYABLE_SQLSTATES or attempt == attempts:
                        raise
                    time.sleep(base_delay * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))  # noqa: S311
            raise AssertionError("unreachable")

        return wrapper

    return decorate
