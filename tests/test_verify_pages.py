"""The public verification pages: ``/verify/{serial}`` (HTML, for a phone, with a QR code linking to
itself) and ``/verify/{serial}.pdf`` (the printable certificate with the same QR code)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
import zxingcpp
from django.contrib.staticfiles import finders
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from credentials import services
from credentials.tests.factories import CertificationFactory, issuance_scene
from registry.web.verify import page_url

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.django_db


@pytest.fixture
def certification():
    return issuance_scene().issue().certification


def page(client, serial: str):
    return client.get(f"/verify/{serial}")


def text_of(html: str) -> str:
    """The page's visible words, tags stripped and spaces collapsed."""
    return re.sub(r" ([.,;:])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", html).split()))


# --- the page ------------------------------------------------------------------------------------


def test_the_page_shows_the_certificate_and_says_valid(client, certification):
    response = page(client, certification.serial)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    words = text_of(html)
    for fact in (
        certification.therapist.name,
        certification.protocol.name,
        certification.school.name,
        certification.instructor.name,
        certification.serial,
        f"Valid until {certification.expires_at:%-d %B %Y}",
    ):
        assert fact in words, fact
    assert "This certificate is valid." in words
    assert "Status: Valid" in words


def test_the_page_is_a_plain_accessible_page_for_a_phone(client, certification):
    html = page(client, certification.serial).content.decode()
    assert re.search(r'<html lang="en">', html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert re.search(r'<a class="skip-link" href="#main">', html)
    assert 'id="main"' in html
    assert "<script" not in html
    assert "<style" not in html  # the CSP allows only the stylesheet
    assert " style=" not in html
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    # Nothing from another origin: the only absolute URLs are the page's own address.
    assert set(re.findall(r'(?:src|href)="(https?://[^"]+)"', html)) <= {page_url(certification.serial)}
    assert len(re.findall(r"<h1[ >]", html)) == 1


def test_the_stylesheet_ships_with_the_project():
    # Served once STATICFILES_DIRS names the project's static/ directory (see the report).
    css = (ROOT / "static" / "css" / "site.css").read_text()
    assert ".skip-link" in css
    assert "@import" not in css
    assert "url(" not in css
    found = finders.find("css/site.css")
    if found is not None:
        assert Path(found) == ROOT / "static" / "css" / "site.css"


def test_the_page_carries_a_qr_code_of_its_own_address_as_inline_svg(client, certification, settings):
    html = page(client, certification.serial).content.decode()
    svg = re.search(r"<svg [^>]*>.*?</svg>", html, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0)
    assert page_url(certification.serial) == f"{settings.REGISTRY_BASE_URL}/verify/{certification.serial}"
    assert f'href="{page_url(certification.serial)}"' in html
    assert f'href="/verify/{certification.serial}.pdf"' in html


def test_the_page_says_revoked_with_when_and_why_on_the_next_request(client, certification):
    assert "This certificate is valid." in text_of(page(client, certification.serial).content.decode())
    services.certification_revoke(actor=None, certification=certification, reason="Assessment was forged")

    response = page(client, certification.serial)
    assert response.status_code == 200
    words = text_of(response.content.decode())
    assert "This certificate is revoked." in words
    assert re.search(r"Revoked on \d{1,2} \w+ \d{4}, \d\d:\d\d UTC because Assessment was forged\.", words)
    assert "This certificate is valid" not in words
    assert "Status: Revoked" in words


def test_the_page_is_never_cached(client, certification):
    response = page(client, certification.serial)
    assert "no-cache" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex">' in response.content.decode()


@pytest.mark.parametrize(
    ("window", "words"),
    [
        ({"valid_from": dt.timedelta(days=-800), "expires_at": dt.timedelta(days=-70)}, "is expired"),
        ({"valid_from": dt.timedelta(days=20), "expires_at": dt.timedelta(days=750)}, "is not yet valid"),
    ],
)
def test_the_page_says_expired_or_not_yet_valid(client, window, words):
    now = timezone.now()
    certification = CertificationFactory(**{field: now + delta for field, delta in window.items()})
    text = text_of(page(client, certification.serial).content.decode())
    assert f"This certificate {words}." in text


def test_names_are_text_not_markup(client):
    certification = CertificationFactory(therapist__name='<script>alert("x")</script> Zoë Łukasiewicz')
    html = page(client, certification.serial).content.decode()
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "Zoë Łukasiewicz" in html


@pytest.mark.parametrize("serial", ["no-such-serial", "x" * 200, "abc.def", "%00"])
def test_an_unknown_serial_is_a_404_page(client, certification, serial):
    response = page(client, serial)
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "Certificate not found" in html
    assert '<html lang="en">' in html
    assert certification.therapist.name not in html


def test_only_get_and_head_are_answered(client, certification):
    assert client.head(f"/verify/{certification.serial}").status_code == 200
    assert client.post(f"/verify/{certification.serial}").status_code == 405


def test_the_page_reads_a_fixed_number_of_queries(client, django_assert_num_queries):
    for certification in CertificationFactory.create_batch(2):
        with django_assert_num_queries(2):  # the certification with its relations; its modules
            assert page(client, certification.serial).status_code == 200


# --- the printable certificate --------------------------------------------------------------------


def pdf(client, serial: str):
    return client.get(f"/verify/{serial}.pdf")


def test_the_pdf_holds_the_facts_and_a_qr_code_that_decodes_to_the_page(client, certification):
    response = pdf(client, certification.serial)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"certificate-{certification.serial}.pdf" in response["Content-Disposition"]
    assert "no-cache" in response["Cache-Control"]

    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    for fact in (
        certification.serial,
        certification.therapist.name,
        certification.protocol.name,
        certification.school.name,
        certification.instructor.name,
    ):
        assert fact in text, fact
    assert "Valid until" in text

    (image,) = reader.pages[0].images
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))
    assert [barcode.text for barcode in decoded] == [page_url(certification.serial)]
    assert decoded[0].format == zxingcpp.BarcodeFormat.QRCode


def test_the_pdf_of_a_revoked_certificate_says_so(client, certification):
    services.certification_revoke(actor=None, certification=certification, reason="Assessment was forged")
    text = " ".join(
        PdfReader(io.BytesIO(pdf(client, certification.serial).content)).pages[0].extract_text().split()
    )
    assert "Revoked on" in text
    assert "because Assessment was forged." in text


def test_the_pdf_prints_names_beyond_latin_1(client):
    certification = CertificationFactory(therapist__name="Zoë Łukasiewicz-Nguyễn")
    text = PdfReader(io.BytesIO(pdf(client, certification.serial).content)).pages[0].extract_text()
    assert "Zoë Łukasiewicz-Nguyễn" in text


def test_an_unknown_serial_has_no_pdf(client):
    response = pdf(client, "no-such-serial")
    assert response.status_code == 404
    assert "Certificate not found" in response.content.decode()
