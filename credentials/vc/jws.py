"""VC-JOSE: a credential secured as a compact JWS (``typ: vc+jwt``, ``cty: vc``, EdDSA/Ed25519),
and the verifier anyone can run offline with the registry's JWKS.

The verifier reports each check by name, in order: ``format``, ``algorithm``, ``kid``,
``signature``, then ``validity-window`` and ``jsonld-terms``, and ``status`` when the credential
carries a ``credentialStatus`` (or a status list is given). It stops at the first failure up to
and including ``signature`` (nothing in an unauthenticated payload is worth reading); after that
every check runs.

``status`` (W3C Bitstring Status List v1.0) reads the credential's bit in its status list: a
``BitstringStatusListCredential`` given as a compact JWS and verified with the same key set (its
signature, its window, its terms), published at the very URL the credential names, by the same
issuer, for the same purpose. A set bit fails the check ("revoked"). With no status list to read
— offline, when none was given — the check is reported as not run: ``passed`` is ``None`` and
the detail says where the status is; ``valid`` then means "nothing failed", and a caller who
needs revocation checked must look at that check (``verify_credential`` says so in words).

The algorithm is pinned before any cryptographic operation: only ``EdDSA`` with an OKP Ed25519
key, so ``alg: none`` and ``HS256`` keyed with the public key (key confusion) are refused without
touching a key. A malformed credential is ``valid: false`` with the failing check named, never an
exception.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from credentials.vc import bitstring, keys
from credentials.vc.jsonld import STATUS_LIST_CONTEXT, undefined_terms

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/vc+jwt"
TYP = "vc+jwt"
CTY = "vc"
ALGORITHM = keys.ALGORITHM
MAX_TOKEN_CHARS = 256 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")
_ED25519_SIGNATURE_BYTES = 64
_ED25519_PUBLIC_KEY_BYTES = 32
#: What a set bit means, by ``statusPurpose`` (the purposes this verifier can read).
_SET_BIT_MEANS = {"revocation": "revoked", "suspension": "suspended"}
_INDEX = re.compile(r"^(0|[1-9][0-9]{0,9})$")
#: How far ahead of the verifier's clock a status list's ``validFrom`` may be (clock skew).
STATUS_LIST_CLOCK_SKEW = dt.timedelta(minutes=5)
#: A status list: a compact JWS, or (online) a function from a list URL to one (None: unknown).
StatusListSource = str | Callable[[str], "str | None"]


class _PinnedRegistry(JWSRegistry):
    """joserfc's registry allowing EdDSA only. joserfc warns that ``EdDSA`` is superseded by
    RFC 9864's ``Ed25519``; VC-JOSE verifiers in the field expect ``EdDSA``, so we keep it and
    skip the per-call warning (global warning filters are not thread-safe)."""

    max_payload_length = MAX_TOKEN_CHARS
    max_header_length = 2048

    def get_alg(self, name: str):
        if name != ALGORITHM:
            return super().get_alg(name)  # raises: only EdDSA is allowed
        return self.algorithms[ALGORITHM]


_REGISTRY = _PinnedRegistry(algorithms=[ALGORITHM])


@dataclass(frozen=True)
class Check:
    check: str
    passed: bool | None  # None: not checked (the detail says why)
    detail: str


@dataclass(frozen=True)
class VerificationResult:
    valid: bool
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "checks": [asdict(c) for c in self.checks]}


def sign_credential(doc: Mapping[str, Any]) -> str:
    """``doc`` as a compact JWS signed by the newest key (created on a fresh install)."""
    key = keys.current_signing_key()
    header = {"alg": ALGORITHM, "typ": TYP, "cty": CTY, "kid": key.kid}
    payload = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return jws.serialize_compact(header, payload, key.key, registry=_REGISTRY)


# --- verification -------------------------------------------------------------------------


class _Failed(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _NotChecked(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _b64decode(segment: str, what: str) -> bytes:
    if not _SEGMENT.match(segment) or len(segment) % 4 == 1:
        raise _Failed(f"the {what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _Failed(f"the {what} is not base64url") from exc
    # One encoding per value: no stray bits in the last character (no two tokens, one signature).
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != segment:
        raise _Failed(f"the {what} is not canonical base64url")
    return raw


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate member {key!r}")
        out[key] = value
    return out


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Failed(f"the {what} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _Failed(f"the {what} is not a JSON object")
    return value


@dataclass
class _State:
    token: str
    jwks: Any
    now: dt.datetime
    header: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    signature_segment: str = ""
    key: OKPKey | None = None


def _check_format(state: _State) -> str:
    token = state.token
    if not isinstance(token, str):
        raise _Failed("the credential is not a string")
    if len(token) > MAX_TOKEN_CHARS:
        raise _Failed(f"the credential is longer than {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise _Failed(f"a compact JWS has 3 dot-separated parts, this has {len(parts)}")
    header_segment, payload_segment, state.signature_segment = parts
    state.header = _json_object(_b64decode(header_segment, "header"), "header")
    state.payload = _json_object(_b64decode(payload_segment, "payload"), "payload")
    if state.header.get("typ") != TYP:
        raise _Failed(f"typ must be {TYP!r}, got {state.header.get('typ')!r}")
    if state.header.get("cty") != CTY:
        raise _Failed(f"cty must be {CTY!r}, got {state.header.get('cty')!r}")
    if "crit" in state.header or "b64" in state.header:
        raise _Failed("header extensions (crit, b64) are not accepted")
    return f"compact JWS, typ {TYP}, cty {CTY}"


def _check_algorithm(state: _State) -> str:
    alg = state.header.get("alg")
    if alg != ALGORITHM:
        raise _Failed(f"alg {alg!r} is not accepted: only {ALGORITHM} with an Ed25519 key")
    return f"{ALGORITHM} (Ed25519)"


def _check_kid(state: _State) -> str:
    kid = state.header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _Failed("the header names no kid")
    entries = state.jwks.get("keys") if isinstance(state.jwks, Mapping) else None
    if not isinstance(entries, list):
        raise _Failed("the key set has no keys list")
    matching = [k for k in entries if isinstance(k, Mapping) and k.get("kid") == kid]
    if not matching:
        raise _Failed(f"unknown kid {kid!r}")
    if len(matching) > 1:
        raise _Failed(f"kid {kid!r} names {len(matching)} keys")
    jwk = matching[0]
    if jwk.get("kty") != "OKP" or jwk.get("crv") != keys.CURVE:
        raise _Failed(f"key {kid!r} is {jwk.get('kty')}/{jwk.get('crv')}: {ALGORITHM} needs OKP/Ed25519")
    if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
        raise _Failed(f"key {kid!r} is not published for {ALGORITHM} signatures")
    x = jwk.get("x")
    if not isinstance(x, str) or len(_b64decode(x, "key's x")) != _ED25519_PUBLIC_KEY_BYTES:
        raise _Failed(f"key {kid!r} is not an Ed25519 public key")
    # Only the public member: a key set is never a source of private keys.
    state.key = OKPKey.import_key({"kty": "OKP", "crv": keys.CURVE, "x": x})
    return f"key {kid}"


def _check_signature(state: _State) -> str:
    signature = _b64decode(state.signature_segment, "signature")
    if len(signature) != _ED25519_SIGNATURE_BYTES:
        raise _Failed(f"the signature is {len(signature)} bytes; an Ed25519 signature is 64")
    try:
        jws.deserialize_compact(state.token, state.key, registry=_REGISTRY)
    except JoseError as exc:
        raise _Failed(f"the signature does not verify ({exc.error})") from exc
    return "signed by the key"


def _datetime(payload: Mapping[str, Any], name: str) -> dt.datetime | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Failed(f"{name} is not a date-time string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise _Failed(f"{name} {value!r} is not an RFC 3339 date-time") from exc
    if parsed.tzinfo is None:
        raise _Failed(f"{name} {value!r} has no offset")
    return parsed


def _check_validity_window(state: _State, *, skew: dt.timedelta = dt.timedelta(0)) -> str:
    valid_from = _datetime(state.payload, "validFrom")
    valid_until = _datetime(state.payload, "validUntil")
    if valid_from is None:
        raise _Failed("the credential has no validFrom")
    now = state.now
    window = f"[{state.payload['validFrom']}, {state.payload.get('validUntil', '…')})"
    if now + skew < valid_from:
        raise _Failed(f"not yet valid: {window}, now {now.isoformat()}")
    if valid_until is not None and now >= valid_until:
        raise _Failed(f"expired: {window}, now {now.isoformat()}")
    return f"valid over {window}"


def _check_jsonld_terms(state: _State) -> str:
    problems = undefined_terms(state.payload)
    if problems:
        raise _Failed("; ".join(problems))
    return "every property and type is defined by the shipped contexts"


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _issuer_id(payload: Mapping[str, Any]) -> Any:
    issuer = payload.get("issuer")
    return issuer.get("id") if isinstance(issuer, Mapping) else issuer


@dataclass(frozen=True)
class _StatusEntry:
    url: str
    index: int
    purpose: str

    @property
    def where(self) -> str:
        return f"bit {self.index} of {self.url}"


def _status_entry(payload: Mapping[str, Any]) -> _StatusEntry:
    """The credential's one ``BitstringStatusListEntry``, checked for shape."""
    status = payload["credentialStatus"]
    entries = status if isinstance(status, list) else [status]
    if len(entries) != 1 or not isinstance(entries[0], Mapping):
        raise _Failed("credentialStatus must be one BitstringStatusListEntry")
    entry = entries[0]
    if _types(entry.get("type")) != ["BitstringStatusListEntry"]:
        raise _Failed(f"credentialStatus type {entry.get('type')!r} is not BitstringStatusListEntry")
    purpose = entry.get("statusPurpose")
    if purpose not in _SET_BIT_MEANS:
        raise _Failed(
            f"statusPurpose {purpose!r} is not one this verifier reads ({', '.join(_SET_BIT_MEANS)})"
        )
    if entry.get("statusSize", 1) != 1:
        raise _Failed(f"statusSize {entry.get('statusSize')!r}: only 1-bit statuses are read")
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not _INDEX.match(index):
        raise _Failed(f"statusListIndex {index!r} is not a non-negative integer string")
    url = entry.get("statusListCredential")
    if not isinstance(url, str) or not url:
        raise _Failed("credentialStatus names no statusListCredential")
    return _StatusEntry(url=url, index=int(index), purpose=purpose)


