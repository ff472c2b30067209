"""What counts as text the database can store: no lone UTF-16 surrogate (JSON can escape one,
``"\\ud800"``, and Python reads it into a ``str`` UTF-8 cannot encode) and, where asked, no NUL
(PostgreSQL text and jsonb cannot hold U+0000)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def holds_lone_surrogate(value: Any) -> bool:
    """Whether any string in ``value`` (a parsed JSON value: keys included) is not Unicode text."""
    return not all(_encodable(text) for text in _strings(value))


def holds_nul_or_lone_surrogate(value: Any) -> bool:
    return any("\x00" in text or not _encodable(text) for text in _strings(value))
