"""The SQL behind eligibility, captured and explained; and the statements per request.

    REGISTRY_DB_NAME=registry python bench/explain.py [--markdown bench/explain.md]

1. Captures (``CaptureQueriesContext``) the SQL that ``eligibility_facts_for_therapist``,
   ``eligibility_case`` and ``eligibility_facts_for_spa`` issue for the run's intake and a
   bench-spa therapist, after one warm-up call, and runs ``EXPLAIN (ANALYZE, BUFFERS)`` on each
   (text for the report, JSON for the check). A sequential scan on ``credentials_certification``
   or ``registry_booking`` is a FAIL. The revocation's "affected bookings" query and the expiry
   job's due-certification query are explained too, for information.
2. Counts the SQL statements of whole requests (Django test client, token authentication, the
   real middleware), per endpoint. Django's connection health check (``CONN_HEALTH_CHECKS``)
   sends one more ``SELECT 1`` per request on a reused connection, outside the cursor wrapper;
   it is reported separately.

Prints a JSON summary; with ``--markdown`` writes the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

WATCHED = ("credentials_certification", "registry_booking")


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(cursor, sql: str) -> tuple[str, list[dict], float]:
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
    document = cursor.fetchone()[0]
    if isinstance(document, str):
        document = json.loads(document)
    root = document[0]
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
    text = "\n".join(row[0] for row in cursor.fetchall())
    nodes = [
        {"type": n["Node Type"], "relation": n.get("Relation Name"), "index": n.get("Index Name")}
        for n in plan_nodes(root["Plan"])
    ]
    return text, nodes, root.get("Execution Time", 0.0)


def capture(work) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    work()  # warm: plans, caches
    with CaptureQueriesContext(connection) as ctx:
        work()
    return [q["sql"] for q in ctx.captured_queries]


def request_counts(run: dict) -> dict:
    """Statements per request, over the real stack (middleware, token authentication)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from registry.models import Booking
    from registry.services.bookings import booking_cancel

    data = _django.OUT / f"run-{run['database']}.lua"
    bodies = {}
    for key in ("check", "search", "booking"):  # the first body of each list in the Lua file
        text = data.read_text()
        start = text.index(f"{key} = {{\n") + len(key) + 5
        line = text[start : text.index("\n", start)].strip().rstrip(",")
        bodies[key] = json.loads(json.loads(line))
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {run['staff_token']}")
    serial = json.loads((_django.OUT / fixture_name(run["database"])).read_text())["serials"][0]
    requests = {
        "me": lambda: client.get("/api/v1/me/"),
        "check": lambda: client.post(
            "/api/v1/eligibility/check/", bodies["check"], content_type="application/json"
        ),
        "search": lambda: client.post(
            "/api/v1/eligibility/search/", bodies["search"], content_type="application/json"
        ),
        "verify": lambda: Client(HTTP_HOST="127.0.0.1").get(f"/api/v1/verify/{serial}/"),
    }
    counts = {}
    for name, call in requests.items():
        call()
        with CaptureQueriesContext(connection) as ctx:
            response = call()
        counts[name] = {"status": response.status_code, "statements": len(ctx.captured_queries)}
        if name == "check":
            counts[name]["sql"] = [q["sql"][:160] for q in ctx.captured_queries]
    # a booking (then cancelled, so the slot is free for the load test)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/api/v1/bookings/", bodies["booking"], content_type="application/json")
    counts["booking"] = {"status": response.status_code, "statements": len(ctx.captured_queries)}
    if response.status_code == 201:
        booking = Booking.objects.select_related("spa", "intake", "therapist").get(pk=response.json()["id"])
        booking_cancel(actor=None, booking=booking)
    return counts


