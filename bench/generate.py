"""Synthetic registry data at national scale, loaded with PostgreSQL COPY.

    python bench/generate.py --therapists 100000 --certifications 1000000 --bookings 1000000

Writes into the bench database (``BENCH_DATA_DIR``, default ``.data/bench``; database
``REGISTRY_DB_NAME``, default ``registry``): migrates it, loads the shipped catalog
(``load_catalog``), then streams every table with psycopg 3 ``cursor.copy()`` in ONE
transaction:

- spas (about 50 therapists each) in ten US jurisdictions, and one "bench spa" with exactly
  50 employed therapists in a deliberate mix (most certified for low-back radiculopathy, some
  expired, revoked, uncertified, one licence suspended, one expired);
- therapists with licences (mostly active; some expired, suspended, revoked; some with a
  second licence elsewhere) and employments (current, past, a few at two spas);
- schools authorised for protocols, instructors on their rosters with verified clinical
  experience meeting each protocol's minimum years and cases;
- certifications in renewal chains per held protocol (prerequisites respected; the latest
  current, lapsed, or revoked), each with its three module completions, issued by an
  authorised school and taught by a qualified instructor of that school;
- intakes (conditions the therapist is certified for, or wellness; every screening question
  that applies answered no), bookings on a per-therapist time grid (a year back, half a year
  ahead: completed, cancelled, confirmed, a few needs-reassignment — never two slot-holding
  bookings of one therapist overlapping, so the exclusion constraint holds), and the decision
  that allowed each booking;
- one "fan-out" therapist with ``--fanout`` future bookings (default 10,000) that all rest on
  one tension-headache certification, for the revocation benchmark.

Speed: plain (non-unique, non-constraint) indexes and the foreign keys of the big tables are
dropped inside the transaction and re-created before it commits (foreign keys re-validated in
one pass each); primary keys, unique constraints, check constraints, the exclusion constraint
and the append-only triggers stay in force throughout. A failure rolls everything back,
constraints included. Then VACUUM ANALYZE.

Users for the load test are created through ``registry.services.accounts.user_create`` (one
spa-staff user of the bench spa, one registry admin), and the ids and tokens the load test
needs go to ``bench/out/fixture.json`` (``bench/prepare.py`` adds what must be fresh per run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import sys
import time
from base64 import urlsafe_b64encode
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

# --- the shape of the synthetic world ------------------------------------------------------------

JURISDICTIONS = [  # (ISO 3166-2, IANA timezone, weight ~ population)
    ("US-CA", "America/Los_Angeles", 12),
    ("US-TX", "America/Chicago", 9),
    ("US-FL", "America/New_York", 7),
    ("US-NY", "America/New_York", 6),
    ("US-IL", "America/Chicago", 4),
    ("US-WA", "America/Los_Angeles", 3),
    ("US-MA", "America/New_York", 2),
    ("US-CO", "America/Denver", 2),
    ("US-AZ", "America/Phoenix", 2),
    ("US-OR", "America/Los_Angeles", 1),
]
FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dario",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noor",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Alba",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Eva",
    "Felix",
    "Gaia",
    "Hugo",
    "Ida",
    "Jana",
    "Kofi",
    "Lena",
    "Mateo",
    "Nina",
    "Oscar",
    "Paula",
    "Rafael",
    "Sofia",
    "Tomas",
    "Valeria",
    "Willem",
    "Yara",
]
LAST = [
    "Garcia",
    "Smith",
    "Nguyen",
    "Okafor",
    "Rossi",
    "Kim",
    "Patel",
    "Silva",
    "Novak",
    "Cohen",
    "Haddad",
    "Larsen",
    "Moreau",
    "Tanaka",
    "Weber",
    "Ortiz",
    "Fischer",
    "Ivanova",
    "Mensah",
    "Dubois",
    "Jensen",
    "Costa",
    "Ali",
    "Schmidt",
    "Reyes",
    "Walsh",
    "Berg",
    "Sato",
    "Kowalski",
    "Lopez",
    "Baker",
    "Yilmaz",
    "Hansen",
    "Romero",
    "Chen",
    "Murphy",
    "Duarte",
    "Varga",
    "Lindqvist",
    "Abara",
]
CITIES = [
    "Harbour",
    "Ridge",
    "Lakeside",
    "Cedar",
    "Maple",
    "Summit",
    "Riverside",
    "Oak",
    "Willow",
    "Bay",
    "Pine",
    "Meadow",
    "Coast",
]
KINDS = ["Wellness Spa", "Day Spa", "Massage Clinic", "Bodywork Studio", "Recovery Centre"]

STATUS_LIST_SIZE = 131_072
SPA_SIZE = 50  # therapists per spa on average; the bench spa has exactly this many
BIG_SPA_SIZE = 500  # the large bench spa (search at 500 therapists): regular US-CA therapists
SPAN_PAST_DAYS = 365  # bookings: a year back ...
SPAN_FUTURE_DAYS = 180  # ... half a year ahead
REVOKED_SHARE = 0.015
MODULE_KINDS = ("fundamentals", "critical-details", "harm-avoidance")
LOW_BACK = "low-back-no-radiculopathy"
RADICULAR = "low-back-radiculopathy"
HEADACHE = "tension-headache"


def ts(value: dt.datetime) -> str:
    return value.isoformat(" ")


def nullable(value: str | None) -> str:
    return "\\N" if value is None else value


class Ids:
    """Random version-4 UUID strings, fast (``uuid.uuid4`` costs more than the row)."""

    def __init__(self, rng: random.Random) -> None:
        self.bits = rng.getrandbits
        self.clear = ~((0xF000 << 64) | (0xC000 << 48))
        self.set = (0x4000 << 64) | (0x8000 << 48)

    def __call__(self) -> str:
        h = f"{(self.bits(128) & self.clear) | self.set:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def allocate(total: int, count: int, rng: random.Random, spread: float = 0.6) -> list[int]:
    """``total`` split over ``count`` holders, each around the mean (gamma-distributed
    weights), summing exactly to ``total``."""
    if count == 0:
        return []
    shape = 1 / (spread * spread)
    weights = [rng.gammavariate(shape, 1.0) for _ in range(count)]
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    result = [int(s) for s in shares]
    remainder = total - sum(result)
    order = sorted(range(count), key=lambda i: shares[i] - result[i], reverse=True)
    for i in order[:remainder]:
        result[i] += 1
    return result


# --- catalog (already loaded by load_catalog) --------------------------------------------------------


@dataclass
class Catalog:
    protocols: dict[str, dict]  # slug -> {id, region, max_focus_minutes, validity_months, ...}
    modules: dict[str, dict[str, float]]  # slug -> kind -> min_hours
    prerequisites: dict[str, list[str]]
    conditions: dict[str, dict]  # code -> {id, region, protocols (slugs in any group)}
    questions: list  # ScreeningQuestion objects
    by_protocol: dict[str, list[str]] = field(default_factory=dict)  # slug -> condition codes it meets

    @classmethod
    def load(cls) -> Catalog:
        from protocols.models import Condition, Module, Protocol, ScreeningQuestion

        protocols = {
            p.slug: {
                "id": str(p.pk),
                "region": p.region,
                "max_focus_minutes": p.max_focus_minutes,
                "validity_months": p.validity_months,
                "min_years": p.min_instructor_years,
                "min_cases": p.min_instructor_cases,
            }
            for p in Protocol.objects.all()
        }
        if not protocols:
            raise SystemExit("The catalog is empty: run `manage.py load_catalog` first.")
        modules: dict[str, dict[str, float]] = defaultdict(dict)
        for m in Module.objects.select_related("protocol"):
            modules[m.protocol.slug][m.kind] = float(m.min_hours)
        prerequisites = {
            p.slug: [q.slug for q in p.prerequisites.all()]
            for p in Protocol.objects.prefetch_related("prerequisites")
        }
        conditions = {}
        by_protocol: dict[str, list[str]] = defaultdict(list)
        for c in Condition.objects.prefetch_related("requirement_groups__protocols"):
            groups = [[p.slug for p in g.protocols.all()] for g in c.requirement_groups.all()]
            conditions[c.code] = {"id": str(c.pk), "region": c.region, "groups": groups}
            if len(groups) == 1:
                for slug in groups[0]:
                    by_protocol[slug].append(c.code)
        return cls(
            protocols=protocols,
            modules=dict(modules),
            prerequisites=prerequisites,
            conditions=conditions,
            questions=list(ScreeningQuestion.objects.all()),
            by_protocol=dict(by_protocol),
        )


# --- table buffers and COPY ----------------------------------------------------------------------------

TABLES: dict[str, tuple[str, ...]] = {
    "registry_spa": ("id", "name", "jurisdiction", "timezone", "contact_email"),
    "credentials_therapist": ("id", "name", "email", "created_at"),
    "credentials_license": (
        "id",
        "therapist_id",
        "jurisdiction",
        "number",
        "status",
        "valid_from",
        "expires_on",
        "verified_source",  # never verified against a roster (verified_at NULL)
    ),
    "credentials_school": ("id", "name", "jurisdiction", "contact_email"),
    "credentials_schoolauthorization": (
        "id",
        "school_id",
        "protocol_id",
        "granted_at",
        "withdrawn_at",
        "withdrawn_reason",
    ),
    "credentials_instructor": ("id", "name"),
    "credentials_instructor_schools": ("instructor_id", "school_id"),
    "credentials_clinicalexperience": (
        "id",
        "instructor_id",
        "protocol_id",
        "years",
        "cases",
        "evidence",
        "verified_on",
        "verified_at",
        "withdrawn_at",
        "withdrawn_reason",
    ),
    "registry_employment": ("id", "spa_id", "therapist_id", "started_on", "ended_on"),
    "credentials_statuslist": ("id", "purpose", "size", "bits", "full", "created_at", "updated_at"),
    "credentials_certification": (
        "id",
        "serial",
        "therapist_id",
        "protocol_id",
        "school_id",
        "instructor_id",
        "taught_on",
        "valid_from",
        "expires_at",
        "issued_at",
        "revoked_at",
        "revoked_reason",
        "review_required",
        "review_reason",
        "reviewed_at",
        # provisional scope (issue 23): the generated therapists practise since their issue date
        # (as if grandfathered), so the bench measures bookings that need no supervisor
        "scope_full_at",
        "supervised_sessions_done",
    ),
    "credentials_modulecompletion": (
        "id",
        "certification_id",
        "kind",
        "completed_on",
        "hours",
        "assessment_passed",
    ),
    "registry_intake": (
        "id",
        "spa_id",
        "client_ref",
        "focus_regions",
        "screening",
        "clearances",
        "pain_score",
        "referral",
        "recorded_at",
        "valid_until",
    ),
    "registry_intake_conditions": ("intake_id", "condition_id"),
    "registry_booking": (
        "id",
        "spa_id",
        "therapist_id",
        "intake_id",
        "start",
        "end",
        "focus_region",
        "focus_minutes",
        "status",
        "reasons",
        "warnings",
        "suggested_therapists",
        "created_at",
        "updated_at",
    ),
    "registry_decision": (
        "id",
        "made_at",
        "kind",
        "spa_id",
        "therapist_id",
        "intake_id",
        "booking_id",
        "case",
        "allowed",
        "reasons",
        "warnings",
    ),
}
# Tables whose plain indexes and foreign keys are dropped during the load and re-created.
BIG_TABLES = (
    "credentials_therapist",
    "credentials_license",
    "registry_employment",
    "credentials_certification",
    "credentials_modulecompletion",
    "registry_intake",
    "registry_intake_conditions",
    "registry_booking",
    "registry_decision",
)


class Buffers:
    """Text-format COPY lines per table (tab-separated, ``\\N`` for NULL). The values written
    never contain a tab, a newline or a backslash, so no escaping is needed."""

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = defaultdict(list)

    def add(self, table: str, *values: str) -> None:
        self.lines[table].append("\t".join(values))

    def count(self, table: str) -> int:
        return len(self.lines[table])


def copy_table(cursor, table: str, lines: list[str], batch: int = 20_000) -> None:
    if not lines:
        return
    columns = ", ".join(f'"{c}"' for c in TABLES[table])
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for i in range(0, len(lines), batch):
            copy.write("\n".join(lines[i : i + batch]) + "\n")


def drop_for_load(cursor) -> list[str]:
    """Drop the plain indexes and the foreign keys of the big tables; return the DDL that
    re-creates them (run before the transaction commits)."""
    restore: list[str] = []
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s) AND NOT x.indisunique AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
        """,
        [list(BIG_TABLES)],
    )
    for name, definition in cursor.fetchall():
        cursor.execute(f'DROP INDEX "{name}"')
        restore.append(definition)
    cursor.execute(
        """
        SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE c.contype = 'f' AND t.relname = ANY(%s)
        """,
        [list(BIG_TABLES)],
    )
    for table, name, definition in cursor.fetchall():
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    return restore


