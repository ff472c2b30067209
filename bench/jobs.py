"""The batch work, timed on the bench database (each job rolled back afterwards, so every
run measures the same work on the same data).

    REGISTRY_DB_NAME=registry python bench/jobs.py [--only fanout,expiry,import] [--profile]

- fan-out: ``registry.services.credentials.certification_revoke`` of the certification that
  the fan-out therapist's future bookings (10,000 at full scale) rest on: the revocation, the
  re-check of every one of those bookings (each re-decided, logged, moved to
  needs-reassignment with suggested replacements) and the outbox events, in one transaction;
- expiry: ``registry.services.reminders.expiry_reminders_send`` over every certification and
  licence (1M certifications at full scale);
- import: ``import_create`` + ``import_run`` of a 5,000-row therapists CSV (each row a
  therapist and a licence through the services, in its own savepoint).

Prints one JSON object: seconds, SQL statements (counted with an execute wrapper, which costs
next to nothing) and what each job did. With ``--profile`` each job also runs once more under
pyinstrument (rolled back too): ``bench/out/profile-<job>.html`` and ``.txt``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django


class Rollback(Exception):
    pass


class OverBudget(Exception):
    pass


class StatementCounter:
    """Counts statements; stops the job (by raising) once ``cap`` seconds have passed."""

    def __init__(self, cap: float | None = None) -> None:
        self.count = 0
        self.cap = cap
        self.started = time.perf_counter()

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.cap is not None and time.perf_counter() - self.started > self.cap:
            raise OverBudget
        return execute(sql, params, many, context)


def timed(work, cap: float | None = None):
    """Run ``work()`` in a transaction that is rolled back; return (seconds, counter, result),
    result None when the cap stopped it."""
    from django.db import connection, transaction

    counter = StatementCounter(cap)
    result = None
    try:
        with connection.execute_wrapper(counter), transaction.atomic():
            result = work()
            connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks run now
            raise Rollback
    except (Rollback, OverBudget):
        pass
    return time.perf_counter() - counter.started, counter, result


def profiled(name: str, work) -> str:
    """Run ``work()`` once more under pyinstrument (rolled back too); write its report."""
    from django.db import transaction
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    try:
        with transaction.atomic():
            profiler.start()
            work()
            profiler.stop()
            raise Rollback
    except Rollback:
        pass
    (_django.OUT / f"profile-{name}.html").write_text(profiler.output_html())
    path = _django.OUT / f"profile-{name}.txt"
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    return str(path.relative_to(_django.ROOT))


def fanout_job(fixture: dict):
    from core.models import User
    from credentials.models import Certification
    from registry.choices import ACTIVE_BOOKING_STATUSES, DecisionKind
    from registry.models import Booking, Decision
    from registry.services.credentials import certification_revoke

    admin = User.objects.get(pk=fixture["admin"]["id"])
    info = fixture["fanout"]
    certification = Certification.objects.get(pk=info["certification"])
    now = dt.datetime.now(dt.UTC)
    future = Booking.objects.filter(
        therapist_id=info["therapist"], status__in=ACTIVE_BOOKING_STATUSES, end__gt=now
    ).count()

    def work():
        _, changed = certification_revoke(
            actor=admin, certification=certification, reason="Bench: revocation fan-out", now=now
        )
        written = Decision.objects.filter(
            therapist_id=info["therapist"], kind=DecisionKind.RECHECK, made_at=now
        ).count()
        return {"future_bookings": future, "needs_reassignment": len(changed), "decisions_written": written}

    return work


def expiry_job(fixture: dict):
    from credentials.models import Certification
    from registry.services.reminders import expiry_reminders_send

    total = Certification.objects.count()

    def work():
        counts = expiry_reminders_send()
        return {
            "certifications_scanned": total,
            "certification_reminders": counts.certifications,
            "licence_reminders": counts.licenses,
        }

    return work


def import_job(fixture: dict, rows: int = 5000):
    from core.models import User
    from registry.models import ImportJob
    from registry.services.imports import import_create, import_run

    admin = User.objects.get(pk=fixture["admin"]["id"])
    batch = uuid.uuid4().hex[:6].upper()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["name", "email", "jurisdiction", "license_number", "license_status", "valid_from", "expires_on"]
    )
    for i in range(rows):
        writer.writerow(
            [
                f"Imported Therapist {i}",
                f"imported{i}@{batch.lower()}.example.org",
                "US-CA",
                f"IMP{batch}{i:06d}",
                "active",
                "2024-01-01",
                "2027-12-31",
            ]
        )
    content = out.getvalue()

    def work():
        job = import_create(actor=admin, kind=ImportJob.Kind.THERAPISTS, content=content)
        job = import_run(job_id=job.pk)
        return {"rows": job.rows, "accepted": job.accepted, "refused": job.refused}

    return work


def certifications_import_job(fixture: dict, rows: int = 5000):
    """A school's 5,000-row certifications CSV: a protocol without prerequisites it is
    authorised for, one of its instructors qualified for it, therapists with an active licence
    (each row one certification, issued through the same rules as the API)."""
    from django.db.models import Exists, F, OuterRef, Q
    from django.utils import timezone

    from core.models import User
    from credentials.models import ClinicalExperience, License, SchoolAuthorization
    from protocols.models import Protocol
    from registry.models import ImportJob
    from registry.services.imports import CERTIFICATION_COLUMNS, import_create, import_run

    admin = User.objects.get(pk=fixture["admin"]["id"])
    today = timezone.localdate()
    now = timezone.now()
    free = Protocol.objects.filter(prerequisites__isnull=True)
    authorisation = (
        SchoolAuthorization.objects.filter(protocol__in=free, granted_at__lte=now)
        .filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=now))
        .select_related("school", "protocol")
        .order_by("school__name", "protocol__slug")
        .first()
    )
    school, protocol = authorisation.school, authorisation.protocol
    instructor_id = (
        ClinicalExperience.objects.filter(
            protocol=protocol,
            instructor__schools=school,
            withdrawn_at__isnull=True,
            verified_on__lte=today - dt.timedelta(days=30),
            years__gte=F("protocol__min_instructor_years"),
            cases__gte=F("protocol__min_instructor_cases"),
        )
        .values_list("instructor_id", flat=True)
        .first()
    )
    active = License.objects.filter(
        therapist=OuterRef("pk"), status="active", valid_from__lte=today, expires_on__gte=today
    )
    from credentials.models import Therapist

    therapists = list(
        Therapist.objects.filter(Exists(active)).order_by("id").values_list("id", flat=True)[:rows]
    )
    minimums = {m.kind: m.min_hours for m in protocol.modules.all()}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CERTIFICATION_COLUMNS)
    taught = today - dt.timedelta(days=10)
    for therapist_id in therapists:
        writer.writerow(
            [
                str(therapist_id),
                protocol.slug,
                str(instructor_id),
                taught.isoformat(),
                (taught + dt.timedelta(days=2)).isoformat(),
                f"{minimums.get('fundamentals', 0) + 1}",
                "true",
                f"{minimums.get('critical-details', 0) + 1}",
                "true",
                f"{minimums.get('harm-avoidance', 0) + 1}",
                "true",
            ]
        )
    content = out.getvalue()

    def work():
        job = import_create(actor=admin, kind=ImportJob.Kind.CERTIFICATIONS, content=content, school=school)
        job = import_run(job_id=job.pk)
        return {"rows": job.rows, "accepted": job.accepted, "refused": job.refused}

    return work


def import_memory_job(fixture: dict):
    """The 100,000-row therapists CSV (the largest file an import takes), for its peak memory."""
    return import_job(fixture, rows=100_000)


JOBS = {
    "fanout": fanout_job,
    "expiry": expiry_job,
    "import": import_job,
    "import_certifications": certifications_import_job,
    "import_100k": import_memory_job,
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="fanout,expiry,import,import_certifications")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-only", action="store_true", help="only the profiled run of each job")
    parser.add_argument(
        "--fanout-cap", type=float, default=900, help="stop the fan-out after this many seconds"
    )
    args = parser.parse_args()
    name = _django.setup()
    fixture_path = _django.OUT / ("fixture.json" if name == "registry" else f"fixture-{name}.json")
    fixture = json.loads(fixture_path.read_text())
    results = {}
    for job in args.only.split(","):
        if job == "fanout" and not fixture.get("fanout"):
            continue
        if args.profile_only:
            results[job] = {"profile": profiled(job, JOBS[job](fixture))}
            continue
        work = JOBS[job](fixture)
        seconds, counter, result = timed(work, cap=args.fanout_cap if job == "fanout" else None)
        results[job] = {"seconds": round(seconds, 2), "statements": counter.count, **(result or {})}
        if job == "fanout" and result is None:
            results[job]["stopped_at_cap"] = True
            results[job]["future_bookings"] = fixture["fanout"]["bookings"]
        if job.startswith("import"):
            results[job]["rows_per_second"] = round(result["rows"] / seconds, 1)
        if job == "import_100k":  # this process did nothing bigger: its peak is the import's
            import resource

            results[job]["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(f"{job}: {json.dumps(results[job])}", file=sys.stderr, flush=True)
        if args.profile:
            results[job]["profile"] = profiled(job, JOBS[job](fixture))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