def fixture_name(database: str) -> str:
    return "fixture.json" if database == "registry" else f"fixture-{database}.json"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--skip-requests", action="store_true")
    args = parser.parse_args()
    name = _django.setup()
    from django.db import connection
    from django.utils import timezone

    from registry.models import Intake
    from registry.selectors import (
        eligibility_case,
        eligibility_check_facts,
        eligibility_facts_for_spa,
        eligibility_facts_for_therapist,
    )
    from registry.services.rechecks import future_active_bookings
    from registry.services.reminders import _due_certifications

    run = json.loads((_django.OUT / f"run-{name}.json").read_text())
    fixture = json.loads((_django.OUT / fixture_name(name)).read_text())
    intake = Intake.objects.select_related("spa").get(pk=run["intake"])
    start = dt.datetime.fromisoformat(run["starts"][0]) + dt.timedelta(days=2)
    window = (start, start + dt.timedelta(minutes=30))
    therapist = run["allowed_therapists"][0] if run["allowed_therapists"] else run["therapists"][0]
    now = timezone.now()

    sections = {
        "eligibility_check_facts (the eligibility check's one statement)": lambda: eligibility_check_facts(
            spa_id=intake.spa_id,
            intake_id=intake.pk,
            therapist_id=therapist,
            start=window[0],
            end=window[1],
            focus_region="lumbar",
            focus_minutes=20,
        ),
        "eligibility_facts_for_therapist": lambda: eligibility_facts_for_therapist(
            therapist_id=therapist, window=window
        ),
        "eligibility_case": lambda: eligibility_case(
            intake=Intake.objects.select_related("spa").get(pk=intake.pk),
            start=window[0],
            end=window[1],
            focus_region="lumbar",
            focus_minutes=20,
        ),
        "eligibility_facts_for_spa": lambda: eligibility_facts_for_spa(spa_id=intake.spa_id, window=window),
    }
    informational = {}
    if fixture.get("fanout"):
        from credentials.models import Certification

        cert = Certification.objects.get(pk=fixture["fanout"]["certification"])
        affected = (
            future_active_bookings(now)
            .filter(
                therapist_id=cert.therapist_id,
                intake__conditions__requirement_groups__protocols=cert.protocol_id,
            )
            .distinct()
            .values_list("pk", flat=True)
        )
        informational["revocation: affected bookings (rechecks.certification_revoke)"] = lambda: list(
            affected.all()  # a fresh queryset each time: the warm-up must not leave a cached result
        )
    informational["expiry job: certifications due in 60 days (reminders._due_certifications)"] = lambda: list(
        _due_certifications(now, 60).values_list("pk", flat=True)
    )

    report = {"database": name, "sections": {}, "seq_scans": [], "pass": True}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM credentials_certification")
        certifications = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM registry_booking")
        bookings = cursor.fetchone()[0]
        report["sizes"] = {"certifications": certifications, "bookings": bookings}
        for section, work in sections.items():
            entries = []
            for sql in capture(work):
                text, nodes, ms = explain(cursor, sql)
                bad = [n for n in nodes if n["type"] == "Seq Scan" and n["relation"] in WATCHED]
                for n in nodes:
                    if n["type"] == "Seq Scan":
                        report["seq_scans"].append({"section": section, "relation": n["relation"]})
                if bad:
                    report["pass"] = False
                entries.append({"sql": sql, "plan": text, "ms": ms, "seq_scan_on_watched": bool(bad)})
            report["sections"][section] = entries
        for section, work in informational.items():
            entries = []
            for sql in capture(work):
                text, nodes, ms = explain(cursor, sql)
                seq = [n["relation"] for n in nodes if n["type"] == "Seq Scan"]
                entries.append({"sql": sql, "plan": text, "ms": ms, "seq_scans": seq})
            report["sections"][section] = entries
    if not args.skip_requests:
        report["requests"] = request_counts(run)
    if args.markdown:
        args.markdown.write_text(markdown(report))
    summary = {
        "pass": report["pass"],
        "seq_scans": report["seq_scans"],
        "queries": {k: len(v) for k, v in report["sections"].items()},
        "ms": {k: round(sum(e["ms"] for e in v), 2) for k, v in report["sections"].items()},
        "requests": report.get("requests"),
    }
    print(json.dumps(summary))
    return 0


def markdown(report: dict) -> str:
    lines = [
        "# EXPLAIN (ANALYZE, BUFFERS) of the eligibility queries",
        "",
        f"Database `{report['database']}`: {report['sizes']['certifications']:,} certifications, "
        f"{report['sizes']['bookings']:,} bookings. Written by `bench/explain.py` (run by `make "
        "bench`): the SQL "
        "each selector issues, captured with `CaptureQueriesContext` after one warm-up call, then "
        "explained on the same data.",
        "",
        "**Sequential scans on certifications or bookings: "
        f"{'none — PASS' if report['pass'] else 'FOUND — FAIL'}.**",
        "",
    ]
    seq = sorted({(s["section"], s["relation"]) for s in report["seq_scans"]})
    if seq:
        lines.append("Sequential scans seen (any table): " + ", ".join(f"`{r}` in {s}" for s, r in seq) + ".")
        lines.append("")
    for section, entries in report["sections"].items():
        lines.append(f"## {section} — {len(entries)} quer{'y' if len(entries) == 1 else 'ies'}")
        lines.append("")
        for i, entry in enumerate(entries, 1):
            flag = ""
            if entry.get("seq_scan_on_watched"):
                flag = " — **sequential scan on certifications/bookings**"
            elif entry.get("seq_scans"):
                tables = ", ".join(sorted(set(entry["seq_scans"])))
                flag = f" — sequential scan on {tables} (not an eligibility query)"
            lines.append(f"### {i}. {entry['ms']:.2f} ms{flag}")
            lines.append("")
            lines.append("```sql")
            lines.append(entry["sql"])
            lines.append("```")
            lines.append("")
            lines.append("```")
            lines.append(entry["plan"])
            lines.append("```")
            lines.append("")
    if report.get("requests"):
        lines.append("## SQL statements per request (test client, token authentication, all middleware)")
        lines.append("")
        lines.append("| request | status | statements |")
        lines.append("|---|---|---|")
        for name, r in report["requests"].items():
            lines.append(f"| {name} | {r['status']} | {r['statements']} |")
        lines.append("")
        lines.append(
            "Plus, on a reused connection, one `SELECT 1` per request from Django's connection health "
            "check (`CONN_HEALTH_CHECKS`), which the cursor wrapper does not see."
        )
        if "sql" in report["requests"].get("check", {}):
            lines.append("")
            lines.append("Eligibility check, statement by statement:")
            lines.append("")
            for i, sql in enumerate(report["requests"]["check"]["sql"], 1):
                lines.append(f"{i}. `{sql}`")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
