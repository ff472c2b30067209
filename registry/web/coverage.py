"""The coverage pages: what the spa could not safely offer (spa staff, their own spa) and what
the spas around a school were short of (school staff, their own school), each table with a
chart drawn beside it as SVG and a CSV download of the same table.

The figures come from ``registry.coverage.selectors`` (the API's reads); this module only lays
them out. Every table here is built once (``Table``) and the chart, the HTML table and the CSV
file are made from it, so they cannot disagree.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from core.errors import DomainError
from registry.choices import Role
from registry.coverage.charts import Chart, Series, bar_chart
from registry.coverage.report import DEMAND_DAYS, FORECAST_DAYS, SUPPRESS_BELOW, SchoolDemand, SpaCoverage
from registry.coverage.selectors import coverage_window, school_demand, spa_coverage
from registry.web.auth import role_required

spa_staff_required = role_required(Role.SPA_STAFF)
school_staff_required = role_required(Role.SCHOOL_STAFF)

NOT_SHOWN = "not shown"


@dataclass(frozen=True)
class Table:
    """One table of a report: its column headers (the first names the rows), and rows of
    ``(key, cells)``; a cell is the text shown (a suppressed count is "< 5")."""

    id: str
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]
    column_keys: tuple[str, ...] = ()  # the chart's series key of each column ("" for none)
    chart: Chart | None = None
    csv_name: str = ""

    @property
    def header(self) -> tuple[tuple[str, str], ...]:
        keys = self.column_keys or ("",) * len(self.columns)
        return tuple(zip(self.columns, keys, strict=True))

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        for _key, cells in self.rows:
            writer.writerow(cells)
        return out.getvalue()


def _text(value: int | None, suppressed: str = f"< {SUPPRESS_BELOW}") -> str:
    return suppressed if value is None else str(value)


# --- the spa's coverage --------------------------------------------------------------------------

CONDITION_SERIES = (
    Series("intakes", "Intakes", "series-1"),
    Series("allowed", "Allowed therapist", "series-2"),
    Series("refused_scope", "Refused: not certified", "series-3"),
    Series("refused_focus", "Refused: focus limit", "series-4"),
)
FORECAST_SERIES = tuple(
    Series(f"days_{d}", "Now" if d == 0 else f"In {d} days", f"series-{i + 1}")
    for i, d in enumerate(FORECAST_DAYS)
)


def spa_tables(report: SpaCoverage) -> tuple[Table, Table]:
    """The conditions table (with its chart) and the forecast table (with its chart)."""
    condition_rows = []
    chart_rows = []
    for c in report.conditions:
        values = (c.intakes, c.allowed, c.refused_scope, c.refused_focus)
        needs = "; ".join(f"{p.name} ({_text(p.intakes)})" for p in c.protocols) or "—"
        condition_rows.append((c.condition, (f"{c.condition} {c.name}", *map(_text, values), needs)))
        chart_rows.append((c.condition, c.condition, values))
    conditions = Table(
        id="conditions",
        caption="Conditions seen at intake, and what became of the booking attempts",
        columns=(
            "Condition",
            *(s.name for s in CONDITION_SERIES),
            "Protocols that would have covered the scope refusals (intakes)",
        ),
        rows=tuple(condition_rows),
        column_keys=("", *(s.key for s in CONDITION_SERIES), ""),
        chart=bar_chart(
            chart_id="conditions-chart",
            title="Intakes per condition: allowed, refused for scope, refused for a focus limit",
            series=CONDITION_SERIES,
            rows=chart_rows,
        ),
        csv_name="conditions",
    )
    forecast_rows = []
    forecast_chart = []
    for group in report.forecast:
        counts = tuple(p.therapists for p in group.points)
        forecast_rows.append(
            (group.key, (group.label, ", ".join(group.conditions), *(str(n) for n in counts)))
        )
        forecast_chart.append((group.key, _short(group.label), counts))
    forecast = Table(
        id="forecast",
        caption="Therapists who may treat each condition group, now and as credentials expire",
        columns=("Condition group", "Conditions", *(s.name for s in FORECAST_SERIES)),
        rows=tuple(forecast_rows),
        column_keys=("", "", *(s.key for s in FORECAST_SERIES)),
        chart=bar_chart(
            chart_id="forecast-chart",
            title="Therapists who may treat each condition group now and in 30, 60 and 90 days",
            series=FORECAST_SERIES,
            rows=forecast_chart,
        ),
        csv_name="forecast",
    )
    return conditions, forecast


def _short(label: str, room: int = 27) -> str:
    return label if len(label) <= room else label[: room - 1].rstrip() + "…"


class WindowForm(forms.Form):
    """``?from=&to=`` (the spa's local days); checked by ``coverage_window``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(
            label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["to"] = forms.DateField(
            label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
        )


def _spa_report(request: HttpRequest) -> tuple[WindowForm, SpaCoverage | None]:
    spa = request.membership.spa
    form = WindowForm(request.GET or None)
    first = last = None
    if form.is_bound:
        if not form.is_valid():
            return form, None
        first, last = form.cleaned_data.get("from"), form.cleaned_data.get("to")
    try:
        first, last = coverage_window(spa=spa, first_day=first, last_day=last, today=timezone.localdate())
    except DomainError as error:
        for field, messages in (error.errors or {}).items():
            for message in messages:
                form.add_error(field if form.is_bound else None, message)
        return form, None
    if not form.is_bound:
        form = WindowForm(initial={"from": first, "to": last})
    return form, spa_coverage(spa=spa, first_day=first, last_day=last, now=timezone.now())


@require_safe
@spa_staff_required
def spa_coverage_page(request: HttpRequest) -> HttpResponse:
    """Per condition seen at intake in the window: the intakes and what became of their
    booking attempts, with the protocols that would have covered the scope refusals; and how
    many therapists may treat each condition group now and in 30, 60 and 90 days."""
    form, report = _spa_report(request)
    context: dict[str, Any] = {"form": form, "report": report, "suppress_below": SUPPRESS_BELOW}
    if report is not None:
        context["tables"] = spa_tables(report)
        context["query"] = f"from={report.first_day.isoformat()}&to={report.last_day.isoformat()}"
    return render(request, "coverage/spa.html", context, status=200 if report is not None else 400)


def _csv_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
@spa_staff_required
def spa_coverage_csv(request: HttpRequest, table: str) -> HttpResponse:
    """One table of the page (``conditions`` or ``forecast``) as CSV, for the same window."""
    form, report = _spa_report(request)
    if report is None:
        problems = " ".join(m for messages in form.errors.values() for m in messages)
        return HttpResponse(
            f"Invalid window: {problems}", status=400, content_type="text/plain; charset=utf-8"
        )
    tables = {t.csv_name: t for t in spa_tables(report)}
    if table not in tables:
        raise Http404("No such table.")
    name = f"coverage-{table}-{report.first_day.isoformat()}-{report.last_day.isoformat()}.csv"
    return _csv_response(tables[table], name)


# --- the school's demand -------------------------------------------------------------------------

DEMAND_SERIES = (
    Series("refusals", "Refused booking attempts", "series-3"),
    Series("intakes", "Clients (intakes)", "series-1"),
)


def demand_table(report: SchoolDemand) -> Table:
    rows, chart_rows = [], []
    for p in report.protocols:
        rows.append((p.protocol, (p.name, _text(p.refusals, NOT_SHOWN), _text(p.intakes, NOT_SHOWN))))
        chart_rows.append((p.protocol, _short(p.name), (p.refusals, p.intakes)))
    return Table(
        id="demand",
        caption=f"Scope refusals in the spas of {report.jurisdiction}, last {DEMAND_DAYS} days",
        columns=("Protocol", *(s.name for s in DEMAND_SERIES)),
        rows=tuple(rows),
        column_keys=("", *(s.key for s in DEMAND_SERIES)),
        chart=bar_chart(
            chart_id="demand-chart",
            title=f"Booking attempts refused for want of each protocol, last {DEMAND_DAYS} days",
            series=DEMAND_SERIES,
            rows=chart_rows,
            suppressed_text=NOT_SHOWN,
            suppressed_extent=0,
        ),
        csv_name="demand",
    )


@require_safe
@school_staff_required
def school_demand_page(request: HttpRequest) -> HttpResponse:
    """Per protocol the school may teach: the booking attempts the spas of its jurisdiction
    refused over the last 90 days because no therapist tried held it, aggregated across spas."""
    school = request.membership.school
    report = school_demand(school=school, now=timezone.now())
    context = {
        "school": school,
        "report": report,
        "table": demand_table(report),
        "suppress_below": SUPPRESS_BELOW,
    }
    return render(request, "coverage/school.html", context)


@require_safe
@school_staff_required
def school_demand_csv(request: HttpRequest) -> HttpResponse:
    school = request.membership.school
    report = school_demand(school=school, now=timezone.now())
    return _csv_response(demand_table(report), f"demand-{report.until.date().isoformat()}.csv")
