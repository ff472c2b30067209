"""Verifiable credentials: the document, signing, keys and rotation, the offline verifier and
what it refuses, the JSON-LD term check with the shipped contexts only."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import io
import json
import multiprocessing
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command
from django.utils import timezone
from joserfc.jwk import OKPKey
from pyld.jsonld import JsonLdError

from credentials.tests.factories import CertificationFactory
from credentials.vc import keys
from credentials.vc.document import credential_document, credential_queryset
from credentials.vc.jsonld import (
    CREDENTIAL_CONTEXT,
    SHIPPED_CONTEXTS,
    OfflineDocumentLoader,
    undefined_terms,
)
from credentials.vc.jws import sign_credential, verify_compact

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(autouse=True)
def signing_keys(settings, tmp_path: Path) -> Path:
    """Every test signs with keys of its own."""
    directory = tmp_path / "signing-keys"
    settings.REGISTRY_SIGNING_KEYS = directory
    return directory


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the verifier tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def certification(db):
    return CertificationFactory()


# --- helpers that build tokens independently of the code under test ---------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def encode(obj: object) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def header_for(kid: str, **changes: object) -> dict:
    return {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": kid, **changes}


def ed25519_token(header: dict, payload: dict, key: OKPKey) -> str:
    """A compact JWS signed with ``key`` (Ed25519), built by hand."""
    signing_input = f"{encode(header)}.{encode(payload)}"
    return f"{signing_input}.{b64(key.private_key.sign(signing_input.encode()))}"


def failed(result) -> list[str]:
    return [c.check for c in result.checks if c.passed is False]


def detail(result, check: str) -> str:
    return next(c.detail for c in result.checks if c.check == check)


# --- the document -----------------------------------------------------------------------------


def walk_keys(value: object, path: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            out.add(here)
            out |= walk_keys(item, here)
    elif isinstance(value, list):
        for item in value:
            out |= walk_keys(item, path)
    return out


def test_credential_is_an_open_badge_of_the_certification_and_nothing_more(certification, settings):
    doc = credential_document(certification)
    c = certification
    assert doc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert doc["id"] == f"urn:uuid:{c.id}"
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["issuer"]["id"] == settings.REGISTRY_BASE_URL
    assert doc["issuer"]["type"] == "Profile"
    assert doc["issuer"]["name"]
    assert dt.datetime.fromisoformat(doc["validFrom"]) == c.valid_from
    assert dt.datetime.fromisoformat(doc["validUntil"]) == c.expires_at
    subject = doc["credentialSubject"]
    assert subject["type"] == "AchievementSubject"
    assert subject["id"] == f"urn:uuid:{c.therapist.id}"
    achievement = subject["achievement"]
    assert achievement["type"] == "Achievement"
    assert achievement["name"] == c.protocol.name
    assert achievement["description"]
    assert achievement["creator"] == {
        "id": f"urn:uuid:{c.school.id}",
        "type": "Profile",
        "name": c.school.name,
    }
    assert subject["source"] == {
        "id": f"urn:uuid:{c.instructor.id}",
        "type": "Profile",
        "name": c.instructor.name,
    }
    narrative = achievement["criteria"]["narrative"]
    for module in c.protocol.modules.all():
        assert module.title in narrative
    assert narrative.count("10 hours completed") == 3
    assert narrative.count("minimum 8 hours") == 3
    list_url = f"{settings.REGISTRY_BASE_URL}/api/v1/status-lists/{c.status_list_id}/"
    assert doc["credentialStatus"] == {
        "id": f"{list_url}#{c.status_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(c.status_index),
        "statusListCredential": list_url,
    }

    # No email, no licence, no client data: the document holds exactly these properties.
    assert c.therapist.email not in json.dumps(doc)
    assert walk_keys(doc) == {
        "@context", "id", "type", "name", "issuer", "issuer.id", "issuer.type", "issuer.name",
        "validFrom", "validUntil", "awardedDate", "credentialSubject", "credentialSubject.id",
        "credentialSubject.type", "credentialSubject.identifier",
        "credentialSubject.identifier.type", "credentialSubject.identifier.identityType",
        "credentialSubject.identifier.hashed", "credentialSubject.identifier.identityHash",
        "credentialSubject.achievement", "credentialSubject.achievement.id",
        "credentialSubject.achievement.type", "credentialSubject.achievement.achievementType",
        "credentialSubject.achievement.name", "credentialSubject.achievement.humanCode",
        "credentialSubject.achievement.version", "credentialSubject.achievement.description",
        "credentialSubject.achievement.criteria", "credentialSubject.achievement.criteria.narrative",
        "credentialSubject.achievement.creator", "credentialSubject.achievement.creator.id",
        "credentialSubject.achievement.creator.type", "credentialSubject.achievement.creator.name",
        "credentialSubject.source", "credentialSubject.source.id", "credentialSubject.source.type",
        "credentialSubject.source.name", "credentialStatus", "credentialStatus.id",
        "credentialStatus.type", "credentialStatus.statusPurpose", "credentialStatus.statusListIndex",
        "credentialStatus.statusListCredential",
    }  # fmt: skip


def test_credential_document_reads_a_fixed_number_of_queries(db, django_assert_num_queries):
    first, second = CertificationFactory(), CertificationFactory()
    for certification in (first, second):
        fresh = type(certification).objects.get(pk=certification.pk)
        with django_assert_num_queries(3):  # the certification and its relations, two prefetches
            credential_document(fresh)
    loaded = list(credential_queryset().filter(pk__in=[first.pk, second.pk]))
    with django_assert_num_queries(0):
        for certification in loaded:
            credential_document(certification)


def test_a_revoked_certifications_credential_keeps_its_window_revocation_is_its_status_bit(db):
    revoked_at = timezone.now() - dt.timedelta(days=1)
    certification = CertificationFactory(revoked_at=revoked_at, revoked_reason="Fraudulent assessment")
    doc = credential_document(certification)
    assert dt.datetime.fromisoformat(doc["validUntil"]) == certification.expires_at
    assert doc["credentialStatus"]["statusListIndex"] == str(certification.status_index)
    # Without its status list nothing here says revoked: the status check reports it did not run.
    result = verify_compact(sign_credential(doc), keys.public_jwks(), NOW)
    assert failed(result) == []
    status = next(c for c in result.checks if c.check == "status")
    assert status.passed is None
    assert "not checked" in status.detail


def test_a_certification_from_before_status_lists_ends_its_window_at_the_revocation(db):
    revoked_at = timezone.now() - dt.timedelta(days=1)
    certification = CertificationFactory(
        revoked_at=revoked_at, revoked_reason="Fraudulent assessment", status_list=None, status_index=None
    )
    doc = credential_document(certification)
    assert "credentialStatus" not in doc
    assert dt.datetime.fromisoformat(doc["validUntil"]) == revoked_at
    result = verify_compact(sign_credential(doc), keys.public_jwks(), NOW)
    assert failed(result) == ["validity-window"]
    assert "status" not in [c.check for c in result.checks]


# --- round trip -------------------------------------------------------------------------------


def test_an_issued_credential_verifies_offline(certification, no_network):
    token = sign_credential(credential_document(certification))
    header = json.loads(unb64(token.split(".")[0]))
    assert header == {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": keys.current_signing_key().kid}
    assert json.loads(unb64(token.split(".")[1])) == credential_document(certification)

    result = verify_compact(token, keys.public_jwks(), NOW)
    assert result.valid, result.checks
    assert [c.check for c in result.checks] == [
        "format", "algorithm", "kid", "signature", "validity-window", "jsonld-terms", "status",
    ]  # fmt: skip
    assert all(c.passed and c.detail for c in result.checks[:-1])
    assert result.checks[-1].passed is None  # no status list given: not checked, and it says so
    assert f"bit {certification.status_index} of" in result.checks[-1].detail


def test_the_verifier_is_told_the_time(certification):
    token = sign_credential(credential_document(certification))
    jwks = keys.public_jwks()
    assert verify_compact(token, jwks, certification.valid_from).valid
    assert failed(verify_compact(token, jwks, certification.valid_from - dt.timedelta(seconds=1))) == [
        "validity-window"
    ]
    assert failed(verify_compact(token, jwks, certification.expires_at)) == ["validity-window"]
    with pytest.raises(ValueError, match="aware"):
        verify_compact(token, jwks, dt.datetime(2030, 1, 1))


# --- the forgery corpus -----------------------------------------------------------------------


def _payload_byte_changed(token: str, key: OKPKey, doc: dict) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(unb64(payload))
    at = raw.index(b'"name":"') + len(b'"name":"')
    raw[at] = ord("X") if raw[at] != ord("X") else ord("Y")
    return f"{header}.{b64(bytes(raw))}.{signature}"


def _other_key_same_kid(token: str, key: OKPKey, doc: dict) -> str:
    return ed25519_token(header_for(key.thumbprint()), doc, OKPKey.generate_key("Ed25519"))


def _alg_none(token: str, key: OKPKey, doc: dict) -> str:
    return f"{encode(header_for(key.thumbprint(), alg='none'))}.{encode(doc)}."


def _hs256(secret: bytes) -> Callable[[str, OKPKey, dict], str]:
    def forge(token: str, key: OKPKey, doc: dict) -> str:
        signing_input = f"{encode(header_for(key.thumbprint(), alg='HS256'))}.{encode(doc)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"

    return forge


def _public_pem(key: OKPKey) -> bytes:
    return key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _public_raw(key: OKPKey) -> bytes:
    return key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _hs256_with_public_key(form: Callable[[OKPKey], bytes]) -> Callable[[str, OKPKey, dict], str]:
    def forge(token: str, key: OKPKey, doc: dict) -> str:
        return _hs256(form(key))(token, key, doc)

    return forge


def _unknown_kid(token: str, key: OKPKey, doc: dict) -> str:
    return ed25519_token(header_for("not-a-registry-key"), doc, key)


def _no_kid(token: str, key: OKPKey, doc: dict) -> str:
    header = header_for(key.thumbprint())
    del header["kid"]
    return ed25519_token(header, doc, key)


def _truncated_signature(chars: int) -> Callable[[str, OKPKey, dict], str]:
    def forge(token: str, key: OKPKey, doc: dict) -> str:
        return token[:-chars]

    return forge


def _non_canonical_signature(token: str, key: OKPKey, doc: dict) -> str:
    # The last character of an 86-character segment carries 2 bits; flip an unused one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    return token[:-1] + alphabet[last ^ 0b0001]


def _expired(token: str, key: OKPKey, doc: dict) -> str:
    changed = {**doc, "validFrom": "2020-01-01T00:00:00Z", "validUntil": "2022-01-01T00:00:00Z"}
    return ed25519_token(header_for(key.thumbprint()), changed, key)


def _not_yet_valid(token: str, key: OKPKey, doc: dict) -> str:
    changed = {**doc, "validFrom": "2999-01-01T00:00:00Z", "validUntil": "3001-01-01T00:00:00Z"}
    return ed25519_token(header_for(key.thumbprint()), changed, key)


def _wrong_typ(token: str, key: OKPKey, doc: dict) -> str:
    return ed25519_token(header_for(key.thumbprint(), typ="JWT"), doc, key)


def _with(change: Callable[[dict], None]) -> Callable[[str, OKPKey, dict], str]:
    """A properly signed credential (the real key, the real kid) with ``change`` applied."""

    def forge(token: str, key: OKPKey, doc: dict) -> str:
        changed = copy.deepcopy(doc)
        change(changed)
        return ed25519_token(header_for(key.thumbprint()), changed, key)

    return forge


FORGERIES = {
    "a payload byte changed": (_payload_byte_changed, "signature"),
    "signed by another Ed25519 key with the same kid": (_other_key_same_kid, "signature"),
    "alg none": (_alg_none, "algorithm"),
    "HS256 keyed with the public key (PEM)": (_hs256_with_public_key(_public_pem), "algorithm"),
    "HS256 keyed with the public key (raw)": (_hs256_with_public_key(_public_raw), "algorithm"),
    "HS256 keyed with the public key (x)": (
        _hs256_with_public_key(lambda k: k.as_dict()["x"].encode()),
        "algorithm",
    ),
    "an unknown kid": (_unknown_kid, "kid"),
    "no kid": (_no_kid, "kid"),
    "a signature truncated by 1 character": (_truncated_signature(1), "signature"),
    "a signature truncated by 4 characters": (_truncated_signature(4), "signature"),
    "a signature with stray bits": (_non_canonical_signature, "signature"),
    "an expired window": (_expired, "validity-window"),
    "a window not yet open": (_not_yet_valid, "validity-window"),
    "typ JWT": (_wrong_typ, "format"),
    "an undefined property": (
        _with(lambda d: d.update(favouriteColour="green")),
        "jsonld-terms",
    ),
    "an undefined property deep inside": (
        _with(lambda d: d["credentialSubject"]["achievement"].update(favouriteColour="green")),
        "jsonld-terms",
    ),
    "a term used outside its scope": (
        _with(lambda d: d.update(achievement=d["credentialSubject"]["achievement"])),
        "jsonld-terms",
    ),
    "an absolute IRI as a property": (
        _with(lambda d: d.update({"https://example.org/favouriteColour": "green"})),
        "jsonld-terms",
    ),
    "an embedded context defining a term": (
        _with(
            lambda d: d["credentialSubject"].update(
                {"@context": {"favouriteColour": "https://example.org/c"}, "favouriteColour": "green"}
            )
        ),
        "jsonld-terms",
    ),
    "an undefined type": (
        _with(lambda d: d["credentialSubject"].update(type=["AchievementSubject", "Wizard"])),
        "jsonld-terms",
    ),
    "another context": (
        _with(lambda d: d.update({"@context": [*d["@context"], "https://example.org/ctx"]})),
        "jsonld-terms",
    ),
}


@pytest.mark.parametrize(("forge", "check"), list(FORGERIES.values()), ids=list(FORGERIES))
def test_a_forgery_is_refused_with_the_failing_check_named(certification, no_network, forge, check):
    doc = credential_document(certification)
    token = sign_credential(doc)
    key = keys.current_signing_key().key
    result = verify_compact(forge(token, key, doc), keys.public_jwks(), NOW)
    assert not result.valid
    assert failed(result) == [check], result.checks


def test_an_undefined_property_is_named(certification):
    doc = credential_document(certification)
    key = keys.current_signing_key().key
    doc["credentialSubject"]["achievement"]["favouriteColour"] = "green"
    result = verify_compact(ed25519_token(header_for(key.thumbprint()), doc, key), keys.public_jwks(), NOW)
    assert "credentialSubject.achievement.favouriteColour" in detail(result, "jsonld-terms")
    assert [c.check for c in result.checks if c.passed] == [
        "format", "algorithm", "kid", "signature", "validity-window",
    ]  # fmt: skip


def test_algorithm_is_pinned_before_any_key_is_used(certification, monkeypatch):
    """alg none / HS256 are refused without looking a key up or verifying anything."""
    doc = credential_document(certification)
    key = keys.current_signing_key().key
    token = _hs256_with_public_key(_public_pem)("", key, doc)
    jwks = keys.public_jwks()

    def no_crypto(*args, **kwargs):
        raise AssertionError("a cryptographic operation ran")

    monkeypatch.setattr("credentials.vc.jws.jws.deserialize_compact", no_crypto)
    monkeypatch.setattr("credentials.vc.jws.OKPKey.import_key", no_crypto)
    result = verify_compact(token, jwks, NOW)
    assert [c.check for c in result.checks] == ["format", "algorithm"]
    assert "HS256" in detail(result, "algorithm")


def test_a_key_of_another_type_under_the_kid_is_refused(certification):
    token = sign_credential(credential_document(certification))
    kid = keys.current_signing_key().kid
    jwks = {"keys": [{"kty": "oct", "k": b64(b"secret"), "kid": kid}]}
    result = verify_compact(token, jwks, NOW)
    assert failed(result) == ["kid"]
    assert "OKP/Ed25519" in detail(result, "kid")


DUPLICATE_MEMBERS = b'{"alg":"EdDSA","typ":"vc+jwt","cty":"vc","alg":"none"}'
MALFORMED = [
    "",
    "abc",
    "a.b",
    "a.b.c.d",
    "!!!.???.***",
    f"{b64(b'not json')}.{encode({})}.",
    f"{encode([1, 2])}.{encode({})}.",
    f"{encode({'alg': 'EdDSA'})}.{b64(b'{}')}.",
    f"{b64(DUPLICATE_MEMBERS)}.{encode({})}.",
    f"{b64(bytes([0xFF, 0xFE]))}.{encode({})}.",
    "x" * 300_000,
    "\u00e9.\u00e9.\u00e9",
    "..",
]


@pytest.mark.parametrize("token", MALFORMED)
def test_a_malformed_credential_is_invalid_not_an_exception(db, token):
    result = verify_compact(token, keys.public_jwks(), NOW)
    assert not result.valid
    assert failed(result) == ["format"]


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["a", "b"], {"credential": "x"}])
def test_a_credential_that_is_not_a_string_is_invalid(db, value):
    result = verify_compact(value, {"keys": []}, NOW)
    assert failed(result) == ["format"]


@pytest.mark.parametrize("jwks", [None, {}, {"keys": None}, {"keys": [None, 3, "x"]}, [], "keys"])
def test_a_malformed_key_set_fails_the_kid_check(certification, jwks):
    token = sign_credential(credential_document(certification))
    assert failed(verify_compact(token, jwks, NOW)) == ["kid"]


def test_no_single_character_change_to_a_credential_verifies(certification):
    token = sign_credential(credential_document(certification))
    jwks = keys.public_jwks()
    for at, char in enumerate(token):
        replacement = "A" if char != "A" else "B"
        result = verify_compact(token[:at] + replacement + token[at + 1 :], jwks, NOW)
        assert not result.valid, f"changed at {at}"


# --- JSON-LD, offline -------------------------------------------------------------------------


def test_the_shipped_contexts_are_the_published_documents():
    digests = {url: hashlib.sha256(path.read_bytes()).hexdigest() for url, path in SHIPPED_CONTEXTS.items()}
    assert digests == {
        "https://www.w3.org/ns/credentials/v2": (
            "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"
        ),
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": (
            "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761"
        ),
    }
    assert tuple(SHIPPED_CONTEXTS) == CREDENTIAL_CONTEXT


def test_the_loader_serves_the_shipped_files(no_network):
    loader = OfflineDocumentLoader()
    for url, path in SHIPPED_CONTEXTS.items():
        remote = loader(url, {})
        assert remote["documentUrl"] == url
        assert remote["document"] == json.loads(path.read_text())


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/2018/credentials/v1",
        "http://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/v2/",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "https://example.org/context.jsonld",
        "file:///etc/passwd",
        "",
    ],
)
def test_the_loader_refuses_any_other_url(no_network, url):
    with pytest.raises(JsonLdError) as error:
        OfflineDocumentLoader()(url, {})
    assert error.value.code == "loading document failed"


@pytest.mark.parametrize(
    "change",
    [
        {"valid_from": dt.datetime(2020, 2, 29, 12, 30, 15, 123456, tzinfo=dt.UTC)},
        {"revoked_at": dt.datetime(2021, 1, 1, tzinfo=dt.UTC), "revoked_reason": "x"},
        {"therapist__name": 'Zoë O\'Brien-Łukasiewicz "Z"'},
        {"protocol__name": "Post-concussion rehabilitation <b>&</b>", "protocol__slug": "pcr"},
        {"school__name": "École de massage médical"},
    ],
)
def test_every_issued_credential_passes_the_term_check(db, no_network, change):
    certification = CertificationFactory(**change)
    doc = credential_document(certification)
    assert undefined_terms(doc) == []
    token = sign_credential(doc)
    result = verify_compact(token, keys.public_jwks(), certification.valid_from)
    assert next(c for c in result.checks if c.check == "jsonld-terms").passed


def test_the_term_check_refuses_contexts_it_does_not_ship(certification, no_network):
    doc = credential_document(certification)
    for context in (
        ["https://www.w3.org/2018/credentials/v1"],
        [*CREDENTIAL_CONTEXT, {"favouriteColour": "https://example.org/c"}],
        list(reversed(CREDENTIAL_CONTEXT)),
        "https://www.w3.org/ns/credentials/v2",
        None,
    ):
        assert undefined_terms({**doc, "@context": context}), context


# --- the status check (the full story is in test_status_list.py) -------------------------------


def test_without_a_status_list_the_status_is_not_checked_and_a_bad_one_fails(certification):
    token = sign_credential(credential_document(certification))
    (status,) = [c for c in verify_compact(token, keys.public_jwks(), NOW).checks if c.check == "status"]
    assert (status.passed, status.detail.startswith("not checked")) == (None, True)
    result = verify_compact(token, keys.public_jwks(), NOW, status_list="a status list")
    assert failed(result) == ["status"]
    assert not result.valid


# --- keys -------------------------------------------------------------------------------------


def test_the_first_signing_creates_a_private_key_file_only_the_owner_reads(certification, signing_keys):
    assert keys.public_jwks() == {"keys": []}
    sign_credential(credential_document(certification))
    files = list(signing_keys.glob("*.jwk.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(signing_keys.stat().st_mode) & 0o077 == 0
    assert "d" in json.loads(files[0].read_text())

    (published,) = keys.public_jwks()["keys"]
    assert published == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": published["x"],
        "kid": keys.current_signing_key().kid,
        "use": "sig",
        "alg": "EdDSA",
    }


def test_a_key_file_readable_by_others_is_refused(signing_keys):
    key = keys.current_signing_key()
    os.chmod(key.path, 0o644)
    with pytest.raises(keys.SigningKeyError, match="chmod 600"):
        keys.load_keys()


def test_rotation_keeps_old_credentials_verifiable_and_new_ones_carry_the_new_kid(db):
    before = sign_credential(credential_document(CertificationFactory()))
    old_kid = keys.current_signing_key().kid

    out = io.StringIO()
    call_command("rotate_signing_key", stdout=out)
    new_kid = out.getvalue().strip().splitlines()[-1]
    assert new_kid != old_kid
    assert keys.current_signing_key().kid == new_kid

    after = sign_credential(credential_document(CertificationFactory()))
    assert json.loads(unb64(after.split(".")[0]))["kid"] == new_kid
    jwks = keys.public_jwks()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid, old_kid]
    assert verify_compact(before, jwks, NOW).valid
    assert verify_compact(after, jwks, NOW).valid

    # Without the old key published, what it signed no longer verifies.
    only_new = {"keys": [k for k in jwks["keys"] if k["kid"] == new_kid]}
    assert failed(verify_compact(before, only_new, NOW)) == ["kid"]


def _first_signing_key(directory: str, barrier, results) -> None:
    barrier.wait()
    results.put(keys.current_signing_key(directory).kid)


def test_concurrent_first_signings_create_one_key(tmp_path):
    directory = tmp_path / "fresh"
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(8), context.Queue()
    workers = [
        context.Process(target=_first_signing_key, args=(str(directory), barrier, results)) for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    kids = {results.get(timeout=30) for _ in workers}
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert len(kids) == 1
    assert [p.name.split("-", 1)[1] for p in directory.glob("*.jwk.json")] == [f"{kids.pop()}.jwk.json"]


# --- the management commands ------------------------------------------------------------------


@pytest.fixture
def credential_files(certification, tmp_path):
    token = sign_credential(credential_document(certification))
    files = {"token": tmp_path / "credential.jwt", "jwks": tmp_path / "jwks.json"}
    files["token"].write_text(token + "\n")
    files["jwks"].write_text(json.dumps(keys.public_jwks()))
    forged = tmp_path / "forged.jwt"
    payload = token.split(".")[1]
    forged.write_text(f"{encode(header_for(keys.current_signing_key().kid, alg='none'))}.{payload}.")
    files["forged"] = forged
    return files


def test_verify_credential_prints_each_check_and_exits_0_when_valid(credential_files, django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.block():  # no database: any access raises
        call_command(
            "verify_credential",
            str(credential_files["token"]),
            jwks=str(credential_files["jwks"]),
            stdout=out,
        )
    lines = out.getvalue().splitlines()
    for check in ("format", "algorithm", "kid", "signature", "validity-window", "jsonld-terms"):
        assert any(line.startswith("PASS") and f" {check} " in line for line in lines), lines
    assert "valid" in lines[-1]


def test_verify_credential_exits_1_when_not_valid(credential_files, django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.block(), pytest.raises(CommandError) as error:
        call_command(
            "verify_credential",
            str(credential_files["forged"]),
            jwks=str(credential_files["jwks"]),
            stdout=out,
        )
    assert error.value.returncode == 1
    assert "FAIL  algorithm" in out.getvalue()


def _manage(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REGISTRY_SIGNING_KEYS"}},
        "DEBUG": "1",
        "SECRET_KEY": "x",
        "REGISTRY_DATA_DIR": str(data_dir),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_verify_credential_runs_offline_without_a_database(credential_files, tmp_path):
    empty = tmp_path / "empty-data-dir"
    empty.mkdir()
    valid = _manage(
        "verify_credential",
        str(credential_files["token"]),
        "--jwks",
        str(credential_files["jwks"]),
        data_dir=empty,
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "PASS  signature" in valid.stdout

    forged = _manage(
        "verify_credential",
        str(credential_files["forged"]),
        "--jwks",
        str(credential_files["jwks"]),
        data_dir=empty,
    )
    assert forged.returncode == 1, forged.stdout + forged.stderr
    assert "FAIL  algorithm" in forged.stdout

    assert not (empty / "pg").exists()
    assert list(empty.iterdir()) == []


def test_verify_credential_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("verify_credential", str(tmp_path / "missing.jwt"), jwks=str(tmp_path / "missing.json"))
    assert error.value.returncode == 2
