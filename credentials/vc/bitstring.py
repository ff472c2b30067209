"""The bitstring of a W3C Bitstring Status List (v1.0), without a database.

Index 0 is the left-most bit: the most significant bit of the first byte. ``encodedList`` is
the bitstring GZIP-compressed, then base64url-encoded without padding, with the multibase
prefix ``u`` (the specification's "Bitstring Generation" and "Bitstring Expansion" algorithms).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib

#: The specification's minimum number of entries (16 KiB of bits): herd privacy.
MIN_ENTRIES = 131_072
#: The largest expanded list the verifier accepts (a GZIP bomb stops here): 64 Mi entries.
MAX_EXPANDED_BYTES = 8 * 1024 * 1024
_MULTIBASE_BASE64URL = "u"
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class BitstringError(ValueError):
    """An ``encodedList`` that cannot be expanded, or an index outside the bitstring."""


def empty(size: int) -> bytes:
    """``size`` bits, all 0 (``size`` a positive multiple of 8)."""
    if size <= 0 or size % 8:
        raise ValueError("a bitstring is a positive whole number of bytes")
    return bytes(size // 8)


def _position(bits: bytes, index: int) -> tuple[int, int]:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(bits) * 8:
        raise BitstringError(f"index {index} is outside the bitstring ({len(bits) * 8} entries)")
    return index // 8, 0x80 >> (index % 8)


def get_bit(bits: bytes, index: int) -> bool:
    byte, mask = _position(bits, index)
    return bool(bits[byte] & mask)


def set_bit(bits: bytes, index: int) -> bytes:
    """A copy of ``bits`` with bit ``index`` set."""
    byte, mask = _position(bits, index)
    changed = bytearray(bits)
    changed[byte] |= mask
    return bytes(changed)


def encode(bits: bytes) -> str:
    """The ``encodedList`` of ``bits`` (deterministic: the GZIP header carries no time)."""
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return _MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode(encoded: str, *, max_bytes: int = MAX_EXPANDED_BYTES) -> bytes:
    """The bitstring of an ``encodedList``; ``BitstringError`` when it is not one, or when it
    would expand past ``max_bytes``."""
    if not isinstance(encoded, str) or not encoded.startswith(_MULTIBASE_BASE64URL):
        raise BitstringError("encodedList is not multibase base64url (no 'u' prefix)")
    body = encoded[1:]
    if not _BASE64URL.match(body) or len(body) % 4 == 1:
        raise BitstringError("encodedList is not base64url")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BitstringError("encodedList is not base64url") from exc
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
    try:
        bits = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as exc:
        raise BitstringError(f"encodedList is not GZIP-compressed ({exc})") from exc
    if len(bits) > max_bytes or inflater.unconsumed_tail:
        raise BitstringError(f"encodedList expands past {max_bytes} bytes")
    if not inflater.eof or inflater.unused_data:
        raise BitstringError("encodedList is not one complete GZIP stream")
    if not bits:
        raise BitstringError("encodedList is empty")
    return bits
