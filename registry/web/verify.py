"""Anyone holding a certificate can check it: ``/verify/{serial}`` (an HTML page for a phone, with
a QR code linking to itself) and ``/verify/{serial}.pdf`` (the printable certificate, the same
facts and the same QR code). Both read the certification as it is now: a revocation shows from
the very next request, and neither may be served from a cache.

The serial is 128 random bits: knowing it is what lets one see the page. The page says who is
certified in what, by which school and instructor, over which window, and its status in plain
words — nothing about licences, e-mail or clients.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from credentials.choices import CertificationStatus
from credentials.models import Certification
from credentials.selectors import certification_by_serial
from credentials.vc.document import DEFAULT_REGISTRY_NAME

# Fonts for the PDF, first found wins: DejaVu covers most scripts' letters (names such as
# "Łukasiewicz"); reportlab's own Vera (Latin-1) is always there.
_FONT_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
)


# A serial is ``secrets.token_urlsafe(16)``; anything else is no serial (and never reaches SQL).
_SERIAL = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _certification(serial: str, now: dt.datetime) -> Certification | None:
    return certification_by_serial(serial=serial, at=now) if _SERIAL.match(serial) else None


@dataclass(frozen=True)
class CertificateStatus:
    """The status in plain words: ``key`` (valid, revoked, expired, not-yet-valid), a one-word
    ``headline`` and a ``sentence`` saying since when and why."""

    key: str
    headline: str
    sentence: str


def _day(value: dt.datetime) -> str:
    return date_format(timezone.localtime(value), "j F Y")


def _moment(value: dt.datetime) -> str:
    return date_format(timezone.localtime(value), "j F Y, H:i T")


def certificate_status(certification: Certification, now: dt.datetime) -> CertificateStatus:
    """What the page says about ``certification`` at ``now``. A revocation is told as soon as it
    is recorded (the status list's bit is set then too), with its date and reason."""
    if certification.revoked_at is not None:
        reason = certification.revoked_reason.strip()
        stop = "" if reason.endswith((".", "!", "?")) else "."
        return CertificateStatus(
            "revoked", "Revoked", f"Revoked on {_moment(certification.revoked_at)} because {reason}{stop}"
        )
    status = certification.status_at(now)
    if status == CertificationStatus.NOT_YET_VALID:
        return CertificateStatus(
            "not-yet-valid", "Not yet valid", f"Not yet valid: valid from {_day(certification.valid_from)}."
        )
    if status == CertificationStatus.EXPIRED:
        return CertificateStatus("expired", "Expired", f"Expired on {_day(certification.expires_at)}.")
    return CertificateStatus("valid", "Valid", f"Valid until {_day(certification.expires_at)}.")


def page_url(serial: str) -> str:
    """The page's own address, as the QR code carries it."""
    return settings.REGISTRY_BASE_URL + reverse("verify-certificate", args=[serial])


def _qr(serial: str) -> segno.QRCode:
    return segno.make_qr(page_url(serial), error="m")


def _qr_svg(serial: str) -> str:
    svg = _qr(serial).svg_inline(scale=4, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr")
    # segno's own markup (paths only), labelled for screen readers.
    return svg.replace("<svg ", '<svg role="img" aria-label="QR code: the address of this page" ', 1)


def _registry_name() -> str:
    return getattr(settings, "REGISTRY_NAME", DEFAULT_REGISTRY_NAME)


def _facts(certification: Certification) -> list[tuple[str, str]]:
    protocol = certification.protocol
    return [
        ("Therapist", certification.therapist.name),
        ("Protocol", f"{protocol.name} (version {protocol.version})"),
        ("School", certification.school.name),
        ("Instructor", certification.instructor.name),
        ("Taught on", date_format(certification.taught_on, "j F Y")),
        ("Valid from", _day(certification.valid_from)),
        ("Valid until", _day(certification.expires_at)),
        ("Serial", certification.serial),
    ]


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "verify/not_found.html", {"registry_name": _registry_name()}, status=404)


@require_safe
@cache_control(no_cache=True)
def certificate_page(request: HttpRequest, serial: str) -> HttpResponse:
    """``GET /verify/{serial}``: the certificate's facts and status; unknown serial → 404 page."""
    now = timezone.now()
    certification = _certification(serial, now)
    if certification is None:
        return _not_found(request)
    return render(
        request,
        "verify/certificate.html",
        {
            "registry_name": _registry_name(),
            "certification": certification,
            "facts": _facts(certification),
            "status": certificate_status(certification, now),
            "checked_at": _moment(now),
            "page_url": page_url(certification.serial),
            "qr_svg": mark_safe(_qr_svg(certification.serial)),  # noqa: S308 — segno's SVG of our own URL
            "pdf_url": reverse("verify-certificate-pdf", args=[certification.serial]),
        },
    )


# --- the printable certificate -------------------------------------------------------------------


@cache
def _fonts() -> tuple[str, str]:
    """(regular, bold) font names registered with reportlab, once per process."""
    for regular, bold in _FONT_CANDIDATES:
        if Path(regular).is_file() and Path(bold).is_file():
            try:
                pdfmetrics.registerFont(TTFont("CertSans", regular))
                pdfmetrics.registerFont(TTFont("CertSans-Bold", bold))
            except TTFError:
                continue
            return "CertSans", "CertSans-Bold"
    pdfmetrics.registerFont(TTFont("CertVera", "Vera.ttf"))
    pdfmetrics.registerFont(TTFont("CertVera-Bold", "VeraBd.ttf"))
    return "CertVera", "CertVera-Bold"


def _text(value: str) -> str:
    return escape(value)  # Paragraph reads a small XML markup: names are text, not markup


def certificate_pdf_bytes(certification: Certification, now: dt.datetime) -> bytes:
    """The printable certificate: the page's facts and status, with its QR code as a PNG."""
    regular, bold = _fonts()
    title = ParagraphStyle("title", fontName=bold, fontSize=22, leading=28, spaceAfter=4 * mm)
    small = ParagraphStyle(
        "small", fontName=regular, fontSize=9, leading=12, textColor=colors.HexColor("#444")
    )
    body = ParagraphStyle("body", fontName=regular, fontSize=11, leading=15)
    label = ParagraphStyle("label", parent=body, fontName=bold)
    name = ParagraphStyle(
        "name", fontName=bold, fontSize=18, leading=24, spaceBefore=2 * mm, spaceAfter=2 * mm
    )
    status = certificate_status(certification, now)
    url = page_url(certification.serial)

    png = io.BytesIO()
    _qr(certification.serial).save(png, kind="png", scale=8, border=4)
    png.seek(0)
    qr_size = 45 * mm

    rows = [
        [Paragraph(_text(key), label), Paragraph(_text(value), body)] for key, value in _facts(certification)
    ]
    rows.append(
        [Paragraph("Status", label), Paragraph(_text(f"{status.sentence} (as of {_moment(now)})"), body)]
    )
    facts = Table(rows, colWidths=[32 * mm, None], hAlign="LEFT")
    facts.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.HexColor("#bbb")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story = [
        Paragraph(_text(_registry_name()), small),
        Spacer(1, 4 * mm),
        Paragraph("Certificate of protocol training", title),
    ]
    if status.key != "valid":  # a printout of a certificate that does not count says so first
        warning = ParagraphStyle(
            "warning",
            parent=body,
            fontName=bold,
            fontSize=14,
            leading=18,
            textColor=colors.HexColor("#a30000"),
        )
        story += [
            Paragraph(_text(f"{status.headline.upper()}: {status.sentence}"), warning),
            Spacer(1, 4 * mm),
        ]
    story += [
        Paragraph("This certifies that", body),
        Paragraph(_text(certification.therapist.name), name),
        Paragraph(
            _text(
                f"completed the fundamentals, the critical details and the harm-avoidance modules of the "
                f"{certification.protocol.name} protocol, taught by {certification.instructor.name} at "
                f"{certification.school.name}."
            ),
            body,
        ),
        Spacer(1, 6 * mm),
        facts,
        Spacer(1, 8 * mm),
        Image(png, width=qr_size, height=qr_size, hAlign="LEFT"),
        Paragraph(_text(f"Scan the code, or open {url}, to see whether it is valid today."), small),
        Spacer(1, 2 * mm),
        Paragraph(
            _text(
                f"Printed on {_moment(now)}. A printout cannot show a later revocation: "
                "the page at the address above always shows the current status."
            ),
            small,
        ),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=letter,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Certificate {certification.serial}",
        author=_registry_name(),
        subject=f"{certification.protocol.name} certification of {certification.therapist.name}",
    ).build(story)
    return out.getvalue()


@require_safe
@cache_control(no_cache=True)
def certificate_pdf(request: HttpRequest, serial: str) -> HttpResponse:
    """``GET /verify/{serial}.pdf``: the printable certificate; unknown serial → 404 page."""
    now = timezone.now()
    certification = _certification(serial, now)
    if certification is None:
        return _not_found(request)
    response = HttpResponse(certificate_pdf_bytes(certification, now), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{certification.serial}.pdf"'
    return response