def _verified_status_list(token: Any, jwks: Any, now: dt.datetime) -> dict[str, Any]:
    """The payload of a status list credential that verifies like a credential: format,
    algorithm, kid, signature (the same key set), window (with clock skew) and terms."""
    state = _State(token=token, jwks=jwks, now=now)
    for name, step in (
        ("format", _check_format),
        ("algorithm", _check_algorithm),
        ("kid", _check_kid),
        ("signature", _check_signature),
        ("validity-window", lambda s: _check_validity_window(s, skew=STATUS_LIST_CLOCK_SKEW)),
    ):
        try:
            step(state)
        except _Failed as exc:
            raise _Failed(f"the status list fails its {name} check: {exc.detail}") from exc
    problems = undefined_terms(state.payload, context=STATUS_LIST_CONTEXT)
    if problems:
        raise _Failed(f"the status list fails its jsonld-terms check: {'; '.join(problems)}")
    return state.payload


def _check_status(state: _State, status_list: StatusListSource | None) -> str:
    """The credential's bit in its status list (see the module docstring)."""
    if "credentialStatus" not in state.payload:
        raise _NotChecked("not checked: the credential carries no credentialStatus")
    entry = _status_entry(state.payload)
    means = _SET_BIT_MEANS[entry.purpose]
    if status_list is None:
        raise _NotChecked(f"not checked: no status list was given (whether it is {means} is {entry.where})")
    token = status_list(entry.url) if callable(status_list) else status_list
    if token is None:
        raise _Failed(f"the status list {entry.url} is not one this registry publishes")
    listed = _verified_status_list(token, state.jwks, state.now)
    if "BitstringStatusListCredential" not in _types(listed.get("type")):
        raise _Failed("the status list is not a BitstringStatusListCredential")
    if listed.get("id") != entry.url:
        raise _Failed(f"the status list given is {listed.get('id')!r}; the credential's is {entry.url}")
    if _issuer_id(listed) != _issuer_id(state.payload):
        raise _Failed("the status list and the credential have different issuers")
    subject = listed.get("credentialSubject")
    if not isinstance(subject, Mapping) or _types(subject.get("type")) != ["BitstringStatusList"]:
        raise _Failed("the status list's credentialSubject is not a BitstringStatusList")
    if entry.purpose not in _types(subject.get("statusPurpose")):
        raise _Failed(
            f"the status list is not for {entry.purpose} (it is for {subject.get('statusPurpose')!r})"
        )
    try:
        bits = bitstring.decode(subject.get("encodedList"))
    except bitstring.BitstringError as exc:
        raise _Failed(f"the status list's {exc}") from exc
    if len(bits) * 8 < bitstring.MIN_ENTRIES:
        raise _Failed(
            f"the status list has {len(bits) * 8} entries, fewer than the {bitstring.MIN_ENTRIES} "
            "the specification asks for"
        )
    if entry.index >= len(bits) * 8:
        raise _Failed(f"statusListIndex {entry.index} is outside the status list ({len(bits) * 8} entries)")
    as_of = f"the status list as of {listed.get('validFrom')}"
    if bitstring.get_bit(bits, entry.index):
        raise _Failed(f"{means}: {entry.where} is set ({as_of})")
    return f"not {means}: {entry.where} is 0 ({as_of})"


