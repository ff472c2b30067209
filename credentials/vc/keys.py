"""The registry's Ed25519 signing keys, kept outside the database.

One private JWK per file in ``settings.REGISTRY_SIGNING_KEYS`` (mode 0600, directory 0700),
named ``<sequence>-<kid>.jwk.json``; ``kid`` is the key's RFC 7638 thumbprint. The newest
(highest sequence) signs; every key stays published so what an older key signed still
verifies. Keys are created under an exclusive ``fcntl.flock`` on ``.lock`` in that directory,
so concurrent first signings on a fresh install (several web workers) create one key, not many.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from joserfc.jwk import OKPKey

ALGORITHM = "EdDSA"
CURVE = "Ed25519"
_FILE_NAME = re.compile(r"^(?P<sequence>\d{6})-(?P<kid>[A-Za-z0-9_-]{1,100})\.jwk\.json$")
_LOCK_NAME = ".lock"


class SigningKeyError(Exception):
    """A key file that cannot be used (unreadable, wrong type, readable by others)."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    sequence: int
    key: OKPKey
    path: Path

    def public_jwk(self) -> dict[str, str]:
        """The public half as published in the JWKS."""
        public = self.key.as_dict(private=False)
        return {
            "kty": public["kty"],
            "crv": public["crv"],
            "x": public["x"],
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


def key_directory(directory: Path | str | None = None) -> Path:
    return Path(directory if directory is not None else settings.REGISTRY_SIGNING_KEYS)


def load_keys(directory: Path | str | None = None) -> list[SigningKey]:
    """Every key in the directory, newest first (empty when there is none yet)."""
    root = key_directory(directory)
    if not root.is_dir():
        return []
    keys = []
    for path in root.iterdir():
        match = _FILE_NAME.match(path.name)
        if match:
            keys.append(_load(path, int(match["sequence"]), match["kid"]))
    return sorted(keys, key=lambda k: k.sequence, reverse=True)


def _load(path: Path, sequence: int, kid: str) -> SigningKey:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(f"{path} is readable by others (mode {stat.filemode(mode)}); chmod 600 it.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key = OKPKey.import_key(data)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not a JWK: {exc}") from exc
    if data.get("kty") != "OKP" or data.get("crv") != CURVE or not key.is_private:
        raise SigningKeyError(f"{path} is not a private Ed25519 key.")
    if data.get("kid", kid) != kid or key.thumbprint() != kid:
        raise SigningKeyError(f"{path}: the file name's kid does not match the key.")
    return SigningKey(kid=kid, sequence=sequence, key=key, path=path)


def public_jwks(directory: Path | str | None = None) -> dict[str, list[dict[str, str]]]:
    """``{"keys": [...]}``: every public key, newest first."""
    return {"keys": [key.public_jwk() for key in load_keys(directory)]}


def current_signing_key(directory: Path | str | None = None) -> SigningKey:
    """The newest key; on a fresh install the first call creates one (once, under the lock)."""
    keys = load_keys(directory)
    if keys:
        return keys[0]
    with _locked(key_directory(directory)) as root:
        keys = load_keys(root)  # another process may have created it while we waited
        return keys[0] if keys else _create(root, sequence=1)


def rotate(directory: Path | str | None = None) -> SigningKey:
    """Add a new key, which signs from now on; the older ones stay published for verifying."""
    with _locked(key_directory(directory)) as root:
        keys = load_keys(root)
        return _create(root, sequence=(keys[0].sequence + 1) if keys else 1)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[Path]:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(root / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield root
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _create(root: Path, *, sequence: int) -> SigningKey:
    """Write a new private key atomically (a temporary file renamed into place); call under the lock."""
    key = OKPKey.generate_key(CURVE, private=True)
    kid = key.thumbprint()
    data: dict[str, Any] = {**key.as_dict(private=True), "kid": kid, "use": "sig", "alg": ALGORITHM}
    path = root / f"{sequence:06d}-{kid}.jwk.json"
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=root)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        os.rename(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    dir_fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return SigningKey(kid=kid, sequence=sequence, key=key, path=path)
