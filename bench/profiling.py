"""A profile of the hot endpoints, in process (pyinstrument, sampling every 0.5 ms).

    REGISTRY_DB_NAME=registry python bench/profiling.py [--requests 400]

Runs the eligibility check (and search) through Django's test client with token
authentication and every middleware, on the bench data and the run's bodies, and writes
``bench/out/profile-<endpoint>.html`` / ``.txt``. Prints, per endpoint, the milliseconds per
request and where they go: own time of the frames grouped by where their code lives
(psycopg: statements sent and rows read, including the wait for the server; the ORM building
queries and model instances; DRF; Django's handler and middleware; the selectors; the
engine; the API layer).

pyinstrument is a bench-only tool: ``.venv/bin/pip install pyinstrument`` (``bench/run.py``
installs it when missing); it is not in requirements-dev.txt because no test uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

CATEGORIES = (  # (label, path fragment), first match wins
    ("psycopg (send, wait for the server, read rows)", "/psycopg/"),
    ("ORM (build queries, make rows into objects)", "/django/db/"),
    ("DRF (request, authentication, serializers, rendering)", "/rest_framework/"),
    ("Django (handler, middleware, URL resolving)", "/django/"),
    ("eligibility engine (registry/eligibility.py)", "/registry/eligibility.py"),
    ("selectors and services", "/registry/"),
    ("API layer (views, serializers)", "/api/"),
    ("catalog, credentials, core apps", "/credentials/"),
    ("catalog, credentials, core apps", "/protocols/"),
    ("catalog, credentials, core apps", "/core/"),
)


STDLIB = "standard library"


def category(path: str) -> str:
    if "/site-packages/" not in path and not path.startswith(str(_django.ROOT)):
        return STDLIB
    for label, fragment in CATEGORIES:
        if fragment in path:
            return label
    return "other libraries" if "/site-packages/" in path else "other project code"


def breakdown(frame, totals: Counter, inherited: str = "other project code") -> None:
    """Own time per category; a standard-library frame (``select`` waiting on the socket,
    ``json``, ``datetime``…) counts for the library or project code that called it."""
    own = category(frame.file_path or "")
    if own == STDLIB or frame.file_path is None:
        own = inherited
    if frame.total_self_time:
        totals[own] += frame.total_self_time
    for child in frame.children:
        breakdown(child, totals, own)


STAGES = {  # function name -> stage of the request (the first one met from the root counts)
    "authenticate": "authentication (token, user, membership)",
    "is_valid": "request validation (the serializer: shapes, the caller's spa)",
    "eligibility_facts_for_therapist": "therapist facts (selector)",
    "eligibility_facts_for_spa": "facts of the spa's therapists (selector)",
    "eligibility_case": "the case (selector)",
    "eligibility_case_at_spa": "the case (selector)",
    "eligibility_check_facts": "the case and the therapist's facts (selector, one statement)",
    "decide": "engine (decide)",
    "finalize_response": "rendering the response",
}


def stages(frame, totals: Counter) -> None:
    label = STAGES.get(frame.function or "")
    if label is not None:
        totals[label] += frame.time
        return
    for child in frame.children:
        stages(child, totals)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--endpoints", default="check,search")
    args = parser.parse_args()
    name = _django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    run = json.loads((_django.OUT / f"run-{name}.json").read_text())
    bodies = json.loads((_django.OUT / f"run-{name}-bodies.json").read_text())
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {run['staff_token']}")
    paths = {"check": "/api/v1/eligibility/check/", "search": "/api/v1/eligibility/search/"}
    summary = {}
    for endpoint in args.endpoints.split(","):
        items = bodies[endpoint]
        for body in items[:20]:  # warm
            client.post(paths[endpoint], body, content_type="application/json")
        count = args.requests if endpoint == "check" else max(50, args.requests // 8)
        profiler = Profiler(interval=0.0005)
        started = time.perf_counter()
        profiler.start()
        for i in range(count):
            response = client.post(paths[endpoint], items[i % len(items)], content_type="application/json")
            assert response.status_code == 200, response.content[:300]
        profiler.stop()
        elapsed = time.perf_counter() - started
        session = profiler.last_session
        totals: Counter = Counter()
        breakdown(session.root_frame(), totals)
        root = session.root_frame()
        by_stage: Counter = Counter()
        stages(root, by_stage)
        by_stage["the rest: Django handler, middleware, DRF dispatch, permissions"] = root.time - sum(
            by_stage.values()
        )
        sampled = sum(totals.values()) or 1
        ms = elapsed * 1000 / count
        html = _django.OUT / f"profile-{endpoint}.html"
        html.write_text(profiler.output_html())
        text = _django.OUT / f"profile-{endpoint}.txt"
        text.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        summary[endpoint] = {
            "requests": count,
            "ms_per_request": round(ms, 2),
            "cpu_share": round(session.cpu_time / session.duration, 2) if session.duration else None,
            "breakdown_ms": {k: round(v / sampled * ms, 2) for k, v in totals.most_common()},
            "stages_ms": {k: round(v / root.time * ms, 2) for k, v in by_stage.most_common()},
            "html": str(html.relative_to(_django.ROOT)),
            "text": str(text.relative_to(_django.ROOT)),
        }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