# --- the generator ------------------------------------------------------------------------------------


@dataclass
class Spa:
    id: str
    jurisdiction: str
    timezone: str
    therapists: list[int] = field(default_factory=list)


@dataclass
class Chain:
    protocol: str
    length: int
    fate: str  # "current", "lapsed", "revoked"
    forced: bool = False


class World:
    def __init__(self, args: argparse.Namespace, catalog: Catalog) -> None:
        self.args = args
        self.catalog = catalog
        self.rng = random.Random(args.seed)
        self.uid = Ids(self.rng)
        self.now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        self.today = self.now.date()
        self.out = Buffers()
        self.serial_bytes = b""
        self.serial_pos = 0
        self.licence_numbers: dict[str, int] = defaultdict(lambda: 100_000)
        self.screening_cache: dict[frozenset, str] = {}
        self.client_counter = 0
        # what the fixture needs
        self.bench_spa: Spa | None = None
        self.big_spa: Spa | None = None  # BIG_SPA_SIZE regular US-CA therapists also work there
        self.bench_therapists: list[dict] = []
        self.fanout: dict = {}
        # Bitstring status lists (when the schema has them): every certification gets a bit at
        # a random index of a 131,072-entry list, as ``status_list_allocate`` gives them; a
        # revoked one has its bit set.
        self.status_lists: list[dict] | None = [] if args.status_lists else None
        self.issued = 0

    # --- helpers ---
    def serial(self) -> str:
        if self.serial_pos + 16 > len(self.serial_bytes):
            self.serial_bytes = os.urandom(16 * 65_536)
            self.serial_pos = 0
        chunk = self.serial_bytes[self.serial_pos : self.serial_pos + 16]
        self.serial_pos += 16
        return urlsafe_b64encode(chunk).rstrip(b"=").decode()

    def status_entry(self, revoked: bool) -> list[str]:
        if self.status_lists is None:
            return []
        number, offset = divmod(self.issued, STATUS_LIST_SIZE)
        self.issued += 1
        if number == len(self.status_lists):
            self.status_lists.append(
                {
                    "id": self.uid(),
                    "bits": bytearray(STATUS_LIST_SIZE // 8),
                    "order": self.rng.sample(range(STATUS_LIST_SIZE), STATUS_LIST_SIZE),
                }
            )
        entry = self.status_lists[number]
        index = entry["order"][offset]
        if revoked:
            entry["bits"][index // 8] |= 0x80 >> (index % 8)
        return [entry["id"], str(index)]

    def finish_status_lists(self) -> None:
        if not self.status_lists:
            return
        last = len(self.status_lists) - 1
        created = ts(self.now - dt.timedelta(days=400))
        for number, entry in enumerate(self.status_lists):
            full = number < last or self.issued % STATUS_LIST_SIZE == 0
            self.out.add(
                "credentials_statuslist",
                entry["id"],
                "revocation",
                str(STATUS_LIST_SIZE),
                "\\\\x" + entry["bits"].hex(),
                "t" if full else "f",
                created,
                ts(self.now),
            )

    def licence_number(self, jurisdiction: str) -> str:
        self.licence_numbers[jurisdiction] += 1
        return f"MT{self.licence_numbers[jurisdiction]}"

    def screening(self, regions: set[str]) -> str:
        key = frozenset(regions)
        if key not in self.screening_cache:
            from registry.services.intakes import applicable_questions

            asked = applicable_questions(self.catalog.questions, set(regions))
            self.screening_cache[key] = json.dumps({q.code: False for q in asked}, separators=(", ", ": "))
        return self.screening_cache[key]

    def validity(self, slug: str) -> dt.timedelta:
        return dt.timedelta(days=round(self.catalog.protocols[slug]["validity_months"] * 30.44))

    # --- reference data ---
    def spas(self, therapists: int) -> list[Spa]:
        count = max(1, therapists // SPA_SIZE - 1)
        weights = [w for _, _, w in JURISDICTIONS]
        spas = []
        for i in range(count):
            jurisdiction, tz, _ = self.rng.choices(JURISDICTIONS, weights)[0]
            spa = Spa(self.uid(), jurisdiction, tz)
            name = f"{self.rng.choice(CITIES)} {self.rng.choice(KINDS)} #{i + 1}"
            self.out.add("registry_spa", spa.id, name, jurisdiction, tz, f"desk{i + 1}@spa.example.org")
            spas.append(spa)
        bench = Spa(self.uid(), "US-CA", "America/Los_Angeles")
        self.out.add(
            "registry_spa",
            bench.id,
            "Bench Spa (50 therapists)",
            bench.jurisdiction,
            bench.timezone,
            "desk@bench-spa.example.org",
        )
        self.bench_spa = bench
        if therapists >= 20 * BIG_SPA_SIZE:  # a chain's flagship: 500 therapists also work here
            big = Spa(self.uid(), "US-CA", "America/Los_Angeles")
            self.out.add(
                "registry_spa",
                big.id,
                f"Bench Spa ({BIG_SPA_SIZE} therapists)",
                big.jurisdiction,
                big.timezone,
                "desk@bench-spa-500.example.org",
            )
            self.big_spa = big
        return spas

    def schools_and_instructors(self, therapists: int) -> dict[str, list[tuple[str, str]]]:
        """Schools with authorisations, instructors with verified experience; returns, per
        protocol, the (school, instructor) pairs that may issue it."""
        slugs = list(self.catalog.protocols)
        long_ago = self.now - dt.timedelta(days=365 * 25)
        schools = []
        for i in range(max(10, therapists // 500)):
            school_id = self.uid()
            jurisdiction = self.rng.choices(JURISDICTIONS, [w for _, _, w in JURISDICTIONS])[0][0]
            self.out.add(
                "credentials_school",
                school_id,
                f"{self.rng.choice(CITIES)} School of Massage #{i + 1}",
                jurisdiction,
                f"office{i + 1}@school.example.org",
            )
            authorised = self.rng.sample(slugs, self.rng.randint(2, len(slugs)))
            for slug in authorised:
                self.out.add(
                    "credentials_schoolauthorization",
                    self.uid(),
                    school_id,
                    self.catalog.protocols[slug]["id"],
                    ts(long_ago),
                    "\\N",
                    "",
                )
            schools.append((school_id, authorised))
        for slug in slugs:  # every protocol has at least one authorised school
            if not any(slug in authorised for _, authorised in schools):
                school_id, authorised = schools[0]
                authorised.append(slug)
                self.out.add(
                    "credentials_schoolauthorization",
                    self.uid(),
                    school_id,
                    self.catalog.protocols[slug]["id"],
                    ts(long_ago),
                    "\\N",
                    "",
                )
        roster: dict[str, list[str]] = defaultdict(list)  # school -> instructors
        experience: dict[str, set[str]] = defaultdict(set)  # instructor -> slugs
        for _ in range(max(20, therapists // 100)):
            instructor = self.uid()
            name = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
            self.out.add("credentials_instructor", instructor, name)
            mine = self.rng.sample(schools, self.rng.choice((1, 1, 1, 2)))
            teachable = sorted({slug for _, authorised in mine for slug in authorised})
            for school_id, _ in mine:
                roster[school_id].append(instructor)
            for slug in self.rng.sample(teachable, min(len(teachable), self.rng.randint(1, 3))):
                experience[instructor].add(slug)
        # every authorisation has at least one qualified instructor on the school's roster
        for school_id, authorised in schools:
            if not roster[school_id]:
                instructor = self.uid()
                self.out.add("credentials_instructor", instructor, f"{self.rng.choice(FIRST)} Teacher")
                roster[school_id].append(instructor)
            for slug in authorised:
                if not any(slug in experience[i] for i in roster[school_id]):
                    experience[self.rng.choice(roster[school_id])].add(slug)
        pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for school_id, authorised in schools:
            for instructor in roster[school_id]:
                self.out.add("credentials_instructor_schools", instructor, school_id)
                for slug in authorised:
                    if slug in experience[instructor]:
                        pairs[slug].append((school_id, instructor))
        verified = long_ago + dt.timedelta(days=30)
        for instructor, held in experience.items():
            for slug in sorted(held):
                p = self.catalog.protocols[slug]
                self.out.add(
                    "credentials_clinicalexperience",
                    self.uid(),
                    instructor,
                    p["id"],
                    str(p["min_years"] + self.rng.randint(0, 15)),
                    str(p["min_cases"] + self.rng.randint(0, 2000)),
                    f"Registry verification of case logs and employer references ({slug}).",
                    verified.date().isoformat(),
                    ts(verified),
                    "\\N",
                    "",
                )
        return pairs

    # --- one therapist ---
    def chains(self, certifications: int, forced: dict[str, str] | None = None) -> list[Chain]:
        """Which protocols the therapist holds and how many certifications each chain has."""
        slugs = list(self.catalog.protocols)
        if forced is not None:
            held = list(forced)
        else:
            wanted = min(len(slugs), max(1, min(certifications, self.rng.choice((1, 2, 2, 3, 3, 3, 4, 5)))))
            held = self.rng.sample(slugs, wanted)
        for slug in list(held):  # prerequisites first
            for pre in self.catalog.prerequisites.get(slug, []):
                if pre not in held:
                    held.insert(0, pre)
        held = list(dict.fromkeys(held))
        certifications = max(certifications, len(held))
        lengths = [1] * len(held)
        for _ in range(certifications - len(held)):
            lengths[self.rng.randrange(len(held))] += 1
        if RADICULAR in held and LOW_BACK in held:  # the prerequisite's chain starts no later
            a, b = held.index(LOW_BACK), held.index(RADICULAR)
            if lengths[a] < lengths[b]:
                lengths[a], lengths[b] = lengths[b], lengths[a]
        result = []
        for slug, length in zip(held, lengths, strict=True):
            if forced is not None and slug in forced:
                result.append(Chain(slug, length, forced[slug], forced=True))
                continue
            draw = self.rng.random()
            fate = "current" if draw < 0.82 else ("lapsed" if draw < 0.97 else "revoked")
            if forced is not None:  # a prerequisite of a forced chain: held and current
                fate = "current"
            result.append(Chain(slug, length, fate, forced=forced is not None))
        return result

    def certifications(
        self, therapist: str, chains: list[Chain], pairs: dict[str, list[tuple[str, str]]]
    ) -> tuple[dt.datetime, dict[str, list[tuple[dt.datetime, dt.datetime, dt.datetime | None, str]]]]:
        """Write the chains; return the earliest issue and, per protocol, its certifications'
        (valid_from, expires_at, revoked_at, id)."""
        earliest = self.now
        held: dict[str, list] = {}
        for chain in chains:
            validity = self.validity(chain.protocol)
            if chain.fate == "lapsed":
                latest_from = self.now - validity - dt.timedelta(days=self.rng.randint(1, 900))
            else:  # forced ones (the bench spa) stay valid through the coming weeks
                margin = 45 if chain.forced else 2
                latest_from = self.now - dt.timedelta(days=self.rng.randint(1, validity.days - margin))
            starts = [latest_from]
            for _ in range(chain.length - 1):
                gap = dt.timedelta(days=self.rng.randint(0, 60) if self.rng.random() < 0.3 else 0)
                starts.append(starts[-1] - validity - gap)
            starts.reverse()
            earliest = min(earliest, starts[0])
            p = self.catalog.protocols[chain.protocol]
            issued = []
            for index, valid_from in enumerate(starts):
                expires_at = valid_from + validity
                revoked_at = None
                last = index == len(starts) - 1
                if (last and chain.fate == "revoked") or (not last and self.rng.random() < REVOKED_SHARE):
                    end = min(expires_at, self.now)
                    revoked_at = valid_from + (end - valid_from) * self.rng.uniform(0.1, 0.95)
                    revoked_at = revoked_at.replace(microsecond=0)
                school, instructor = self.rng.choice(pairs[chain.protocol])
                taught_on = (valid_from - dt.timedelta(days=self.rng.randint(1, 30))).date()
                cert_id = self.uid()
                review = self.rng.random() < 0.002 and revoked_at is None
                self.out.add(
                    "credentials_certification",
                    cert_id,
                    self.serial(),
                    therapist,
                    p["id"],
                    school,
                    instructor,
                    taught_on.isoformat(),
                    ts(valid_from),
                    ts(expires_at),
                    ts(valid_from),
                    nullable(revoked_at and ts(revoked_at)),
                    "School revoked the certificate after an assessment audit." if revoked_at else "",
                    "t" if review else "f",
                    "The instructor's clinical experience was withdrawn." if review else "",
                    "\\N",
                    ts(valid_from),
                    "0",
                    *self.status_entry(revoked_at is not None),
                )
                for kind in MODULE_KINDS:
                    hours = self.catalog.modules[chain.protocol][kind] + self.rng.choice((0, 0, 0.5, 1, 2, 4))
                    completed = taught_on - dt.timedelta(days=self.rng.randint(0, 14))
                    self.out.add(
                        "credentials_modulecompletion",
                        self.uid(),
                        cert_id,
                        kind,
                        completed.isoformat(),
                        f"{hours:.2f}",
                        "t",
                    )
                issued.append((valid_from, expires_at, revoked_at, cert_id))
            held[chain.protocol] = issued
        return earliest, held

    def licences(
        self,
        therapist: str,
        jurisdiction: str,
        since: dt.datetime,
        status: str | None = None,
        expires_on: dt.date | None = None,
    ) -> tuple[str, dt.date, dt.date]:
        """The home licence (mostly active), and for one in ten a second one from a move.
        Returns the home licence's (status, valid_from, expires_on)."""
        if status is None:
            draw = self.rng.random()
            status = (
                "active"
                if draw < 0.93
                else ("expired" if draw < 0.96 else "suspended" if draw < 0.98 else "revoked")
            )
        valid_from = (since - dt.timedelta(days=self.rng.randint(30, 400))).date()
        if expires_on is None and status == "expired":
            expires_on = self.today - dt.timedelta(days=self.rng.randint(1, 400))
            valid_from = min(valid_from, expires_on - dt.timedelta(days=365))
        elif expires_on is None:
            expires_on = self.today + dt.timedelta(days=self.rng.randint(40, 900))
        self.out.add(
            "credentials_license",
            self.uid(),
            therapist,
            jurisdiction,
            self.licence_number(jurisdiction),
            status,
            valid_from.isoformat(),
            expires_on.isoformat(),
            "",
        )
        if self.rng.random() < 0.10:
            other = self.rng.choice([j for j, _, _ in JURISDICTIONS if j != jurisdiction])
            if self.rng.random() < 0.5:
                other_status, other_expiry = (
                    "active",
                    self.today + dt.timedelta(days=self.rng.randint(40, 900)),
                )
            else:
                other_status, other_expiry = (
                    "expired",
                    self.today - dt.timedelta(days=self.rng.randint(1, 900)),
                )
            other_from = min(valid_from, other_expiry - dt.timedelta(days=365))
            self.out.add(
                "credentials_license",
                self.uid(),
                therapist,
                other,
                self.licence_number(other),
                other_status,
                other_from.isoformat(),
                other_expiry.isoformat(),
                "",
            )
        return status, valid_from, expires_on

    def booking(
        self,
        *,
        therapist: str,
        spa: Spa,
        start: dt.datetime,
        minutes: int,
        condition: str,
        status: str,
        recorded_at: dt.datetime,
    ) -> str:
        c = self.catalog.conditions[condition]
        region = c["region"]
        focus_region, focus_minutes = None, 0
        if region != "whole-body":
            limits = [self.catalog.protocols[s]["max_focus_minutes"] for g in c["groups"] for s in g]
            focus_region = region
            focus_minutes = min([minutes, *limits]) - self.rng.choice((0, 5, 10))
        intake = self.uid()
        self.client_counter += 1
        regions = {region} if region != "whole-body" else {"whole-body"}
        self.out.add(
            "registry_intake",
            intake,
            spa.id,
            f"C{self.client_counter:08d}",
            "{" + (focus_region or "") + "}",
            self.screening(regions),
            "{}",
            str(self.rng.randint(0, 8)),
            "\\N",
            ts(recorded_at),
            ts(recorded_at + dt.timedelta(days=7)),
        )
        self.out.add("registry_intake_conditions", intake, c["id"])
        booking = self.uid()
        end = start + dt.timedelta(minutes=minutes)
        created = recorded_at + dt.timedelta(minutes=self.rng.randint(1, 30))
        reasons = "[]"
        if status == "needs-reassignment":
            reasons = '[{"code": "CERTIFICATION_REVOKED", "message": "Re-checked after a revocation."}]'
        self.out.add(
            "registry_booking",
            booking,
            spa.id,
            therapist,
            intake,
            ts(start),
            ts(end),
            nullable(focus_region),
            str(focus_minutes),
            status,
            reasons,
            "[]",
            "[]",
            ts(created),
            ts(created),
        )
        case = (
            f'{{"spa": "{spa.id}", "therapist": "{therapist}", "intake": "{intake}", "start": '
            f'"{start.isoformat()}", "end": "{end.isoformat()}", "focus_region": '
            f'{json.dumps(focus_region)}, "focus_minutes": {focus_minutes}}}'
        )
        self.out.add(
            "registry_decision",
            self.uid(),
            ts(created),
            "booking",
            spa.id,
            therapist,
            intake,
            booking,
            case,
            "t",
            "[]",
            "[]",
        )
        return booking

    def bookings(
        self,
        therapist: str,
        spa: Spa,
        count: int,
        held: dict[str, list],
        licence: tuple[str, dt.date, dt.date],
    ) -> None:
        """``count`` bookings on a per-therapist grid from a year back to half a year ahead:
        at most one per grid cell, so no two overlap. Each intake names a condition one of
        the therapist's certifications covered for the whole session (or wellness), so every
        confirmed booking was allowed when it was made; a session the home licence does not
        cover was cancelled."""
        if count <= 0:
            return
        by_protocol = self.catalog.by_protocol
        licence_status, licence_from, licence_to = licence
        span = SPAN_PAST_DAYS + SPAN_FUTURE_DAYS
        cell = span * 24 / count  # hours per grid cell
        assert cell >= 1, "more than one booking an hour: raise the span"
        first = self.now.replace(minute=0) - dt.timedelta(days=SPAN_PAST_DAYS)
        for j in range(count):
            cell_start = first + dt.timedelta(hours=math.ceil(j * cell))
            minutes = self.rng.choice((30, 45, 60, 60, 60, 90))
            room = int(cell) - 2  # whole hours of slack inside the cell
            start = cell_start + dt.timedelta(hours=self.rng.randint(0, room) if room > 0 else 0)
            if cell < 2:
                minutes = min(minutes, int(cell * 60) - 5)
            end = start + dt.timedelta(minutes=minutes)
            conditions = [
                code
                for slug, certs in held.items()
                if any(vf <= start and end <= ea and (ra is None or ra >= end) for vf, ea, ra, _ in certs)
                for code in by_protocol.get(slug, ())
            ]
            condition = self.rng.choice(conditions) if conditions and self.rng.random() < 0.65 else "WELLNESS"
            draw = self.rng.random()
            if not (licence_status == "active" and licence_from <= start.date() and end.date() <= licence_to):
                status = "cancelled"
            elif end <= self.now:
                status = "completed" if draw < 0.88 else "cancelled"
            else:
                status = (
                    "confirmed" if draw < 0.93 else ("cancelled" if draw < 0.98 else "needs-reassignment")
                )
            recorded = start - dt.timedelta(hours=self.rng.randint(1, 120))
            self.booking(
                therapist=therapist,
                spa=spa,
                start=start,
                minutes=minutes,
                condition=condition,
                status=status,
                recorded_at=recorded,
            )

    def therapist(self, index: int) -> str:
        therapist = self.uid()
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        created = self.now - dt.timedelta(days=self.rng.randint(400, 4000))
        self.out.add(
            "credentials_therapist",
            therapist,
            f"{first} {last}",
            f"{first.lower()}.{last.lower()}{index}@mail.example.org",
            ts(created),
        )
        return therapist

    def employment(self, therapist: str, spa: Spa, others: list[Spa]) -> None:
        started = self.today - dt.timedelta(days=self.rng.randint(SPAN_PAST_DAYS + 5, 3000))
        self.out.add("registry_employment", self.uid(), spa.id, therapist, started.isoformat(), "\\N")
        draw = self.rng.random()
        if draw < 0.20 and others:  # a past job elsewhere
            past = self.rng.choice(others)
            if past is not spa:
                ended = started - dt.timedelta(days=self.rng.randint(1, 300))
                began = ended - dt.timedelta(days=self.rng.randint(60, 1500))
                self.out.add(
                    "registry_employment",
                    self.uid(),
                    past.id,
                    therapist,
                    began.isoformat(),
                    ended.isoformat(),
                )
        elif draw < 0.25 and others:  # also works at a second spa
            second = self.rng.choice(others)
            if second is not spa:
                self.out.add(
                    "registry_employment", self.uid(), second.id, therapist, started.isoformat(), "\\N"
                )

    # --- the whole world ---
    def build(self) -> None:
        a = self.args
        spas = self.spas(a.therapists)
        by_jurisdiction: dict[str, list[Spa]] = defaultdict(list)
        for spa in spas:
            by_jurisdiction[spa.jurisdiction].append(spa)
        pairs = self.schools_and_instructors(a.therapists)
        fanout = 1 if a.fanout else 0
        regular = a.therapists - SPA_SIZE - fanout
        if regular < 0:
            raise SystemExit(f"--therapists must be at least {SPA_SIZE + fanout}.")
        cert_counts = allocate(a.certifications - (2 if fanout else 0), a.therapists - fanout, self.rng)
        booking_counts = allocate(a.bookings - a.fanout, a.therapists - fanout, self.rng, spread=0.8)
        bench = self.bench_spa
        assert bench is not None
        # the bench spa's 50: a deliberate mix for the search benchmark
        for i in range(SPA_SIZE):
            if i < 34:
                forced, licence, profile = {RADICULAR: "current"}, "active", "radiculopathy certified"
            elif i < 40:
                forced, licence, profile = {RADICULAR: "lapsed"}, "active", "radiculopathy expired"
            elif i < 43:
                forced, licence, profile = {RADICULAR: "revoked"}, "active", "radiculopathy revoked"
            elif i < 48:
                forced, licence, profile = {LOW_BACK: "current"}, "active", "low back only"
            else:
                licence = "suspended" if i == 48 else "expired"
                forced, profile = {RADICULAR: "current"}, f"licence {licence}"
            if self.rng.random() < 0.4:
                forced[self.rng.choice([HEADACHE, "neck-radiculopathy", "post-concussion"])] = "current"
            therapist = self.therapist(i)
            bench.therapists.append(i)
            earliest, held = self.certifications(therapist, self.chains(cert_counts[i], forced), pairs)
            home = self.licences(therapist, bench.jurisdiction, earliest, status=licence)
            started = self.today - dt.timedelta(days=self.rng.randint(SPAN_PAST_DAYS + 5, 3000))
            self.out.add("registry_employment", self.uid(), bench.id, therapist, started.isoformat(), "\\N")
            self.bookings(therapist, bench, booking_counts[i], held, home)
            self.bench_therapists.append({"id": therapist, "profile": profile})
        report = time.monotonic()
        for n in range(regular):
            i = SPA_SIZE + n
            spa = spas[n % len(spas)]
            therapist = self.therapist(i)
            earliest, held = self.certifications(therapist, self.chains(cert_counts[i]), pairs)
            home = self.licences(therapist, spa.jurisdiction, earliest)
            self.employment(therapist, spa, by_jurisdiction[spa.jurisdiction])
            big = self.big_spa
            if (
                big is not None
                and spa.jurisdiction == big.jurisdiction
                and len(big.therapists) < BIG_SPA_SIZE
            ):
                big.therapists.append(i)  # a second current job, at the large bench spa
                started = self.today - dt.timedelta(days=self.rng.randint(SPAN_PAST_DAYS + 5, 3000))
                self.out.add("registry_employment", self.uid(), big.id, therapist, started.isoformat(), "\\N")
            self.bookings(therapist, spa, booking_counts[i], held, home)
            if time.monotonic() - report > 10:
                report = time.monotonic()
                log(f"  generated {n + SPA_SIZE:,} therapists")
        if fanout:
            self.build_fanout(spas[0], pairs)
        self.finish_status_lists()

    def build_fanout(self, spa: Spa, pairs: dict) -> None:
        """One therapist booked ``--fanout`` times over the next years, every booking resting
        on one tension-headache certification (its condition needs that protocol)."""
        therapist = self.therapist(10**9)
        validity = self.validity(HEADACHE)
        valid_from = self.now - dt.timedelta(days=20)
        chain_start = valid_from - validity
        # the licence outlives the bookings
        self.licences(
            therapist,
            spa.jurisdiction,
            chain_start,
            status="active",
            expires_on=self.today + dt.timedelta(days=5 * 365),
        )
        self.out.add(
            "registry_employment",
            self.uid(),
            spa.id,
            therapist,
            (self.today - dt.timedelta(days=800)).isoformat(),
            "\\N",
        )
        school, instructor = pairs[HEADACHE][0]
        protocol = self.catalog.protocols[HEADACHE]["id"]
        cert_ids = []
        for start in (chain_start, valid_from):
            cert_id = self.uid()
            taught = (start - dt.timedelta(days=10)).date()
            self.out.add(
                "credentials_certification",
                cert_id,
                self.serial(),
                therapist,
                protocol,
                school,
                instructor,
                taught.isoformat(),
                ts(start),
                ts(start + validity),
                ts(start),
                "\\N",
                "",
                "f",
                "",
                "\\N",
                *self.status_entry(False),
            )
            for kind in MODULE_KINDS:
                self.out.add(
                    "credentials_modulecompletion",
                    self.uid(),
                    cert_id,
                    kind,
                    taught.isoformat(),
                    f"{self.catalog.modules[HEADACHE][kind] + 1:.2f}",
                    "t",
                )
            cert_ids.append(cert_id)
        # ten sessions a day (on the hour, 45 minutes), from tomorrow, until the count is reached
        day0 = (self.now + dt.timedelta(days=1)).replace(hour=15, minute=0)
        for j in range(self.args.fanout):
            start = day0 + dt.timedelta(days=j // 10, hours=j % 10)
            assert start + dt.timedelta(minutes=45) < valid_from + validity
            self.booking(
                therapist=therapist,
                spa=spa,
                start=start,
                minutes=45,
                condition="G44.209",
                status="confirmed",
                recorded_at=start - dt.timedelta(days=1),
            )
        self.fanout.update(
            {
                "therapist": therapist,
                "certification": cert_ids[-1],
                "spa": spa.id,
                "bookings": self.args.fanout,
            }
        )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load(world: World) -> dict[str, float]:
    """COPY every table in one transaction; indexes and foreign keys re-created before commit."""
    from django.db import connection, transaction

    from registry import rls

    timings: dict[str, float] = {}
    # A data load, as the tables' owner (like a migration): COPY into tables with row-level
    # security is not the app role's, nor are the indexes dropped and re-created here.
    with rls.as_owner(), transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        restore = drop_for_load(cursor)
        for table in TABLES:
            lines = world.out.lines.get(table, [])
            started = time.monotonic()
            copy_table(cursor, table, lines)
            timings[table] = time.monotonic() - started
            log(f"  COPY {table}: {len(lines):,} rows in {timings[table]:.1f} s")
            world.out.lines[table] = []  # free the memory
        started = time.monotonic()
        for statement in restore:
            cursor.execute(statement)
        timings["indexes and foreign keys"] = time.monotonic() - started
        log(
            f"  re-created {len(restore)} indexes and foreign keys in "
            f"{timings['indexes and foreign keys']:.1f} s"
        )
    return timings


def users_and_fixture(world_info: dict, path: Path) -> dict:
    """Users through ``user_create`` (or their existing tokens), and the fixture file."""
    from core.models import User
    from credentials.models import Certification
    from registry.choices import Role
    from registry.models import Spa as SpaModel
    from registry.services.accounts import token_ensure, user_create

    spa = SpaModel.objects.get(pk=world_info["bench_spa"])
    tokens = {}
    users = [
        ("bench-spa-staff", {"role": Role.SPA_STAFF, "spa": spa}),
        ("bench-admin", {"role": Role.REGISTRY_ADMIN}),
    ]
    if world_info.get("big_spa"):
        big = SpaModel.objects.get(pk=world_info["big_spa"])
        users.append(("bench-spa500-staff", {"role": Role.SPA_STAFF, "spa": big}))
    for username, membership in users:
        user = User.objects.filter(username=username).first()
        if user is None:
            user, token = user_create(actor=None, username=username, **membership)
        else:
            token = token_ensure(user=user)
        tokens[username] = {"id": str(user.pk), "token": token}
    serials = list(
        Certification.objects.raw(
            "SELECT id, serial FROM credentials_certification TABLESAMPLE SYSTEM (1) LIMIT 2000"
        )
    )
    fixture = {
        **world_info,
        "spa_staff": tokens["bench-spa-staff"],
        "admin": tokens["bench-admin"],
        "big_spa_staff": tokens.get("bench-spa500-staff"),
        "serials": [c.serial for c in serials]
        or list(Certification.objects.values_list("serial", flat=True)[:2000]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture, indent=2))
    return fixture


def check_sample(size: int) -> dict:
    """Re-decide a random sample of confirmed future bookings with the real engine: in
    consistent data every one is still allowed (invariant 1 holds for the generated rows)."""
    from collections import Counter

    from django.utils import timezone

    from registry import eligibility
    from registry.models import Booking
    from registry.selectors import eligibility_case, eligibility_facts_for_therapist

    now = timezone.now()
    sample = list(
        Booking.objects.raw(
            "SELECT * FROM registry_booking TABLESAMPLE SYSTEM (2) WHERE status = 'confirmed' AND start > %s "
            "LIMIT %s",
            [now, size],
        ).prefetch_related("intake__spa")
    )
    refused: Counter = Counter()
    for booking in sample:
        facts = eligibility_facts_for_therapist(
            therapist_id=booking.therapist_id, window=(booking.start, booking.end)
        )
        case = eligibility_case(
            intake=booking.intake,
            start=booking.start,
            end=booking.end,
            focus_region=booking.focus_region,
            focus_minutes=booking.focus_minutes,
            booking_id=str(booking.pk),
        )
        result = eligibility.decide(facts, case)
        for reason in result.reasons:
            refused[reason.code] += 1
    return {"sampled": len(sample), "refused_reasons": dict(refused)}


def has_status_lists() -> bool:
    """Whether the schema gives certifications a bit in a status list (credentials 0003)."""
    from django.db import connection

    with connection.cursor() as cursor:
        columns = {
            c.name
            for c in connection.introspection.get_table_description(cursor, "credentials_certification")
        }
        return {"status_list_id", "status_index"} <= columns


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        result = {}
        for table in TABLES:
            if table not in connection.introspection.table_names(cursor):
                continue
            cursor.execute(f"SELECT count(*) FROM {table}")
            result[table] = cursor.fetchone()[0]
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--therapists", type=int, default=100_000)
    parser.add_argument("--certifications", type=int, default=1_000_000)
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument(
        "--fanout", type=int, default=10_000, help="future bookings of the fan-out therapist (0: none)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--force", action="store_true", help="drop and rebuild the database if it has data")
    parser.add_argument(
        "--no-status-lists", dest="status_lists", action="store_false", help="leave status_list/index NULL"
    )
    parser.add_argument("--check", type=int, default=0, help="re-decide N sampled future bookings and exit")
    parser.add_argument("--fixture", type=Path, default=None, help="default: bench/out/fixture[-DB].json")
    args = parser.parse_args(argv)

    name = os.environ.get("REGISTRY_DB_NAME", "registry")
    if args.force:
        os.environ["REGISTRY_DATA_DIR"] = _django.data_dir()
        _django.drop_database(name)
    _django.setup()
    from django.core.management import call_command

    from credentials.models import Therapist

    fixture_path = args.fixture or _django.OUT / (
        "fixture.json" if name == "registry" else f"fixture-{name}.json"
    )
    if args.check:
        print(json.dumps(check_sample(args.check), indent=2))
        return 0
    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_catalog", verbosity=0)
    if Therapist.objects.exists():
        log(f"database {name} already has data; not generating (use --force to rebuild)")
        if not fixture_path.exists():
            raise SystemExit(f"{fixture_path} is missing: rebuild with --force")
        return 0

    log(
        f"generating {args.therapists:,} therapists, {args.certifications:,} certifications, "
        f"{args.bookings:,} bookings into database {name}"
    )
    args.status_lists = args.status_lists and has_status_lists()
    if args.status_lists:
        TABLES["credentials_certification"] += ("status_list_id", "status_index")
    world = World(args, Catalog.load())
    world.build()
    generated = time.monotonic()
    log(f"generated in {generated - started:.1f} s; loading with COPY")
    timings = load(world)
    loaded = time.monotonic()
    from django.db import connection

    from registry import rls

    # outside the transaction, as the owner (a scoped statement would be wrapped in one)
    with rls.as_owner(), connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    analysed = time.monotonic()
    info = {
        "database": name,
        "generated_at": world.now.isoformat(),
        "bench_spa": world.bench_spa.id,
        "big_spa": world.big_spa.id if world.big_spa else None,
        "bench_therapists": world.bench_therapists,
        "fanout": world.fanout,
        "sizes": counts(),
        "timings_s": {
            "generate": round(generated - started, 1),
            "copy": round(loaded - generated, 1),
            "vacuum_analyze": round(analysed - loaded, 1),
            "total": round(analysed - started, 1),
            "per_table": {k: round(v, 1) for k, v in timings.items()},
        },
    }
    users_and_fixture(info, fixture_path)
    log(json.dumps({k: info[k] for k in ("sizes", "timings_s")}, indent=2))
    log(f"fixture: {fixture_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
