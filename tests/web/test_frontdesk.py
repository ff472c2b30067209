"""The front desk pages through Django's test client: signing in, recording an intake (errors
next to their fields, the red-flag referral), the therapist search, booking, reassignment,
tenancy and roles, and what every page must hold (labels, CSRF, headings, no inline code)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from registry.choices import BookingStatus, DecisionKind
from registry.models import Booking, Decision, Intake
from registry.services.bookings import booking_create, slot_validate
from registry.services.credentials import certification_revoke
from tests.web.conftest import PASSWORD, record_intake

pytestmark = pytest.mark.django_db

LOW_BACK_QUESTIONS = [
    "ces-bladder-bowel",
    "ces-saddle-numbness",
    "ces-leg-weakness",
    "ces-bilateral-sciatica",
    "ces-sexual-dysfunction",
    "recent-trauma",
    "fever-back-pain",
    "cancer-history-back-pain",
    "unexplained-weight-loss",
    "calf-swelling-redness",
]


def text_of(html: str) -> str:
    """The page's words, tags stripped, entities decoded and spaces collapsed."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def content(response) -> str:
    return response.content.decode()


@pytest.fixture
def desk(client, world) -> Client:
    client.force_login(world.desk)
    return client


def tomorrow(world) -> dt.date:
    return (timezone.now().astimezone(ZoneInfo(world.spa.timezone)) + dt.timedelta(days=1)).date()


def slot(world, *, focus_minutes: int = 30, hour: str = "10:00") -> dict[str, str]:
    return {
        "date": tomorrow(world).isoformat(),
        "time": hour,
        "duration_minutes": "60",
        "focus_region": "lumbar",
        "focus_minutes": str(focus_minutes),
    }


def intake_post(**overrides) -> dict:
    """A complete intake form for M51.16: every low-back question answered no."""
    data = {
        "action": "record",
        "client_ref": "C-2001",
        "conditions": ["M51.16"],
        "pain_score": "6",
        **{f"screening-{code}": "no" for code in LOW_BACK_QUESTIONS},
    }
    data.update(overrides)
    return data


def book(world, intake, therapist, **kwargs):
    start = dt.datetime.combine(tomorrow(world), dt.time(10), tzinfo=ZoneInfo(world.spa.timezone))
    the_slot = slot_validate(
        spa=world.spa,
        intake=intake,
        start=start,
        duration_minutes=60,
        focus_region="lumbar",
        focus_minutes=30,
    )
    return booking_create(actor=world.desk, therapist=therapist, slot=the_slot).booking


