"""The coverage reads (issue 27) timed on a bench database: ``spa_coverage`` and
``school_demand`` (``registry.coverage.selectors``), inside a transaction rolled back at the end.

    REGISTRY_DB_NAME=registry python bench/coverage.py [--repeat 7]

The generated history has no refusal (every generated booking was allowed), so first one
booking attempt in ten of the last 120 days gets a refused twin, as a front desk trying another
therapist first would leave: the same intake and therapist a minute earlier, refused
``PROTOCOL_NOT_CERTIFIED`` for the intake's condition and its first requirement group (one in
four of those also ``FOCUS_EXCEEDS_PROTOCOL_LIMIT``). One INSERT … SELECT, rolled back with the
rest. Then each read runs once to warm up and ``--repeat`` times timed (median and fastest),
with its statements counted and EXPLAIN (ANALYZE, BUFFERS) of each statement (whether
``registry_decision``, ``registry_booking`` or ``registry_intake`` is read by a sequential scan).

Who is asked: the spa with the most intakes in the window (a typical spa of about 50 therapists)
and the bench spa; the school authorised for the most protocols in the jurisdiction with the
most spas. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

REFUSED_TWINS = """
INSERT INTO registry_decision
  (id, made_at, made_by_id, kind, spa_id, therapist_id, intake_id, booking_id, "case", allowed,
   reasons, warnings)
SELECT gen_random_uuid(), d.made_at - interval '1 minute', NULL, 'booking', d.spa_id, d.therapist_id,
       d.intake_id, NULL, d."case", false,
       jsonb_build_array(jsonb_build_object(
           'code', 'PROTOCOL_NOT_CERTIFIED', 'message', 'Bench: refused for scope.',
           'condition', c.code, 'protocols', g.slugs))
       || CASE WHEN hashtext(d.id::text) %% 4 = 0 THEN jsonb_build_array(jsonb_build_object(
           'code', 'FOCUS_EXCEEDS_PROTOCOL_LIMIT', 'message', 'Bench: over the limit.',
           'protocols', g.slugs)) ELSE '[]'::jsonb END,
       '[]'::jsonb
  FROM registry_decision d
  JOIN registry_intake_conditions ic ON ic.intake_id = d.intake_id
  JOIN protocols_condition c ON c.id = ic.condition_id
  JOIN LATERAL (
       SELECT jsonb_agg(p.slug ORDER BY p.slug) AS slugs
         FROM protocols_requirementgroup rg
         JOIN protocols_requirementgroup_protocols gp ON gp.requirementgroup_id = rg.id
         JOIN protocols_protocol p ON p.id = gp.protocol_id
        WHERE rg.condition_id = c.id AND rg.position = (
              SELECT min(position) FROM protocols_requirementgroup WHERE condition_id = c.id)
  ) AS g ON g.slugs IS NOT NULL
 WHERE d.allowed AND d.kind = 'booking' AND d.made_at > %(since)s AND hashtext(d.id::text) %% 10 = 0
