"""``bench/results.md`` from the figures ``bench/run.py`` collected (``bench/out/results.json``).

python bench/report.py        # re-write results.md from the last run's JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

X = "\u00d7"  # the multiplication sign
TARGETS = {
    "ratio": 0.60,  # eligibility check req/s ÷ floor req/s
    "growth": 1.5,  # p95 at 100k ÷ p95 at 1k
    "fanout_s": 60,
    "expiry_s": 60,
    "statements": 6,
}


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def statuses(result: dict) -> str:
    parts = [f"{n:,}{X} {code}" for code, n in sorted(result.get("statuses", {}).items())]
    return ", ".join(parts) or "—"


def fixture_sizes(name: str) -> dict:
    path = ROOT / "bench" / "out" / name
    return json.loads(path.read_text()) if path.exists() else {}


def write_results(r: dict, path: Path) -> None:
    large, small = r.get("large", {}), r.get("small", {})
    jobs = r.get("jobs", {})
    explain, explain_small = r.get("explain", {}), r.get("explain_small", {})
    m = r["machine"]
    floor = large.get("me", {})
    check = large.get("check", {})
    ratio = check["rps"] / floor["rps"] if check and floor else None
    growth = (
        large["check"]["p95_us"] / small["check"]["p95_us"]
        if large.get("check") and small.get("check")
        else None
    )
    fanout, expiry, imports = jobs.get("fanout", {}), jobs.get("expiry", {}), jobs.get("import", {})
    fanout_ok = None
    if fanout:
        fanout_ok = not fanout.get("stopped_at_cap") and fanout["seconds"] < TARGETS["fanout_s"]
    counts_large = (explain.get("requests") or {}).get("check", {}).get("statements")
    counts_small = (explain_small.get("requests") or {}).get("check", {}).get("statements")
    big = fixture_sizes("fixture.json")
    little = fixture_sizes("fixture-bench_1k.json")
    sizes = big.get("sizes", {})

    lines = [
        "# Benchmarks: eligibility at national scale",
        "",
        f"Run of {r['started'][:16].replace('T', ' ')} UTC by `make bench` (`bench/run.py`), "
        f"{r.get('minutes', '?')} minutes. Machine: {m['cpus']} CPUs shared by the app server, PostgreSQL "
        f"{m['postgres']} (embedded, shared_buffers {m['shared_buffers']}) and the load generator — "
        "and by the "
        "other engineers' test runs of the moment (the 1-minute load average before each measurement is in "
        "`bench/out/results.json`). Python "
        f"{m['python']}, gunicorn with {r['args']['workers']} sync workers on 127.0.0.1, DEBUG=0, throttling "
        f"off; {m['wrk']} with {r['args']['threads']} threads and {r['args']['connections']} connections "
        f"(one per worker), {r['args']['duration']} s per endpoint after a {r['args']['warmup']} s warm-up. "
        f"Code: {m['commit']}.",
        "",
        f"Data (large): {sizes.get('credentials_therapist', 0):,} therapists, "
        f"{sizes.get('credentials_certification', 0):,} certifications "
        f"({sizes.get('credentials_modulecompletion', 0):,} module completions), "
        f"{sizes.get('registry_booking', 0):,} bookings with as many intakes and decisions, "
        f"{sizes.get('credentials_license', 0):,} licences, {sizes.get('registry_employment', 0):,} "
        "employments, "
        f"{sizes.get('registry_spa', 0):,} spas; generated and loaded with COPY in "
        f"{big.get('timings_s', {}).get('total', '?')} s (`bench/generate.py`). Small: "
        f"{little.get('sizes', {}).get('credentials_therapist', 0):,} therapists, "
        f"{little.get('sizes', {}).get('credentials_certification', 0):,} certifications, "
        f"{little.get('sizes', {}).get('registry_booking', 0):,} bookings.",
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    if ratio is not None:
        lines.append(
            f"| eligibility check ≥ 60% of the floor's requests/s (**headline**) | "
            f"{check['rps']:.1f} / {floor['rps']:.1f} req/s = **{ratio:.0%}** | "
            f"{verdict(ratio >= TARGETS['ratio'])} |"
        )
    if growth is not None:
        lines.append(
            f"| eligibility check p95 growth 1k → 100k therapists ≤ 1.5{X} | "
            f"{ms(small['check']['p95_us'])} → "
            f"{ms(large['check']['p95_us'])} ms = **{growth:.2f}{X}** | "
            f"{verdict(growth <= TARGETS['growth'])} |"
        )
    if explain:
        seq = ", ".join(sorted({s["relation"] for s in explain.get("seq_scans", [])})) or "none"
        lines.append(
            "| no sequential scan on certifications or bookings (bench/explain.md) | sequential "
            "scans only on: "
            f"{seq} | {verdict(explain.get('pass'))} |"
        )
    if fanout:
        if fanout.get("stopped_at_cap"):
            measured = (
                f"stopped after {fanout['seconds']:.0f} s (nothing committed) of "
                f"{fanout['future_bookings']:,} bookings"
            )
        else:
            measured = f"{fanout['seconds']:.1f} s for {fanout.get('future_bookings', 0):,} bookings"
        lines.append(
            f"| revocation fan-out of 10,000 future bookings < 60 s | {measured} | {verdict(fanout_ok)} |"
        )
    if expiry:
        lines.append(
            f"| daily expiry job over {expiry['certifications_scanned']:,} certifications < 60 s | "
            f"{expiry['seconds']:.1f} s | {verdict(expiry['seconds'] < TARGETS['expiry_s'])} |"
        )
    if counts_large is not None:
        constant = counts_small == counts_large
        lines.append(
            f"| eligibility check in a constant number of statements, ≤ 6 with authentication | "
            f"{counts_small} at 1k, {counts_large} at 100k (+1 connection health check) | "
            f"constant {verdict(constant)}, ≤ 6 {verdict(counts_large <= TARGETS['statements'])} |"
        )
    if imports:
        lines.append(
            f"| import (5,000-row therapists CSV) — no target | {imports['rows_per_second']:.0f} rows/s "
            f"({imports['seconds']:.1f} s) | — |"
        )
    lines += ["", "## Load test at 100k therapists", ""]
    if large:
        lines += [
            "| endpoint | req/s | per round | p50 ms | p95 ms | p99 ms | of the floor | CPU ms per request: "
            "app + PostgreSQL | responses |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for mode, label in (
            ("me", "`GET /api/v1/me/` — the floor"),
            ("check", "`POST /api/v1/eligibility/check/`"),
            ("search", "`POST /api/v1/eligibility/search/` (spa of 50 therapists)"),
            ("booking", "`POST /api/v1/bookings/`"),
            ("verify", "`GET /api/v1/verify/{serial}/` (anonymous)"),
        ):
            x = large.get(mode)
            if not x:
                continue
            share = f"{x['rps'] / floor['rps']:.0%}" if floor else "—"
            rounds = " / ".join(f"{v:.0f}" for v in x.get("rounds_rps", []))
            cpu = x.get("cpu_ms_per_request") or {}
            cpu_text = f"{cpu['app']:.2f} + {cpu['postgres']:.2f}" if cpu else "—"
            lines.append(
                f"| {label} | {x['rps']:.1f} | {rounds} | {ms(x['p50_us'])} | {ms(x['p95_us'])} | "
                f"{ms(x['p99_us'])} | {share} | {cpu_text} | {statuses(x)} |"
            )
        allowed = large.get("prepared", {}).get("allowed", "?")
        lines += [
            "",
            f"Each endpoint ran {r['args'].get('rounds', 1)} rounds of "
            f"{r['args']['duration'] / r['args'].get('rounds', 1):.0f} s, "
            "interleaved with the others (floor, check, the 1k floor and check, search, booking, "
            "verification), "
            "so a change in the machine's load during the run shows in every column alike; percentiles are "
            "computed from the merged latency histograms. Eligibility check and search ask about the bench "
            "spa's 50 therapists (34 certified for the intake's condition, the others expired, revoked, "
            "uncertified or with an inactive licence) at 30-minute starts over the next six days. Bookings "
            f"use a different free slot per request for the {allowed} therapists the engine allows at a "
            "mid-week probe slot (a 409 is a refusal of another slot: the engine decides each one, and a "
            "certification or licence may lapse within the six days). Verification cycles through 2,000 "
            "sampled serials (active, expired and revoked). CPU per request: the app server's workers and "
            "PostgreSQL (postmaster and backends), from their CPU times around each wrk run; wrk's own and "
            "the kernel's are not counted.",
            "",
        ]
    if small.get("check") and large.get("check"):
        lines += [
            "## Eligibility check at 1k and at 100k therapists",
            "",
            "| data | req/s | p50 ms | p95 ms | p99 ms | floor req/s (same server) | check ÷ floor |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, x in (("1k therapists", small), ("100k therapists", large)):
            c = x["check"]
            lines.append(
                f"| {label} | {c['rps']:.1f} | {ms(c['p50_us'])} | {ms(c['p95_us'])} | {ms(c['p99_us'])} | "
                f"{x['me']['rps']:.1f} | {c['rps'] / x['me']['rps']:.0%} |"
            )
        lines += ["", f"p95 growth: {growth:.2f}{X}.", ""]
    if jobs:
        lines += [
            "## Jobs (each in a transaction rolled back afterwards, so every run does the same work)",
            "",
        ]
        lines += ["| job | seconds | SQL statements | result |", "|---|---|---|---|"]
        if fanout:
            what = (
                f"{fanout.get('needs_reassignment', 0):,} of {fanout.get('future_bookings', 0):,} "
                "bookings moved to "
                f"needs-reassignment; {fanout.get('decisions_written', 0):,} re-check decisions written"
            )
            if fanout.get("stopped_at_cap"):
                what += " — **stopped at the time cap** (nothing committed)"
            lines.append(
                "| `certification_revoke` of the certification 10,000 future bookings rest on | "
                f"{fanout['seconds']:.1f} | {fanout['statements']:,} | {what} |"
            )
        if expiry:
            lines.append(
                f"| `expiry_reminders_send` over {expiry['certifications_scanned']:,} certifications | "
                f"{expiry['seconds']:.1f} | {expiry['statements']:,} | {expiry['certification_reminders']:,} "
                f"certification and {expiry['licence_reminders']:,} licence reminders raised |"
            )
        if imports:
            lines.append(
                f"| `import_run`, 5,000-row therapists CSV | {imports['seconds']:.1f} | "
                f"{imports['statements']:,} | "
                f"{imports['accepted']:,} accepted, {imports['refused']} refused: "
                f"**{imports['rows_per_second']:.0f} rows/s** |"
            )
        lines.append("")
    if explain.get("requests"):
        lines += ["## SQL statements per request", "", "| request | 1k | 100k |", "|---|---|---|"]
        for name, x in explain["requests"].items():
            other = (explain_small.get("requests") or {}).get(name, {}).get("statements", "—")
            lines.append(f"| {name} | {other} | {x['statements']} |")
        lines += [
            "",
            "Counted with `CaptureQueriesContext` over a whole request (test client, token authentication, "
            "middleware). Each request on a reused connection also sends Django's `SELECT 1` health check "
            "(`CONN_HEALTH_CHECKS=True`), not counted here.",
            "",
        ]
    profile = r.get("profile", {})
    if profile:
        lines += ["## Where an eligibility request's time goes (pyinstrument, in process, 100k data)", ""]
        for endpoint, p in profile.items():
            total = p["ms_per_request"]
            lines += [
                f"**{endpoint}** — {total:.1f} ms per request over {p['requests']} requests, "
                f"{p.get('cpu_share', 0):.0%} of it on the CPU (profile: `{p['html']}`):",
                "",
                "| stage of the request | ms | share |",
                "|---|---|---|",
            ]
            for where, value in p.get("stages_ms", {}).items():
                lines.append(f"| {where} | {value:.2f} | {value / total:.0%} |")
            lines += ["", "| whose code (own time, standard library counted for its caller) | ms | share |"]
            lines.append("|---|---|---|")
            for where, value in p["breakdown_ms"].items():
                lines.append(f"| {where} | {value:.2f} | {value / total:.0%} |")
            lines.append("")
    lines += ["See `bench/README.md` for what limits each figure and what was changed to get here.", ""]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    results = json.loads((ROOT / "bench" / "out" / "results.json").read_text())
    write_results(results, ROOT / "bench" / "results.md")
    sys.exit(0)
