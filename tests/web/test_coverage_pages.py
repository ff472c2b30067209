"""The coverage pages (issue 27): the spa's coverage (front desk) and the school's demand
(school office), each table with its SVG chart and a CSV download.

Through Django's test client: who may open them, the window, the CSV files (the same cells as
the tables), what every page must hold. In Debian's headless Chromium with the demo data
(``load_demo``): both pages reached and used by keyboard, screenshotted, scanned with axe-core,
and every bar of every chart checked against its table cell."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

from registry.demo import DEMO_PASSWORD
from registry.services.bookings import booking_create, slot_validate
from tests.web.conftest import SCREENSHOTS, assert_accessible, record_intake, sign_in
from tests.web.test_frontdesk import PageStructure, content, text_of


def check_page(response) -> None:
    parser = PageStructure()
    parser.feed(content(response))
    assert parser.problems() == [], response.request["PATH_INFO"]


def _refusals(world, count: int, *, spa=None, therapist=None) -> None:
    """``count`` intakes (M51.16), each with one attempt by an uncertified therapist."""
    spa = spa or world.spa
    therapist = therapist or world.beth
    for n in range(count):
        intake = record_intake(world, spa=spa, client_ref=f"PAGE-{spa.pk.hex[:4]}-{n}")
        slot = slot_validate(
            spa=spa,
            intake=intake,
            start=intake.recorded_at + dt.timedelta(days=1, hours=n),
            duration_minutes=60,
            focus_region="lumbar",
            focus_minutes=20,
        )
        assert not booking_create(actor=None, therapist=therapist, slot=slot).allowed


@pytest.fixture
def desk(client, world) -> Client:
    client.force_login(world.desk)
    return client


@pytest.mark.django_db
def test_the_coverage_page_shows_each_table_beside_its_chart(desk, world):
    _refusals(world, 6)
    response = desk.get("/front-desk/coverage/")
    assert response.status_code == 200
    check_page(response)
    html = content(response)
    assert html.count('<svg class="chart-svg" role="img"') == 2
    assert 'id="conditions-table"' in html
    assert 'id="forecast-table"' in html
    words = text_of(html)
    assert "M51.16 Intervertebral disc disorders with radiculopathy, lumbar region 6 0 6 0" in words
    assert "PAGE-" not in html  # no client reference


@pytest.mark.django_db
def test_the_coverage_csv_files_hold_the_tables_cells(desk, world):
    _refusals(world, 6)
    rows = list(csv.reader(io.StringIO(content(desk.get("/front-desk/coverage/conditions.csv")))))
    assert rows[0][:5] == [
        "Condition",
        "Intakes",
        "Allowed therapist",
        "Refused: not certified",
        "Refused: focus limit",
    ]
    assert rows[1][1:5] == ["6", "0", "6", "0"]
    assert rows[1][5] == "Low back with radiculopathy (6)"
    response = desk.get("/front-desk/coverage/forecast.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="coverage-forecast-')
    forecast = {row[1]: row for row in csv.reader(io.StringIO(content(response)))}
    assert forecast["WELLNESS"][2:] == ["3", "3", "3", "3"]  # Ana, Beth, Cara: licensed, employed
    assert desk.get("/front-desk/coverage/other.csv").status_code == 404


@pytest.mark.django_db
def test_a_wrong_window_is_explained_next_to_the_field(desk):
    response = desk.get("/front-desk/coverage/?from=2026-03-01&to=2026-01-01")
    assert response.status_code == 400
    check_page(response)
    assert "`from` must not be after `to`." in text_of(content(response))
    assert desk.get("/front-desk/coverage/conditions.csv?from=2020-01-01&to=2026-01-01").status_code == 400


@pytest.mark.django_db
def test_the_school_demand_page_adds_up_the_spas_and_names_none(client, scene):
    from credentials.tests.factories import SchoolAuthorizationFactory

    SchoolAuthorizationFactory(school=scene.school, protocol=scene.radiculopathy)
    _refusals(scene, 3)
    _refusals(scene, 3, spa=scene.other_spa, therapist=scene.dan)  # Dan holds tension-type only
    client.force_login(scene.school_office)
    response = client.get("/school/demand/")
    assert response.status_code == 200
    check_page(response)
    html = content(response)
    words = text_of(html)
    assert "Low back with radiculopathy 6 6" in words
    assert "Tension-type headache 0 0" in words
    for spa in (scene.spa, scene.other_spa):
        assert spa.name not in html
        assert str(spa.pk) not in html
    assert "PAGE-" not in html
    rows = list(csv.reader(io.StringIO(content(client.get("/school/demand.csv")))))
    assert ["Low back with radiculopathy", "6", "6"] in rows


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "url"),
    [
        ("school-office", "/front-desk/coverage/"),
        ("ana", "/front-desk/coverage/conditions.csv"),
        ("registry-admin", "/front-desk/coverage/"),
        ("front-desk", "/school/demand/"),
        ("ana", "/school/demand.csv"),
    ],
)
def test_each_page_is_for_its_tenants_staff(client, world, username, url):
    from core.models import User

    client.force_login(User.objects.get(username=username))
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/school/demand/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- in Chromium, with the demo data -----------------------------------------------------------------


@pytest.fixture
def demo(transactional_db, live_server):
    call_command("load_catalog", verbosity=0, stdout=io.StringIO())
    call_command("load_demo", stdout=io.StringIO())


def charts_agree_with_tables(page) -> int:
    """Every bar of every chart on the page shows the figure of its table's cell (same row key,
    the column of its series), and bar lengths are proportional to the figures. Returns the
    number of bars compared."""
    compared = 0
    for chart in page.locator("figure.chart").all():
        table = chart.locator("xpath=following-sibling::div[1]//table")
        headers = table.locator("thead th").all()
        column = {
            h.get_attribute("data-series"): i for i, h in enumerate(headers) if h.get_attribute("data-series")
        }
        ratios = set()
        for bar in chart.locator("rect.bar").all():
            row, series, value = (bar.get_attribute(a) for a in ("data-row", "data-series", "data-value"))
            cells = table.locator(f'tbody tr[data-row="{row}"]').locator("th, td")
            assert cells.nth(column[series]).inner_text().strip() == value, (row, series)
            label = bar.locator("xpath=following-sibling::*[1]")
            assert label.text_content().strip() == value
            if value.isdigit() and int(value):
                ratios.add(round(float(bar.get_attribute("width")) / int(value), 3))
            compared += 1
        assert len(ratios) <= 1, ratios  # one scale per chart
        rows = table.locator("tbody tr").count()
        assert chart.locator("g.chart-row").count() == rows
    return compared


@pytest.mark.browser
@pytest.mark.integration
def test_the_demo_coverage_page_by_keyboard_with_charts_that_agree_with_their_tables(page, live_server, demo):
    sign_in(page, live_server, "front-desk", DEMO_PASSWORD)
    nav = page.get_by_role("navigation", name="Account")
    link = nav.get_by_role("link", name="Coverage")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/front-desk/coverage/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Coverage")
    expect(page.get_by_role("img", name=re.compile("Intakes per condition"))).to_be_visible()
    conditions = page.get_by_role("table", name=re.compile("Conditions seen at intake"))
    expect(conditions.get_by_role("row", name=re.compile("G44.209"))).to_contain_text("6")
    assert charts_agree_with_tables(page) > 20
    assert page.locator("rect.bar-suppressed").count() > 0  # F07.81: 2 intakes, shown as < 5
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "test_coverage_pages--spa-coverage.png"), full_page=True)

    # a narrower window, typed and sent by keyboard: still agreeing, still accessible
    week_before = dt.date.fromisoformat(
        page.get_by_role("textbox", name="To", exact=True).input_value()
    ) - dt.timedelta(days=7)
    page.get_by_role("textbox", name="From", exact=True).focus()
    page.keyboard.type(f"{week_before:%m%d%Y}")  # a date field, in the en-US order
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(f"from={week_before.isoformat()}"))
    charts_agree_with_tables(page)
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the conditions table (CSV)").click()
    assert download.value.suggested_filename.startswith("coverage-conditions-")


@pytest.mark.browser
@pytest.mark.integration
def test_the_demo_demand_page_by_keyboard_with_a_chart_that_agrees_with_its_table(page, live_server, demo):
    sign_in(page, live_server, "school-office", DEMO_PASSWORD)
    link = page.get_by_role("navigation", name="Account").get_by_role("link", name="Demand")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/school/demand/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Demand")
    table = page.get_by_role("table", name=re.compile("Scope refusals in the spas of US-CA"))
    # both demo spas refused radiculopathy; only one refused the other low-back protocol
    expect(table.get_by_role("row", name=re.compile("^Low back with radiculopathy"))).not_to_contain_text(
        "not shown"
    )
    expect(table.get_by_role("row", name=re.compile("^Low back without radiculopathy"))).to_contain_text(
        "not shown"
    )
    assert charts_agree_with_tables(page) == 4
    text = page.locator("main").inner_text()
    assert "Harbour" not in text
    assert "Bayside" not in text
    assert "DEMO-" not in text
    assert_accessible(page)
    page.screenshot(path=str(SCREENSHOTS / "test_coverage_pages--school-demand.png"), full_page=True)