def _run(name: str, step: Callable[[], str], checks: list[Check]) -> bool:
    try:
        detail = step()
    except _Failed as exc:
        checks.append(Check(name, False, exc.detail))
        return False
    except _NotChecked as exc:
        checks.append(Check(name, None, exc.detail))
        return True
    except Exception as exc:  # a malformed credential must never escape as an exception
        logger.warning("verification check %s failed unexpectedly", name, exc_info=True)
        checks.append(Check(name, False, f"could not be evaluated ({type(exc).__name__})"))
        return False
    checks.append(Check(name, True, detail))
    return True


def verify_compact(
    token: str,
    jwks: Mapping[str, Any],
    now: dt.datetime,
    status_list: StatusListSource | None = None,
) -> VerificationResult:
    """Verify a compact-JWS credential against a JWKS (``{"keys": [...]}``) at ``now`` (aware).

    Offline: no database, no network. ``status_list`` is the ``BitstringStatusListCredential``
    to read the credential's revocation bit in, as a compact JWS (verified with ``jwks`` too);
    or a function from the credential's ``statusListCredential`` URL to one (the online
    verifier hands its own current list); None: the status is reported as not checked.
    ``valid`` is true when no check failed.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    state = _State(token=token, jwks=jwks, now=now)
    checks: list[Check] = []
    steps: list[tuple[str, Callable[[], str]]] = [
        ("format", lambda: _check_format(state)),
        ("algorithm", lambda: _check_algorithm(state)),
        ("kid", lambda: _check_kid(state)),
        ("signature", lambda: _check_signature(state)),
    ]
    for name, step in steps:
        if not _run(name, step, checks):
            return VerificationResult(valid=False, checks=checks)
    _run("validity-window", lambda: _check_validity_window(state), checks)
    _run("jsonld-terms", lambda: _check_jsonld_terms(state), checks)
    if "credentialStatus" in state.payload or isinstance(status_list, str):
        _run("status", lambda: _check_status(state, status_list), checks)
    return VerificationResult(valid=all(c.passed is not False for c in checks), checks=checks)