# --- signing in ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "home"),
    [
        ("front-desk", "/front-desk/"),
        ("school-office", "/school/"),
        ("ana", "/therapist/"),
        ("registry-admin", "/registry-admin/"),
    ],
)
def test_signing_in_lands_each_role_on_its_home(client, world, username, home):
    response = client.post("/login/", {"username": username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == home
    assert response.status_code == 200
    assert f"Signed in as {username}" in text_of(content(response))


def test_a_wrong_password_is_refused_on_the_sign_in_page(client, world):
    response = client.post("/login/", {"username": "front-desk", "password": "wrong"})
    assert response.status_code == 200
    assert "There is a problem" in text_of(content(response))
    assert "_auth_user_id" not in client.session


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client, world):
    response = client.get("/front-desk/intakes/new/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/front-desk/intakes/new/"
    response = client.post(
        "/login/", {"username": "front-desk", "password": PASSWORD, "next": "/front-desk/intakes/new/"}
    )
    assert response["Location"] == "/front-desk/intakes/new/"


def test_an_htmx_request_after_the_session_ended_sends_the_whole_page_to_sign_in(client, world):
    response = client.get("/front-desk/intakes/conditions/", {"q": "disc"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/"


def test_signing_out_is_a_post_and_ends_the_session(desk):
    assert desk.get("/logout/").status_code == 405
    response = desk.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert desk.get("/front-desk/").status_code == 302


# --- roles and tenancy ---------------------------------------------------------------------------


FRONT_DESK_PAGES = ["/front-desk/", "/front-desk/intakes/new/", "/front-desk/intakes/conditions/?q=disc"]


@pytest.mark.parametrize("user", ["school_office", "ana_user", "admin"])
def test_other_roles_get_403_on_front_desk_pages(client, world, user):
    client.force_login(getattr(world, user))
    intake = record_intake(world)
    booking = book(world, intake, world.ana)
    pages = [*FRONT_DESK_PAGES, f"/front-desk/intakes/{intake.pk}/", f"/front-desk/bookings/{booking.pk}/"]
    for url in pages:
        assert client.get(url).status_code == 403, url
    posts = [
        f"/front-desk/intakes/{intake.pk}/book/",
        f"/front-desk/bookings/{booking.pk}/reassign/",
        f"/front-desk/bookings/{booking.pk}/cancel/",
    ]
    for url in posts:
        assert client.post(url, {"therapist": str(world.cara.pk)}).status_code == 403, url
    booking.refresh_from_db()
    assert (booking.therapist_id, booking.status) == (world.ana.pk, BookingStatus.CONFIRMED)


def test_spa_staff_get_403_on_the_other_roles_homes(desk):
    for url in ["/school/", "/therapist/", "/registry-admin/"]:
        response = desk.get(url)
        assert response.status_code == 403
        assert 'href="/front-desk/"' in content(response)


def test_another_spas_intake_and_booking_answer_404(desk, world):
    theirs = record_intake(world, spa=world.other_spa, client_ref="THEIRS")
    their_booking_slot = slot_validate(
        spa=world.other_spa,
        intake=theirs,
        start=timezone.now() + dt.timedelta(days=1),
        duration_minutes=60,
        focus_region=None,
        focus_minutes=0,
    )
    their_booking = Booking.objects.create(
        spa=world.other_spa,
        therapist=world.dan,
        intake=theirs,
        start=their_booking_slot.start,
        end=their_booking_slot.end,
        status=BookingStatus.CONFIRMED,
    )
    assert desk.get(f"/front-desk/intakes/{theirs.pk}/").status_code == 404
    assert desk.get(f"/front-desk/intakes/{theirs.pk}/", slot(world)).status_code == 404
    assert (
        desk.post(
            f"/front-desk/intakes/{theirs.pk}/book/", {"therapist": str(world.dan.pk), **slot(world)}
        ).status_code
        == 404
    )
    assert desk.get(f"/front-desk/bookings/{their_booking.pk}/").status_code == 404
    assert (
        desk.post(
            f"/front-desk/bookings/{their_booking.pk}/reassign/", {"therapist": str(world.dan.pk)}
        ).status_code
        == 404
    )
    assert desk.post(f"/front-desk/bookings/{their_booking.pk}/cancel/").status_code == 404
    their_booking.refresh_from_db()
    assert their_booking.status == BookingStatus.CONFIRMED
    home = text_of(content(desk.get("/front-desk/")))
    assert "THEIRS" not in home


def test_a_therapist_of_another_spa_cannot_be_booked(desk, world):
    intake = record_intake(world)
    response = desk.post(
        f"/front-desk/intakes/{intake.pk}/book/", {"therapist": str(world.dan.pk), **slot(world)}
    )
    assert response.status_code == 400
    assert "Choose one of the spa's therapists from the list." in text_of(content(response))
    assert not Booking.objects.exists()


# --- recording an intake -------------------------------------------------------------------------


def test_intake_errors_show_next_to_their_fields(desk):
    data = intake_post(client_ref="  ", pain_score="")
    del data["screening-ces-bladder-bowel"]
    response = desk.post("/front-desk/intakes/new/", data)
    assert response.status_code == 400
    html = content(response)
    # the client reference: the message right by its input, which points at it
    assert re.search(r'id="id_client_ref_error">.*A spa-local client reference is required\.', html), (
        "client_ref error"
    )
    assert re.search(r'<input[^>]*name="client_ref"[^>]*aria-invalid="true"', html)
    assert re.search(r'<input[^>]*aria-describedby="[^"]*id_client_ref_error', html)
    # the unanswered question: inside its own fieldset
    fieldset = re.search(
        r'<fieldset class="question field-invalid[^"]*"'
        r' aria-describedby="id_screening-ces-bladder-bowel_error">(.*?)</fieldset>',
        html,
        re.S,
    )
    assert fieldset is not None
    assert "This question must be answered before booking" in text_of(fieldset.group(1))
    assert re.search(r'id="id_pain_score_error">.*The pain score is 0 to 10\.', html)
    # the summary links each error to its field
    assert 'href="#id_client_ref"' in html
    assert 'href="#id_screening-ces-bladder-bowel_0"' in html
    # what was entered is kept
    assert re.search(r'value="M51.16"[^>]*checked', html)
    assert re.search(r'name="screening-ces-leg-weakness" value="no"[^>]*checked', html)
    assert not Intake.objects.exists()


def test_a_clearance_is_offered_only_for_physician_questions_and_checked_by_the_service(desk):
    html = content(desk.post("/front-desk/intakes/new/", {"action": "questions", "conditions": ["M51.16"]}))
    assert 'name="clearance-recent-trauma-on"' in html
    assert 'name="clearance-recent-trauma-by"' in html
    assert "clearance-ces-bladder-bowel" not in html
    response = desk.post(
        "/front-desk/intakes/new/",
        intake_post(**{"screening-recent-trauma": "no", "clearance-recent-trauma-by": "Dr. Lee"}),
    )
    assert response.status_code == 400
    assert re.search(
        r'id="clearance-recent-trauma_error">.*Only a yes answer needs a physician clearance\.',
        content(response),
    )


def test_the_questions_that_apply_follow_the_conditions_and_focus_regions(desk):
    def asked(params) -> set[str]:
        html = content(desk.get("/front-desk/intakes/questions/", params))
        return set(re.findall(r'name="screening-([a-z-]+)" value="yes"', html))

    assert asked({"conditions": ["M51.16"]}) == set(LOW_BACK_QUESTIONS)
    assert asked({"conditions": ["G44.209"]}) == {"recent-trauma"}  # the head: only the every-intake question
    assert asked({"conditions": ["G44.209"], "focus_regions": ["lower-limb"]}) == {
        "ces-bladder-bowel",
        "ces-saddle-numbness",
        "ces-leg-weakness",
        "ces-bilateral-sciatica",
        "ces-sexual-dysfunction",
        "recent-trauma",
        "calf-swelling-redness",
    }


def test_screening_answers_are_explicit_radios_with_nothing_preselected(desk):
    html = content(desk.post("/front-desk/intakes/new/", {"action": "questions", "conditions": ["M51.16"]}))
    radios = re.findall(r'<input type="radio"[^>]*>', html)
    assert len(radios) == 2 * len(LOW_BACK_QUESTIONS)
    assert not [r for r in radios if "checked" in r]
    for code in LOW_BACK_QUESTIONS:
        assert f'<label for="id_screening-{code}_0">Yes</label>' in html
        assert f'<label for="id_screening-{code}_1">No</label>' in html


def test_the_condition_picker_searches_by_code_or_name_and_keeps_the_chosen(desk):
    def listed(params) -> list[str]:
        html = content(desk.get("/front-desk/intakes/conditions/", params))
        return re.findall(r'name="conditions" value="([^"]+)"', html)

    assert listed({"q": "M51.16"}) == ["M51.16"]
    assert listed({"q": "m51.1"}) == ["M51.16", "M51.17"]
    assert set(listed({"q": "disc lumbar"})) == {"M51.16", "M51.26"}
    assert listed({"q": "headache", "conditions": ["M51.16"]}) == ["M51.16", "G44.209"]
    assert "No condition matches" in content(desk.get("/front-desk/intakes/conditions/", {"q": "zzz"}))


def test_without_javascript_search_and_questions_are_buttons_that_reshow_the_form(desk):
    response = desk.post(
        "/front-desk/intakes/new/",
        {"action": "search", "q": "radiculopathy lumbar", "client_ref": "C-9", "conditions": ["WELLNESS"]},
    )
    assert response.status_code == 200
    html = content(response)
    assert re.findall(r'name="conditions" value="([^"]+)"', html) == ["WELLNESS", "M51.16", "M54.16"]
    assert 'value="C-9"' in html
    assert "There is a problem" not in text_of(html)
    # WELLNESS is whole-body work: every question applies
    assert len(re.findall(r'name="screening-([a-z-]+)" value="yes"', html)) == len(LOW_BACK_QUESTIONS)


def test_recording_an_intake_goes_to_it(desk, world):
    response = desk.post("/front-desk/intakes/new/", intake_post())
    intake = Intake.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/front-desk/intakes/{intake.pk}/"
    assert (intake.spa, intake.client_ref, intake.referral) == (world.spa, "C-2001", None)
    assert intake.recorded_by == world.desk
    page = text_of(content(desk.get(response["Location"])))
    assert "Intake recorded for client C-2001." in page
    assert "Show therapists" in page


def test_a_red_flag_shows_the_emergency_referral_and_no_way_to_book(desk, world):
    response = desk.post(
        "/front-desk/intakes/new/", intake_post(**{"screening-ces-bladder-bowel": "yes"}), follow=True
    )
    html = content(response)
    words = text_of(html)
    assert "Emergency care now — do not massage" in words
    assert "Have you had any new or worsening problem with your bladder or bowels" in words
    assert "No session can be booked on this intake." in words
    assert 'role="alert"' in html
    assert "Show therapists" not in words
    assert "/book/" not in html
    # even with a session asked for in the address
    intake = Intake.objects.get()
    html = content(desk.get(f"/front-desk/intakes/{intake.pk}/", slot(world)))
    assert "Book " not in text_of(html)
    assert "/book/" not in html


def test_a_physician_flag_says_see_a_physician_first_and_a_clearance_lifts_it(desk, world):
    response = desk.post(
        "/front-desk/intakes/new/", intake_post(**{"screening-recent-trauma": "yes"}), follow=True
    )
    words = text_of(content(response))
    assert "See a physician first" in words
    assert "Emergency care now" not in words
    assert "Show therapists" not in words
    cleared = intake_post(
        client_ref="C-2002",
        **{
            "screening-recent-trauma": "yes",
            "clearance-recent-trauma-on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
            "clearance-recent-trauma-by": "Dr. Ada Lee",
        },
    )
    response = desk.post("/front-desk/intakes/new/", cleared, follow=True)
    words = text_of(content(response))
    assert "See a physician first" not in words
    assert "Show therapists" in words
    assert Intake.objects.get(client_ref="C-2002").clearances["recent-trauma"]["cleared_by"] == "Dr. Ada Lee"


# --- finding a therapist and booking -------------------------------------------------------------


def test_the_search_lists_every_therapist_allowed_first_with_reasons_in_words(desk, world):
    intake = record_intake(world)
    html = content(desk.get(f"/front-desk/intakes/{intake.pk}/", slot(world)))
    names = re.findall(r"<h3>([^<]+)</h3>", html)
    assert names == ["Ana Silva", "Cara Diaz", "Beth Jones"]
    cards = dict(zip(names, re.split(r"<h3>", html)[1:], strict=True))
    assert "Can take this session" in text_of(cards["Ana Silva"])
    beth = text_of(cards["Beth Jones"])
    assert "Cannot take this session" in beth
    assert (
        "Reason: Beth Jones is not certified in Low back with radiculopathy, which M51.16 requires." in beth
    )
    assert "Book Beth Jones" not in beth
    assert "Book Ana Silva" in text_of(cards["Ana Silva"])
    assert "Book Cara Diaz" in text_of(cards["Cara Diaz"])


def test_a_focus_over_the_protocols_limit_is_refused_for_everyone(desk, world):
    intake = record_intake(world)
    words = text_of(content(desk.get(f"/front-desk/intakes/{intake.pk}/", slot(world, focus_minutes=60))))
    assert "Can take this session" not in words
    assert words.count("Cannot take this session") == 3
    assert "60 minutes" in words
    assert "Book " not in words


def test_session_errors_from_the_service_show_next_to_their_fields(desk, world):
    intake = record_intake(world)
    params = {**slot(world), "duration_minutes": "30", "focus_minutes": "45"}
    response = desk.get(f"/front-desk/intakes/{intake.pk}/", params)
    assert response.status_code == 400
    assert re.search(
        r'id="id_focus_minutes_error">.*Focus minutes cannot exceed the session length\.', content(response)
    )
    params = {**slot(world), "focus_region": "head"}
    response = desk.get(f"/front-desk/intakes/{intake.pk}/", params)
    assert response.status_code == 400
    assert "Select a valid choice" in text_of(content(response))


def test_booking_creates_the_booking_in_the_spas_timezone(desk, world):
    intake = record_intake(world)
    response = desk.post(
        f"/front-desk/intakes/{intake.pk}/book/", {"therapist": str(world.ana.pk), **slot(world)}
    )
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/front-desk/bookings/{booking.pk}/"
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.therapist == world.ana
    assert booking.created_by == world.desk
    local = booking.start.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (local.date(), local.time()) == (tomorrow(world), dt.time(10))
    assert (booking.end - booking.start, booking.focus_region, booking.focus_minutes) == (
        dt.timedelta(minutes=60),
        "lumbar",
        30,
    )
    words = text_of(content(desk.get(response["Location"])))
    assert "Booked Ana Silva for" in words
    assert "Decision history" in words
    assert "Booking attempt · Ana Silva · by front-desk" in words
    assert "Allowed" in words


def test_a_refused_booking_shows_every_reason_and_books_nothing(desk, world):
    intake = record_intake(world)
    response = desk.post(
        f"/front-desk/intakes/{intake.pk}/book/", {"therapist": str(world.beth.pk), **slot(world)}
    )
    assert response.status_code == 409
    words = text_of(content(response))
    assert "Not booked: Beth Jones may not take this session" in words
    assert "is not certified in Low back with radiculopathy" in words
    assert not Booking.objects.exists()
    decision = Decision.objects.get()  # a refusal is a result: its decision is kept
    assert (decision.allowed, decision.therapist_id) == (False, world.beth.pk)


def test_every_post_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.desk)
    intake = record_intake(world)
    assert client.post("/front-desk/intakes/new/", intake_post()).status_code == 403
    response = client.post(
        f"/front-desk/intakes/{intake.pk}/book/", {"therapist": str(world.ana.pk), **slot(world)}
    )
    assert response.status_code == 403
    assert Intake.objects.count() == 1
    assert not Booking.objects.exists()


# --- the day, reassignment -----------------------------------------------------------------------


def test_a_revoked_certificate_puts_the_booking_on_top_with_a_reassign_button(desk, world):
    intake = record_intake(world)
    booking = book(world, intake, world.ana)
    certification_revoke(
        actor=world.admin, certification=world.ana_certification, reason="Fraudulent assessment"
    )
    html = content(desk.get("/front-desk/"))
    words = text_of(html)
    assert "Needs reassignment (1)" in words
    assert (
        html.index('id="needs-heading"')
        < html.index('id="today-heading"')
        < html.index('id="upcoming-heading"')
    )
    assert "revoked" in words
    assert "Reassign to Cara Diaz" in words
    assert "Reassign to Beth Jones" not in words

    response = desk.post(
        f"/front-desk/bookings/{booking.pk}/reassign/",
        {"therapist": str(world.cara.pk), "next": "/front-desk/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/front-desk/"
    booking.refresh_from_db()
    assert (booking.therapist_id, booking.status) == (world.cara.pk, BookingStatus.CONFIRMED)
    words = text_of(content(desk.get("/front-desk/")))
    assert "Reassigned to Cara Diaz" in words
    assert "Needs reassignment (" not in words

    history = text_of(content(desk.get(f"/front-desk/bookings/{booking.pk}/")))
    kinds = [d.kind for d in booking.decisions.order_by("made_at")]
    assert kinds == [DecisionKind.BOOKING, DecisionKind.RECHECK, DecisionKind.REASSIGNMENT]
    assert history.index("Booking attempt · Ana Silva") < history.index("Re-check after a change · Ana Silva")
    assert history.index("Re-check after a change · Ana Silva") < history.index("Reassignment · Cara Diaz")
    assert "by the registry (automatic)" not in history  # the revocation had an actor
    assert "Refused" in history


def test_reassigning_to_a_refused_therapist_keeps_the_booking_and_says_why(desk, world):
    intake = record_intake(world)
    booking = book(world, intake, world.ana)
    response = desk.post(f"/front-desk/bookings/{booking.pk}/reassign/", {"therapist": str(world.beth.pk)})
    assert response.status_code == 409  # the booking's page again, with every reason
    words = text_of(content(response))
    assert "Not reassigned: Beth Jones may not take this session" in words
    assert "not certified" in words
    booking.refresh_from_db()
    assert booking.therapist_id == world.ana.pk


def test_cancelling_frees_the_booking(desk, world):
    booking = book(world, record_intake(world), world.ana)
    response = desk.post(f"/front-desk/bookings/{booking.pk}/cancel/", follow=True)
    assert "Booking cancelled" in text_of(content(response))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


def test_the_day_page_costs_a_fixed_number_of_queries(desk, world, django_assert_max_num_queries):
    for hour in (9, 11, 13):
        intake = record_intake(world, client_ref=f"C-{hour}")
        start = dt.datetime.combine(tomorrow(world), dt.time(hour), tzinfo=ZoneInfo(world.spa.timezone))
        for therapist in (world.ana, world.cara):
            the_slot = slot_validate(
                spa=world.spa,
                intake=intake,
                start=start,
                duration_minutes=60,
                focus_region=None,
                focus_minutes=0,
            )
            booking_create(actor=world.desk, therapist=therapist, slot=the_slot)
    certification_revoke(actor=None, certification=world.ana_certification, reason="test")
    with django_assert_max_num_queries(12):
        response = desk.get("/front-desk/")
    assert text_of(content(response)).count("Client C-") == 3


# --- every page ----------------------------------------------------------------------------------


class PageStructure(HTMLParser):
    """What every page must hold: a language, a skip link to main, labelled inputs, CSRF in
    every POST form, headings in order, and nothing inline (the CSP forbids it)."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = None
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.inputs: list[dict] = []
        self.headings: list[int] = []
        self.inline: list[str] = []
        self.forms: list[dict] = []
        self.skip_link = False
        self._label_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "a" and a.get("href") == "#main" and not self.headings and not self.inputs:
            self.skip_link = True
        if tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit", "button"}:
            self.inputs.append({**a, "_in_label": self._label_depth > 0})
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if "style" in a or tag == "style" or any(k.startswith("on") for k in a):
            self.inline.append(tag)
        if tag == "script" and not a.get("src"):
            self.inline.append("script")
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "csrf": False})
        if tag == "input" and a.get("name") == "csrfmiddlewaretoken" and self.forms:
            self.forms[-1]["csrf"] = True

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1

    def problems(self) -> list[str]:
        found = []
        if self.lang != "en":
            found.append("no lang attribute")
        if not self.skip_link or "main" not in self.ids:
            found.append("no skip link to #main first")
        for field in self.inputs:
            if not (field.get("id") in self.label_for or field["_in_label"] or field.get("aria-label")):
                found.append(f"unlabelled input {field.get('name')}")
        if self.headings.count(1) != 1:
            found.append(f"{self.headings.count(1)} h1")
        for before, after in zip(self.headings, self.headings[1:], strict=False):
            if after > before + 1:
                found.append(f"heading h{before} followed by h{after}")
        if self.inline:
            found.append(f"inline code or style: {self.inline}")
        found += [
            f"POST form {i} without CSRF"
            for i, f in enumerate(self.forms)
            if f["method"] == "post" and not f["csrf"]
        ]
        return found


def check_page(response) -> None:
    assert response.status_code in (200, 400, 403, 409), response.status_code
    parser = PageStructure()
    parser.feed(content(response))
    assert parser.problems() == [], response.request["PATH_INFO"]


def test_every_front_desk_page_is_accessible_in_structure(desk, world, client):
    intake = record_intake(world)
    red = record_intake(world, yes=["ces-leg-weakness"], client_ref="C-RED")
    booking = book(world, intake, world.ana)
    certification_revoke(actor=None, certification=world.ana_certification, reason="test")
    pages = [
        desk.get("/front-desk/"),
        desk.get("/front-desk/intakes/new/"),
        desk.post("/front-desk/intakes/new/", {"action": "record", "conditions": ["M51.16"]}),
        desk.get(f"/front-desk/intakes/{intake.pk}/"),
        desk.get(f"/front-desk/intakes/{intake.pk}/", slot(world, hour="15:00")),
        desk.get(f"/front-desk/intakes/{intake.pk}/", {**slot(world), "duration_minutes": "x"}),
        desk.post(
            f"/front-desk/intakes/{intake.pk}/book/",
            {"therapist": str(world.beth.pk), **slot(world, hour="15:00")},
        ),
        desk.get(f"/front-desk/intakes/{red.pk}/"),
        desk.get(f"/front-desk/bookings/{booking.pk}/"),
    ]
    for response in pages:
        check_page(response)
    desk.logout()
    check_page(client.get("/login/"))
    for user in (world.school_office, world.ana_user, world.admin):
        client.force_login(user)
        check_page(client.get("/home/", follow=True))
        check_page(client.get("/front-desk/"))


def test_htmx_is_served_from_our_own_static_files(desk):
    html = content(desk.get("/front-desk/"))
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert len(scripts) == 1
    assert re.fullmatch(r"/static/vendor/htmx/htmx-2\.0\.10\.min(\.[0-9a-f]{12})?\.js", scripts[0])
    assert finders.find("vendor/htmx/htmx-2.0.10.min.js")
    assert finders.find("css/app.css")
    assert '"includeIndicatorStyles": false' in html  # htmx would otherwise inject a <style>
