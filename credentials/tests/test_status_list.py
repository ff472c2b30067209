"""Revocation everyone can see (W3C Bitstring Status List v1.0): the bitstring, index allocation
at issuance, the bit set in the revocation's transaction, the signed list, and the verifiers —
offline with a status list file, online with the registry's current list."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import io
import json
import socket
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from joserfc.jwk import OKPKey
from rest_framework.test import APIClient

from core.tests.factories import UserFactory
from credentials import services
from credentials.models import Certification, StatusList
from credentials.tests.factories import CertificationFactory, issuance_scene
from credentials.vc import bitstring, keys
from credentials.vc.document import credential_document
from credentials.vc.jsonld import STATUS_LIST_CONTEXT, undefined_terms
from credentials.vc.jws import sign_credential, verify_compact
from credentials.vc.status_list import (
    status_list_allocate,
    status_list_document,
    status_list_id_from_url,
    status_list_resolver,
    status_list_token,
)

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(autouse=True)
def signing_keys(settings, tmp_path: Path) -> Path:
    settings.REGISTRY_SIGNING_KEYS = tmp_path / "signing-keys"
    return settings.REGISTRY_SIGNING_KEYS


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the verifier tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def status_check(result):
    return next(c for c in result.checks if c.check == "status")


def failed(result) -> list[str]:
    return [c.check for c in result.checks if c.passed is False]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_by(key: OKPKey, document: dict) -> str:
    """A compact JWS of ``document`` signed with ``key`` under its thumbprint, built by hand."""
    header = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": key.thumbprint()}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(document).encode())}"
    return f"{signing_input}.{b64(key.private_key.sign(signing_input.encode()))}"


# --- the bitstring ---------------------------------------------------------------------------------


def test_index_0_is_the_left_most_bit():
    bits = bitstring.empty(16)
    assert bitstring.set_bit(bits, 0) == b"\x80\x00"
    assert bitstring.set_bit(bits, 7) == b"\x01\x00"
    assert bitstring.set_bit(bits, 15) == b"\x00\x01"
    assert bitstring.get_bit(b"\x00\x01", 15)
    assert not bitstring.get_bit(b"\x00\x01", 14)
    for index in (-1, 16, True):
        with pytest.raises(bitstring.BitstringError):
            bitstring.get_bit(bits, index)


def test_the_encoded_list_is_gzip_then_base64url_with_the_multibase_prefix():
    bits = bitstring.set_bit(bitstring.empty(bitstring.MIN_ENTRIES), 94567)
    encoded = bitstring.encode(bits)
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "==")) == bits
    assert bitstring.decode(encoded) == bits
    assert bitstring.encode(bits) == encoded  # no time in the GZIP header: one list, one encoding


def test_the_specifications_example_list_decodes():
    # The empty 131,072-entry list of the specification's examples (another GZIP implementation).
    example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
    assert bitstring.decode(example) == bytes(16384)


@pytest.mark.parametrize(
    "encoded",
    [
        None,
        "",
        "u",
        "zH4sIAAAAAAAAA",  # base58 multibase: not what the specification uses
        "u!!!",
        "u" + b64(b"not gzip at all"),
        # mtime=0: no time in the GZIP header, so the ids are the same in every process (two
        # xdist workers collecting a second apart must collect the same tests).
        "u" + b64(gzip.compress(b"\x00" * 64, mtime=0) + b"trailing"),
        "u" + b64(gzip.compress(b"\x00" * 64, mtime=0)[:-4]),
        "u" + b64(gzip.compress(b"", mtime=0)),
    ],
)
def test_a_malformed_encoded_list_is_refused(encoded):
    with pytest.raises(bitstring.BitstringError):
        bitstring.decode(encoded)


def test_a_gzip_bomb_stops_at_the_limit():
    bomb = "u" + b64(gzip.compress(bytes(64 * 1024 * 1024)))
    with pytest.raises(bitstring.BitstringError, match="expands past"):
        bitstring.decode(bomb)


# --- allocation at issuance --------------------------------------------------------------------------


@pytest.mark.django_db
def test_issuance_gives_an_index_in_the_insert_and_the_credential_names_it(settings):
    certification = issuance_scene().issue().certification
    assert certification.status_list is not None
    assert 0 <= certification.status_index < certification.status_list.size
    assert certification.status_list.size == bitstring.MIN_ENTRIES == 131_072
    status = credential_document(certification)["credentialStatus"]
    url = f"{settings.REGISTRY_BASE_URL}/api/v1/status-lists/{certification.status_list_id}/"
    assert status == {
        "id": f"{url}#{certification.status_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(certification.status_index),
        "statusListCredential": url,
    }
    assert status_list_id_from_url(url) == certification.status_list_id


@pytest.mark.django_db
def test_the_index_can_never_change_after_issuance():
    certification = issuance_scene().issue().certification
    other = 0 if certification.status_index else 1
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Certification.objects.filter(pk=certification.pk).update(status_index=other)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Certification.objects.filter(pk=certification.pk).update(status_list=None, status_index=None)


@pytest.mark.django_db
def test_indexes_are_random_among_the_free_ones_and_never_shared():
    certifications = CertificationFactory.create_batch(40)
    assert len({c.status_list_id for c in certifications}) == 1
    indexes = [c.status_index for c in certifications]
    assert len(set(indexes)) == 40
    assert all(0 <= i < bitstring.MIN_ENTRIES for i in indexes)
    # Not handed out in order (the chance of 40 random picks being sorted is 1/40!).
    assert indexes != sorted(indexes)
    assert max(indexes) > 40


@pytest.mark.django_db
def test_two_certifications_cannot_share_an_index_in_the_database():
    first = CertificationFactory()
    with pytest.raises(IntegrityError, match="certification_status_index_unique"), transaction.atomic():
        CertificationFactory(status_list=first.status_list, status_index=first.status_index)
    # The same index in another list is another bit.
    other = StatusList.objects.create(size=8, bits=bitstring.empty(8))
    CertificationFactory(status_list=other, status_index=first.status_index % 8)


@pytest.mark.django_db
def test_a_list_without_an_index_or_an_index_without_a_list_is_refused():
    status_list = StatusList.objects.create(size=8, bits=bitstring.empty(8))
    with pytest.raises(IntegrityError, match="together"), transaction.atomic():
        CertificationFactory(status_list=status_list, status_index=None)
    with pytest.raises(IntegrityError, match="together"), transaction.atomic():
        CertificationFactory(status_list=None, status_index=3)


@pytest.mark.django_db
def test_a_lists_bits_must_match_its_size():
    with pytest.raises(IntegrityError, match="status_list_bits_match_size"), transaction.atomic():
        StatusList.objects.create(size=16, bits=bitstring.empty(8))


@pytest.mark.django_db
def test_a_full_list_is_closed_and_the_next_certification_opens_a_new_one():
    small = StatusList.objects.create(size=8, bits=bitstring.empty(8))
    certifications = CertificationFactory.create_batch(8)  # the last one finds the last free index
    assert {c.status_list_id for c in certifications} == {small.pk}
    assert sorted(c.status_index for c in certifications) == list(range(8))

    following = CertificationFactory()
    assert following.status_list_id != small.pk
    assert following.status_list.size == bitstring.MIN_ENTRIES
    small.refresh_from_db()
    assert small.full


@pytest.mark.django_db(transaction=True)
def test_allocation_outside_a_transaction_is_refused():
    from django.db.transaction import TransactionManagementError

    with pytest.raises(TransactionManagementError):
        status_list_allocate()


# --- the bit, set in the revocation's transaction ----------------------------------------------------


@pytest.mark.django_db
def test_revocation_sets_the_bit_and_only_that_bit():
    certification, neighbour = issuance_scene().issue().certification, CertificationFactory()
    assert certification.status_list_id == neighbour.status_list_id
    services.certification_revoke(actor=None, certification=certification, reason="Fraudulent assessment")
    bits = bytes(StatusList.objects.get(pk=certification.status_list_id).bits)
    assert bitstring.get_bit(bits, certification.status_index)
    assert not bitstring.get_bit(bits, neighbour.status_index)
    assert sum(bin(byte).count("1") for byte in bits) == 1


@pytest.mark.django_db
def test_a_revocation_that_rolls_back_leaves_the_bit_clear():
    certification = issuance_scene().issue().certification

    def revoke_then_fail() -> None:
        with transaction.atomic():
            services.certification_revoke(actor=None, certification=certification, reason="Mistake")
            raise RuntimeError("the use case failed after the revocation")

    with pytest.raises(RuntimeError):
        revoke_then_fail()
    bits = bytes(StatusList.objects.get(pk=certification.status_list_id).bits)
    assert not bitstring.get_bit(bits, certification.status_index)


@pytest.mark.django_db(transaction=True)
def test_revocation_and_issuance_hold_the_list_locked_until_they_commit():
    scene = issuance_scene()
    first = scene.issue().certification
    seen: list[str] = []

    def try_lock() -> None:
        try:
            with transaction.atomic():
                StatusList.objects.select_for_update(nowait=True).get(pk=first.status_list_id)
            seen.append("free")
        except DatabaseError:
            seen.append("busy")
        finally:
            connection.close()

    def in_thread() -> None:
        thread = threading.Thread(target=try_lock)
        thread.start()
        thread.join()

    with transaction.atomic():
        services.certification_revoke(actor=None, certification=first, reason="Fraudulent assessment")
        in_thread()
    with transaction.atomic():
        assert scene.issue().issued
        in_thread()
    in_thread()
    assert seen == ["busy", "busy", "free"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_revocations_in_one_list_lose_no_bit():
    certifications = CertificationFactory.create_batch(6)
    barrier = threading.Barrier(len(certifications))
    errors: list[BaseException] = []

    def revoke(certification) -> None:
        try:
            barrier.wait(timeout=30)
            services.certification_revoke(actor=None, certification=certification, reason="Batch fraud")
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=revoke, args=(c,)) for c in certifications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    bits = bytes(StatusList.objects.get(pk=certifications[0].status_list_id).bits)
    assert all(bitstring.get_bit(bits, c.status_index) for c in certifications)


# --- the signed list and the term check ------------------------------------------------------------


@pytest.mark.django_db
def test_the_status_list_credential_passes_the_term_check_and_verifies_with_the_jwks(settings):
    certification = CertificationFactory()
    document = status_list_document(certification.status_list, now=NOW)
    assert document["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["issuer"] == settings.REGISTRY_BASE_URL
    assert document["credentialSubject"]["id"] == f"{document['id']}#list"
    assert undefined_terms(document, context=STATUS_LIST_CONTEXT) == []
    # The credential with its credentialStatus passes the term check too.
    assert undefined_terms(credential_document(certification)) == []
    # And an undefined property inside credentialStatus does not.
    changed = credential_document(certification)
    changed["credentialStatus"]["favouriteColour"] = "green"
    assert undefined_terms(changed) == [
        "credentialStatus.favouriteColour: not defined by the shipped contexts"
    ]


# --- the headline: a revocation flips the bit, offline and online -----------------------------------


def fetch_status_list(certification) -> str:
    response = APIClient().get(f"/api/v1/status-lists/{certification.status_list_id}/")
    assert response.status_code == 200
    return response.content.decode()


def verify_online(token: str) -> dict:
    response = APIClient().post("/api/v1/verify/", {"credential": token}, format="json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_a_revocation_flips_the_bit_for_the_offline_and_the_online_verifier(tmp_path, no_network):
    registrar = UserFactory(username="registrar")
    certification = issuance_scene(actor=registrar).issue().certification
    token = sign_credential(credential_document(certification))
    jwks = keys.public_jwks()
    before = fetch_status_list(certification)

    online = verify_online(token)
    assert online["valid"] is True
    assert online["checks"][-1]["check"] == "status"
    assert online["checks"][-1]["passed"] is True

    services.certification_revoke(
        actor=registrar, certification=certification, reason="Fraudulent assessment"
    )

    # Online: the very next request says revoked.
    online = verify_online(token)
    assert online["valid"] is False
    assert [c["check"] for c in online["checks"] if c["passed"] is False] == ["status"]
    assert online["checks"][-1]["detail"].startswith("revoked:")

    # Offline with the fresh list: revoked. With the list fetched before: valid, as of then.
    after = fetch_status_list(certification)
    now = timezone.now()
    fresh = verify_compact(token, jwks, now, status_list=after)
    assert failed(fresh) == ["status"]
    assert f"revoked: bit {certification.status_index} of" in status_check(fresh).detail
    old = verify_compact(token, jwks, now, status_list=before)
    assert old.valid
    assert status_check(old).passed is True
    assert status_check(old).detail.startswith("not revoked:")

    # The same credential (fetched after revocation) says the same: only the bit changed.
    assert sign_credential(credential_document(certification)).split(".")[1] == token.split(".")[1]

    # And the command: exit 1 with the fresh list, 0 with the old one.
    files = {name: tmp_path / name for name in ("credential.jwt", "jwks.json", "before.jwt", "after.jwt")}
    files["credential.jwt"].write_text(token)
    files["jwks.json"].write_text(json.dumps(jwks))
    files["before.jwt"].write_text(before + "\n")
    files["after.jwt"].write_text(after)
    args = (str(files["credential.jwt"]),)
    out = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command(
            "verify_credential",
            *args,
            jwks=str(files["jwks.json"]),
            status_list=str(files["after.jwt"]),
            stdout=out,
        )
    assert error.value.returncode == 1
    assert "FAIL  status" in out.getvalue()
    out = io.StringIO()
    call_command(
        "verify_credential",
        *args,
        jwks=str(files["jwks.json"]),
        status_list=str(files["before.jwt"]),
        stdout=out,
    )
    assert "PASS  status" in out.getvalue()


# --- what the status check refuses -----------------------------------------------------------------


@pytest.fixture
def issued(db):
    certification = CertificationFactory()
    return certification, sign_credential(credential_document(certification))


def test_a_status_list_signed_by_another_key_is_refused(issued):
    certification, token = issued
    jwks = keys.public_jwks()
    forged = signed_by(OKPKey.generate_key("Ed25519"), status_list_document(certification.status_list))
    result = verify_compact(token, jwks, timezone.now(), status_list=forged)
    assert failed(result) == ["status"]
    assert "the status list fails its kid check" in status_check(result).detail

    # The same key's kid, another key's signature: the signature check.
    impostor = OKPKey.generate_key("Ed25519")
    kid = keys.current_signing_key().kid
    document = status_list_document(certification.status_list)
    header = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(document).encode())}"
    forged = f"{signing_input}.{b64(impostor.private_key.sign(signing_input.encode()))}"
    result = verify_compact(token, jwks, timezone.now(), status_list=forged)
    assert "the status list fails its signature check" in status_check(result).detail


def test_another_lists_status_list_is_refused(issued):
    _certification, token = issued
    other = StatusList.objects.create(size=131_072, bits=bitstring.empty(131_072))
    result = verify_compact(token, keys.public_jwks(), timezone.now(), status_list=status_list_token(other))
    assert failed(result) == ["status"]
    assert "the credential's is" in status_check(result).detail


def test_a_certificate_given_as_the_status_list_is_refused(issued):
    _certification, token = issued
    result = verify_compact(token, keys.public_jwks(), timezone.now(), status_list=token)
    assert failed(result) == ["status"]
    assert "jsonld-terms" in status_check(result).detail


def _signed_list(certification, change) -> str:
    document = status_list_document(certification.status_list)
    change(document)
    return signed_by(keys.current_signing_key().key, document)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["credentialSubject"].update(statusPurpose="suspension"), "not for revocation"),
        (
            lambda d: d["credentialSubject"].update(encodedList=bitstring.encode(bitstring.empty(1024))),
            "fewer than the 131072",
        ),
        (lambda d: d["credentialSubject"].update(encodedList="not a list"), "multibase"),
        (lambda d: d.update(issuer="https://elsewhere.example"), "different issuers"),
        (lambda d: d.update(type=["VerifiableCredential"]), "not a BitstringStatusListCredential"),
        (lambda d: d.update(validFrom="2999-01-01T00:00:00Z"), "validity-window"),
        (lambda d: d.update(validUntil="2020-01-01T00:00:00Z"), "validity-window"),
        (lambda d: d["credentialSubject"].update(favouriteColour="green"), "jsonld-terms"),
    ],
    ids=["purpose", "too short", "not encoded", "issuer", "type", "not yet valid", "expired", "terms"],
)
def test_a_status_list_that_does_not_hold_up_is_refused(issued, change, words):
    certification, token = issued
    result = verify_compact(
        token, keys.public_jwks(), timezone.now(), status_list=_signed_list(certification, change)
    )
    assert failed(result) == ["status"]
    assert words in status_check(result).detail


def test_a_status_list_a_little_ahead_of_the_verifiers_clock_is_accepted(issued):
    certification, token = issued
    ahead = timezone.now() + dt.timedelta(minutes=2)
    status_list = status_list_token(certification.status_list, now=ahead)
    assert verify_compact(token, keys.public_jwks(), timezone.now(), status_list=status_list).valid


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"statusPurpose": "message"}, "statusPurpose 'message'"),
        ({"statusListIndex": "-1"}, "statusListIndex '-1'"),
        ({"statusListIndex": 5}, "statusListIndex 5"),
        ({"statusListIndex": "0042"}, "statusListIndex '0042'"),
        ({"statusListIndex": "131072"}, "outside the status list"),
        ({"type": "StatusList2021Entry"}, "is not BitstringStatusListEntry"),
        ({"statusSize": 2}, "statusSize 2"),
    ],
)
def test_a_credential_status_entry_that_cannot_be_read_fails(issued, entry, words):
    certification, _token = issued
    document = credential_document(certification)
    document["credentialStatus"].update(entry)
    token = signed_by(keys.current_signing_key().key, document)
    result = verify_compact(
        token, keys.public_jwks(), timezone.now(), status_list=status_list_token(certification.status_list)
    )
    assert "status" in failed(result)
    assert words in status_check(result).detail


def test_online_a_list_this_registry_does_not_publish_fails_the_status_check(issued):
    certification, _token = issued
    document = credential_document(certification)
    elsewhere = f"https://elsewhere.example/api/v1/status-lists/{certification.status_list_id}/"
    document["credentialStatus"]["statusListCredential"] = elsewhere
    token = signed_by(keys.current_signing_key().key, document)
    result = verify_compact(
        token, keys.public_jwks(), timezone.now(), status_list=status_list_resolver(now=NOW)
    )
    assert failed(result) == ["status"]
    assert "not one this registry publishes" in status_check(result).detail


def test_a_status_list_given_for_a_credential_without_a_status_is_not_used(db):
    certification = CertificationFactory(status_list=None, status_index=None)
    token = sign_credential(credential_document(certification))
    other = CertificationFactory()
    result = verify_compact(
        token, keys.public_jwks(), timezone.now(), status_list=status_list_token(other.status_list)
    )
    assert result.valid
    assert status_check(result).passed is None
    assert "no credentialStatus" in status_check(result).detail