"""


class Rollback(Exception):
    pass


class Statements:
    def __init__(self) -> None:
        self.sql: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.sql.append((sql, params))
        return execute(sql, params, many, context)


def _explain(sql: str, params) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    scans = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)))
    time_ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
    return {"seq_scans": scans, "execution_ms": time_ms, "plan": plan}


def measure(name: str, read, repeat: int) -> dict:
    from django.db import connection

    read()  # warm: the catalog copy, the plan, the pages
    counter = Statements()
    with connection.execute_wrapper(counter):
        result = read()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    plans = [_explain(sql, params) for sql, params in counter.sql]
    big = {"registry_decision", "registry_booking", "registry_intake"}
    return {
        "read": name,
        "statements": len(counter.sql),
        "median_ms": round(statistics.median(times), 1),
        "fastest_ms": round(min(times), 1),
        "statement_ms": [p["execution_ms"] for p in plans],
        "seq_scans": sorted({s for p in plans for s in p["seq_scans"]}),
        "big_table_seq_scans": sorted({s for p in plans for s in p["seq_scans"]} & big),
        "plans": [p["plan"] for p in plans],
        "result": result,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    db = _django.setup()

    from django.db import connection, transaction
    from django.db.models import Count, Q
    from django.utils import timezone

    from credentials.models import School
    from registry.coverage.selectors import school_demand, spa_coverage
    from registry.models import Booking, Decision, Intake, Spa

    now = timezone.now()
    today = now.date()
    first, last = today - dt.timedelta(days=89), today
    fixture_path = _django.OUT / ("fixture.json" if db == "registry" else f"fixture-{db}.json")
    bench_spa = json.loads(fixture_path.read_text()).get("bench_spa") if fixture_path.exists() else None
    out: dict = {"database": db, "bookings": Booking.objects.count(), "decisions": Decision.objects.count()}
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(REFUSED_TWINS, {"since": now - dt.timedelta(days=120)})
                out["refusals_added"] = cursor.rowcount
                out["refusals_seconds"] = round(time.perf_counter() - started, 1)
                cursor.execute("ANALYZE registry_decision")
            typical = (
                Intake.objects.filter(recorded_at__date__gte=first, recorded_at__date__lte=last)
                .values("spa_id")
                .annotate(n=Count("id"))
                .order_by("-n")
                .first()
            )
            spas = [("typical spa (most intakes in the window)", typical["spa_id"])]
            if bench_spa and str(bench_spa) != str(typical["spa_id"]):
                spas.append(("bench spa", bench_spa))
            reads = []
            for label, spa_id in spas:
                spa = Spa.objects.get(pk=spa_id)
                intakes = Intake.objects.filter(
                    spa=spa, recorded_at__date__gte=first, recorded_at__date__lte=last
                ).count()
                m = measure(
                    "spa_coverage",
                    lambda spa=spa: _summary(spa_coverage(spa=spa, first_day=first, last_day=last, now=now)),
                    args.repeat,
                )
                m["who"] = f"{label}: {intakes:,} intakes in the 90 days"
                reads.append(m)
            jurisdiction = (
                Spa.objects.values("jurisdiction")
                .annotate(n=Count("id"))
                .order_by("-n")
                .first()["jurisdiction"]
            )
            school = (
                School.objects.filter(jurisdiction=jurisdiction)
                .annotate(n=Count("authorizations", filter=Q(authorizations__withdrawn_at__isnull=True)))
                .order_by("-n", "name")
                .first()
            )
            spas_there = Spa.objects.filter(jurisdiction=jurisdiction).count()
            refusals = Decision.objects.filter(
                allowed=False, spa__jurisdiction=jurisdiction, made_at__gt=now - dt.timedelta(days=90)
            ).count()
            m = measure(
                "school_demand", lambda: _demand_summary(school_demand(school=school, now=now)), args.repeat
            )
            m["who"] = (
                f"school authorised for {school.n} protocols in {jurisdiction} "
                f"({spas_there} spas, {refusals:,} refusals in the 90 days)"
            )
            reads.append(m)
            out["reads"] = reads
            raise Rollback
    except Rollback:
        pass
    print(json.dumps(out, default=str))  # one line: bench/run.py reads the last JSON line
    return 0


def _summary(report) -> dict:
    return {
        "conditions": len(report.conditions),
        "intakes": sum(c.intakes or 0 for c in report.conditions),
        "refused_scope": sum(c.refused_scope or 0 for c in report.conditions),
        "forecast_groups": len(report.forecast),
    }


def _demand_summary(report) -> dict:
    return {
        "protocols": len(report.protocols),
        "refusals": sum(p.refusals or 0 for p in report.protocols),
    }


START, END = "<!-- coverage-reports:start -->", "<!-- coverage-reports:end -->"


def markdown(runs: list[dict], when: str) -> str:
    """The "Coverage reports" section of ``results.md`` from the JSON of each database's run."""
    lines = [
        START,
        "## Coverage reports (issue 27): `spa_coverage` and `school_demand`",
        "",
        f"Run of {when} by `bench/coverage.py` "
        '(`make bench BENCH_ARGS="--only coverage"`), in process on the bench server, each '
        "database's run in a transaction rolled back at the end. The generated history has no "
        "refusal, so one booking attempt in ten of the last 120 days first gets a refused twin "
        "(`PROTOCOL_NOT_CERTIFIED` for its condition, one in four also `FOCUS_EXCEEDS_PROTOCOL_LIMIT`). "
        "Times: one warm-up, then the median and the fastest of the timed runs, the whole read in Python "
        '(statements, rows to values, the forecast through the engine); "statements ms": PostgreSQL\'s '
        "execution time of each statement (EXPLAIN ANALYZE).",
        "",
        "| data | read | who | statements | median ms | fastest ms | statements ms | sequential scans "
        "of decisions, bookings, intakes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        data = f"{run['bookings']:,} bookings, {run['decisions'] + run['refusals_added']:,} decisions"
        for read in run["reads"]:
            scans = ", ".join(read["big_table_seq_scans"]) or "none"
            statement_ms = " + ".join(f"{ms:.1f}" for ms in read["statement_ms"])
            lines.append(
                f"| {data} | `{read['read']}` | {read['who']} | {read['statements']} | "
                f"{read['median_ms']} | {read['fastest_ms']} | {statement_ms} | {scans} |"
            )
    lines += [
        "",
        "The statement counts are the same at every size (pinned at 1k bookings by "
        "`registry/tests/test_coverage.py`). `spa_coverage` reads one spa's intakes of the window "
        "(by `spa_id`) and their decisions (by `intake_id`), so it grows with the spa, not with the "
        "registry; `school_demand` reads the refused decisions of the jurisdiction's spas in the 90 days "
        "through the partial index `decision_refused_idx`. See `docs/coverage.md`.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Put ``section`` in ``path`` in place of the previous one (or at the end)."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
