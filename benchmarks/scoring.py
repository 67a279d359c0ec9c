#!/usr/bin/env python
"""Benchmark of the relationship-score recompute on PostgreSQL (not a test).

    DATABASE_URL=postgres://user@host:5432/ror_bench python benchmarks/scoring.py --scale small
    python scripts/with_services.py -- python benchmarks/scoring.py --scale small

One run:
1. generates a synthetic agency at the chosen scale with COPY (seeded, so every run of a
   scale loads the same rows), then VACUUM ANALYZE;
2. floor_s: one plain SQL statement doing the same per-contact aggregation in the database
   (timed before and after the recompute; the faster of the two counts);
3. naive: a per-contact ORM loop (queries per relation, DOMAIN.md's sums row by row in
   Python as tests/scoring/naive.py writes them, score_contact(), update_or_create) on a
   sample, in a transaction that is rolled back, extrapolated to every contact;
4. recompute_s: every contact through the product's path, all_contact_id_chunks() and
   recompute_contacts(), serially in this process, with next_action_s the part of it spent on
   keep-in-touch cadences and next best actions (next_action_added: what that part adds to the
   recompute without it; target ≤ 20 %); then write_floor_s: the rows it stored
   written back by plain INSERT … SELECT, what writing them costs the database alone;
5. event_recompute_s: the after-the-event path for an event with 5,000 attendees:
   event_contact_ids(), recompute_contacts() per chunk, compute_event_metrics();
6. with the scores emptied, the recompute of step 4 fanned out over --workers processes
   (default: one per core), each running the nightly run's task for one chunk at a time
   as a Celery worker process does.

It prints the figures and writes them into BENCHMARKS.md (the section of this scale).
It refuses a database that is not PostgreSQL, and one that already holds contacts or events
unless --reset is given (which empties those tables and everything that hangs off them).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = PROJECT_ROOT / "BENCHMARKS.md"

# The scale of the target: per contact 10 attendances, 20 interactions, 5 follow-ups.
ATTENDANCES_PER_CONTACT = 10
INTERACTIONS_PER_ATTENDANCE = 2
FOLLOWUPS_PER_ATTENDANCE = 0.5  # every second attendance row gets a follow-up
FEEDBACK_SHARE = 0.15  # of an event's attended contacts
REFERRALS_PER_CONTACT = 0.05
CONTACTS_PER_EVENT = 50  # events = contacts / 50: about 500 attendance rows each
EDITIONS_PER_SERIES = 8
CONTACTS_PER_ORGANIZATION = 20
BIG_EVENT_ATTENDEES = 5_000
SCALES = {"small": 10_000, "medium": 100_000, "large": 1_000_000}

AS_OF = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # every score of a run is computed as of this time
HISTORY_DAYS = 3 * 365  # events start up to three years before AS_OF ...
FUTURE_DAYS = 60  # ... and up to two months after it (planned, nobody attended yet)

TARGETS = {
    "ratio_to_floor": 1.5, "speedup_vs_naive": 100.0, "event_recompute_s": 2.0, "next_action_added": 0.20,
    "nightly_s": 10.0, "nightly_ratio_to_floor": 1.5,
}
EVENT_RUNS = 3  # the after-the-event path's runs, the fastest counts
TABLES_WRITTEN = ["contacts_organization", "contacts_contact", "events_eventseries", "events_event"]


# --------------------------------------------------------------------------- setup


def setup_django() -> None:
    """Production settings (DEBUG off, so no query log), with a throwaway key if none is set."""
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path[0] = str(PROJECT_ROOT)  # else `import scoring` would find this file, not the app
    elif str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ror_crm.settings")
    if not os.environ.get("DJANGO_SECRET_KEY") and os.environ.get("DJANGO_DEBUG", "").lower() not in {"1", "true", "yes", "on"}:
        os.environ["DJANGO_SECRET_KEY"] = "benchmark-only-" + "x" * 40
    import django

    django.setup()


def fail(message: str) -> None:
    print(f"benchmarks/scoring.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def require_postgresql() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        fail(
            f"needs PostgreSQL, but DATABASE_URL points to {connection.vendor} "
            f"({os.environ.get('DATABASE_URL') or 'unset: the SQLite default'}). Set DATABASE_URL=postgres://… "
            "to an empty database, or run it via scripts/with_services.py, which starts a throwaway one."
        )


def migrate() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        print("Migrating the database …")
        call_command("migrate", interactive=False, verbosity=0)


def existing_rows() -> dict[str, int]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in TABLES_WRITTEN:
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS any_row")
            counts[table] = cursor.fetchone()[0]
    return {table: count for table, count in counts.items() if count}


def reset_database() -> None:
    """Empty the tables the benchmark loads, and (CASCADE) every table that refers to them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES_WRITTEN)} RESTART IDENTITY CASCADE")


# --------------------------------------------------------------------------- dataset


@dataclass(frozen=True)
class Scale:
    name: str
    contacts: int

    @property
    def events(self) -> int:
        return max(20, self.contacts // CONTACTS_PER_EVENT)

    @property
    def attendances(self) -> int:
        return self.contacts * ATTENDANCES_PER_CONTACT


@dataclass(frozen=True)
class EventPlan:
    id: int
    series_id: int | None
    starts_at: datetime
    ends_at: datetime
    size: int  # attendance rows (an even number: half of them get a follow-up)

    @property
    def completed(self) -> bool:
        return self.ends_at <= AS_OF


@dataclass
class People:
    """An event's attendance rows, derived from the seed: the same in every pass."""

    contact_ids: list[int]
    statuses: list[str]
    roles: list[str]

    @property
    def attended(self) -> list[int]:
        return [contact_id for contact_id, status in zip(self.contact_ids, self.statuses, strict=True) if status == "attended"]


@dataclass
class Dataset:
    scale: Scale
    seed: int
    events: list[EventPlan] = field(default_factory=list)
    series: int = 0
    organizations: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def big_event(self) -> EventPlan:
        return self.events[-1]


def ts(moment: datetime) -> str:
    return moment.isoformat(sep=" ")


def event_sizes(total: int, count: int, rng: random.Random) -> list[int]:
    """`count` even sizes between about a fifth and 1.8 times the mean that add up to `total`."""
    pairs, mean = total // 2, total // 2 // count
    sizes = [mean] * count
    sizes[-1] += pairs - mean * count
    for i in range(0, count - 1, 2):
        shift = rng.randint(-(mean * 4) // 5, (mean * 4) // 5)
        sizes[i] += shift
        sizes[i + 1] -= shift
    return [2 * size for size in sizes]


def plan_events(scale: Scale, rng: random.Random) -> tuple[list[EventPlan], int]:
    """Regular events spread over three years (a few still ahead), in series of about eight
    editions, then one big completed event of 5,000 attendees that ended a day before AS_OF."""
    regular = scale.events - 1
    big = min(BIG_EVENT_ATTENDEES, scale.contacts)
    sizes = event_sizes(scale.attendances - big, regular, rng)
    series = max(2, scale.events // EDITIONS_PER_SERIES)
    events = []
    for index, size in enumerate(sizes, start=1):
        starts_at = AS_OF - timedelta(days=HISTORY_DAYS) + timedelta(
            days=rng.randrange(HISTORY_DAYS + FUTURE_DAYS), hours=rng.choice([8, 9, 10, 14, 18])
        )
        ends_at = starts_at + timedelta(hours=rng.choice([3, 8, 8, 32, 56]))
        series_id = rng.randint(1, series) if rng.random() < 0.8 else None
        events.append(EventPlan(index, series_id, starts_at, ends_at, min(size, scale.contacts)))
    big_start = AS_OF - timedelta(days=2, hours=3)
    events.append(EventPlan(len(events) + 1, 1, big_start, big_start + timedelta(hours=32), big))
    return events, series


PAST_STATUSES = (["attended", "no_show", "registered", "cancelled", "invited", "waitlisted"], [70, 80, 85, 91, 96, 100])
FUTURE_STATUSES = (["registered", "invited", "waitlisted", "cancelled"], [70, 90, 95, 100])
ROLES = (["attendee", "speaker", "vip", "sponsor", "exhibitor"], [85, 90, 95, 98, 100])


def event_rng(dataset: Dataset, event: EventPlan, salt: int) -> random.Random:
    return random.Random(dataset.seed * 1_000_003 + event.id * 16 + salt)


def event_people(dataset: Dataset, event: EventPlan) -> People:
    rng = event_rng(dataset, event, 0)
    contact_ids = rng.sample(range(1, dataset.scale.contacts + 1), event.size)
    statuses, weights = PAST_STATUSES if event.completed else FUTURE_STATUSES
    roles, role_weights = ROLES
    return People(
        contact_ids,
        rng.choices(statuses, cum_weights=weights, k=event.size),
        rng.choices(roles, cum_weights=role_weights, k=event.size),
    )


def organization_lines(count: int) -> Iterator[str]:
    created = ts(AS_OF - timedelta(days=HISTORY_DAYS + 30))
    for org_id in range(1, count + 1):
        yield f"{org_id}\t{created}\t{created}\tOrganization {org_id}\torganization {org_id}\torg{org_id}.example\t\t\n"


def contact_lines(dataset: Dataset, rng: random.Random) -> Iterator[str]:
    created = ts(AS_OF - timedelta(days=HISTORY_DAYS + 30))
    organizations = dataset.organizations
    for contact_id in range(1, dataset.scale.contacts + 1):
        org = rng.randint(1, organizations) if rng.random() < 0.7 else "\\N"
        yield (
            f"{contact_id}\t{created}\t{created}\tc{contact_id}@bench.example\tFirst{contact_id}\tLast{contact_id}\t{org}"
            f"\t\t\t\\N\t[]\tf\t\\N\t\tf\t\\N\n"
        )


def series_lines(count: int) -> Iterator[str]:
    created = ts(AS_OF - timedelta(days=HISTORY_DAYS + 30))
    for series_id in range(1, count + 1):
        yield f"{series_id}\t{created}\t{created}\tSeries {series_id}\t\n"


def event_lines(dataset: Dataset) -> Iterator[str]:
    kinds = ["conference", "trade_fair", "roadshow", "workshop", "dinner", "webinar"]
    for event in dataset.events:
        created = ts(min(event.starts_at - timedelta(days=90), AS_OF))  # nothing is written after AS_OF
        status, completed_at = ("completed", ts(event.ends_at + timedelta(hours=2))) if event.completed else ("planned", "\\N")
        series = event.series_id if event.series_id is not None else "\\N"
        yield (
            f"{event.id}\t{created}\t{created}\tEvent {event.id}\t{kinds[event.id % len(kinds)]}\tin_person\tVenue\tCity"
            f"\t{ts(event.starts_at)}\t{ts(event.ends_at)}\t{status}\t{event.size}\t{1000 + event.size * 40}.00\tEUR"
            f"\t{completed_at}\t{series}\n"
        )


def attendance_lines(dataset: Dataset) -> Iterator[str]:
    for event in dataset.events:
        people = event_people(dataset, event)
        registered = ts(min(event.starts_at - timedelta(days=30), AS_OF))
        checked_in = ts(event.starts_at + timedelta(minutes=20))
        for contact_id, status, role in zip(people.contact_ids, people.statuses, people.roles, strict=True):
            checked = checked_in if status == "attended" else "\\N"
            yield (
                f"{registered}\t{registered}\t{role}\t{status}\t{registered}\t{checked}\tbenchmark\t\\N"
                f"\t{contact_id}\t{event.id}\n"
            )


def interaction_lines(dataset: Dataset) -> Iterator[str]:
    kinds = ["meeting", "booth_visit", "session", "lead_scan", "introduction", "dinner", "conversation"]
    for event in dataset.events:
        people = event_people(dataset, event)
        pool = people.attended or people.contact_ids
        rng = event_rng(dataset, event, 1)
        span = event.ends_at - event.starts_at
        first = event.starts_at
        if not event.completed:  # a planned event's networking so far: matchmaking before it, never after AS_OF
            first = min(event.starts_at - timedelta(days=30), AS_OF - timedelta(days=1) - span)
        slots = [ts(first + span * k / 24) for k in range(24)]
        for _ in range(event.size * INTERACTIONS_PER_ATTENDANCE):
            contact_id = rng.choice(pool)
            counterpart = rng.choice(pool) if rng.random() < 0.75 else contact_id
            other = counterpart if counterpart != contact_id else "\\N"
            quality = rng.randint(1, 5) if rng.random() < 0.8 else "\\N"
            minutes = rng.randint(5, 90) if rng.random() < 0.7 else "\\N"
            when = rng.choice(slots)
            yield (
                f"{when}\t{when}\t{rng.choice(kinds)}\t{when}\t{minutes}\t{quality}\t\tbenchmark\t\\N"
                f"\t{contact_id}\t{other}\t{event.id}\t\\N\n"
            )


FOLLOWUP_DELAYS = [timedelta(hours=hours) for hours in (2, 6, 20, 30, 44, 60, 80, 120, 160, 240, 336, 500, 720)]
OUTCOMES = ["positive", "neutral", "negative", "no_response", ""]
CHANNELS = ["email", "phone", "video", "meeting", "social", "messenger"]


def followup_lines(dataset: Dataset) -> Iterator[str]:
    for event in dataset.events:
        people = event_people(dataset, event)
        pool = people.attended or people.contact_ids
        rng = event_rng(dataset, event, 2)
        done_times = [ts(event.ends_at + delay) for delay in FOLLOWUP_DELAYS if event.ends_at + delay <= AS_OF]
        due = ts(event.ends_at + timedelta(days=3))
        created = ts(min(event.ends_at, AS_OF - timedelta(days=1)))  # planned before AS_OF, never after
        for _ in range(int(event.size * FOLLOWUPS_PER_ATTENDANCE)):
            draw = rng.random()
            if event.completed and draw < 0.6 and done_times:  # none done after AS_OF
                status, completed_at, outcome = "done", rng.choice(done_times), rng.choice(OUTCOMES)
            else:
                status, completed_at, outcome = ("cancelled" if draw > 0.9 else "planned"), "\\N", ""
            deal, value = ("won", "5000.00") if draw < 0.03 else ("open", "12000.00") if draw < 0.08 else ("none", "\\N")
            written = completed_at if status == "done" else created  # marked done when it was done
            yield (
                f"{created}\t{written}\t{rng.choice(CHANNELS)}\t{status}\t{due}\t{completed_at}\t{outcome}\t\t\t{value}\t{deal}"
                f"\t{rng.choice(pool)}\t{event.id}\t\\N\n"
            )


def feedback_lines(dataset: Dataset) -> Iterator[str]:
    for event in dataset.events:
        if not event.completed:
            continue
        attended = event_people(dataset, event).attended
        rng = event_rng(dataset, event, 3)
        submitted = ts(event.ends_at + timedelta(days=1))
        for contact_id in attended[: int(len(attended) * FEEDBACK_SHARE)]:
            nps = rng.randint(0, 10) if rng.random() < 0.9 else "\\N"
            yield f"{submitted}\t{submitted}\t{nps}\t{rng.randint(1, 10)}\t\t{submitted}\t{contact_id}\t{event.id}\n"


def referral_lines(dataset: Dataset, rng: random.Random) -> Iterator[str]:
    completed = [event for event in dataset.events if event.completed]
    for index in range(int(dataset.scale.contacts * REFERRALS_PER_CONTACT)):
        event = rng.choice(completed)
        created = ts(min(event.ends_at + timedelta(days=2), AS_OF))
        yield f"{created}\t{created}\tfriend{index}@bench.example\t{event.id}\t\\N\t{rng.randint(1, dataset.scale.contacts)}\n"


TABLE_COLUMNS = {
    "contacts_organization": "id, created_at, updated_at, name, name_key, domain, industry, country",
    "contacts_contact": (
        "id, created_at, updated_at, email, first_name, last_name, organization_id, job_title, phone, owner_id, tags,"
        " marketing_consent, marketing_consent_at, marketing_consent_source, do_not_contact, erased_at"
    ),
    "events_eventseries": "id, created_at, updated_at, name, description",
    "events_event": (
        "id, created_at, updated_at, name, kind, format, venue, city, starts_at, ends_at, status, capacity, cost, currency,"
        " completed_at, series_id"
    ),
    "events_attendance": (
        "created_at, updated_at, role, status, registered_at, checked_in_at, source, external_id, contact_id, event_id"
    ),
    "events_interaction": (
        "created_at, updated_at, kind, occurred_at, duration_minutes, quality, notes, source, external_id, contact_id,"
        " counterpart_id, event_id, staff_user_id"
    ),
    "contacts_followup": (
        "created_at, updated_at, channel, status, due_at, completed_at, outcome, summary, next_step, deal_value,"
        " deal_status, contact_id, event_id, owner_id"
    ),
    "events_feedback": "created_at, updated_at, nps, satisfaction, comment, submitted_at, contact_id, event_id",
    "contacts_referral": "created_at, updated_at, referred_email, event_id, referred_id, referrer_id",
}


def copy_lines(cursor: Any, table: str, lines: Iterable[str], batch_bytes: int = 1 << 20) -> int:
    """COPY text-format lines into a table (psycopg 3), in batches of about a megabyte."""
    count, batch, size = 0, [], 0
    with cursor.copy(f"COPY {table} ({TABLE_COLUMNS[table]}) FROM STDIN") as copy:
        for line in lines:
            batch.append(line)
            size += len(line)
            count += 1
            if size >= batch_bytes:
                copy.write("".join(batch))
                batch, size = [], 0
        if batch:
            copy.write("".join(batch))
    return count


@dataclass
class DeferredSchema:
    """Secondary indexes, unique and foreign-key constraints of a table, dropped for the load and
    re-created from their own definitions afterwards (a bulk build beats row-by-row upkeep)."""

    table: str
    indexes: list[tuple[str, str]]
    constraints: list[tuple[str, str, str]]

    @classmethod
    def drop(cls, cursor: Any, table: str) -> DeferredSchema:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('u', 'p', 'x')) "
            "ORDER BY 1",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _kind, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        return cls(table, indexes, constraints)

    def restore(self, cursor: Any) -> None:
        for _name, definition in self.indexes:
            cursor.execute(definition)
        for name, _kind, definition in self.constraints:  # unique ones first, then foreign keys
            cursor.execute(f'ALTER TABLE {self.table} ADD CONSTRAINT "{name}" {definition}')


def load_table(cursor: Any, table: str, lines: Iterable[str]) -> int:
    started = time.perf_counter()
    deferred = DeferredSchema.drop(cursor, table)
    count = copy_lines(cursor, table, lines)
    loaded = time.perf_counter()
    deferred.restore(cursor)
    print(f"  {table:<24} {count:>12,} rows  copy {loaded - started:6.1f} s  indexes {time.perf_counter() - loaded:6.1f} s")
    return count


def generate(scale: Scale, seed: int) -> Dataset:
    """Load the dataset in one transaction: a failure leaves the database as it was."""
    from django.db import connection, transaction

    rng = random.Random(seed)
    dataset = Dataset(scale=scale, seed=seed)
    dataset.events, dataset.series = plan_events(scale, rng)
    dataset.organizations = max(1, scale.contacts // CONTACTS_PER_ORGANIZATION)
    tables: list[tuple[str, Callable[[], Iterable[str]]]] = [
        ("contacts_organization", lambda: organization_lines(dataset.organizations)),
        ("contacts_contact", lambda: contact_lines(dataset, random.Random(seed + 1))),
        ("events_eventseries", lambda: series_lines(dataset.series)),
        ("events_event", lambda: event_lines(dataset)),
        ("events_attendance", lambda: attendance_lines(dataset)),
        ("events_interaction", lambda: interaction_lines(dataset)),
        ("contacts_followup", lambda: followup_lines(dataset)),
        ("events_feedback", lambda: feedback_lines(dataset)),
        ("contacts_referral", lambda: referral_lines(dataset, random.Random(seed + 2))),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        raw = cursor.cursor  # the psycopg 3 cursor underneath Django's wrapper, for COPY
        for table, lines in tables:
            dataset.rows[table] = load_table(raw, table, lines())
        for table in ("contacts_organization", "contacts_contact", "events_eventseries", "events_event"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        # The stage cadences the migrations wrote are as old as the agency (the nightly run re-scores
        # everyone after a cadence changed).
        cursor.execute("UPDATE scoring_keepintouchcadence SET created_at = %s, updated_at = %s",
                       [AS_OF - timedelta(days=HISTORY_DAYS + 30)] * 2)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE {time.perf_counter() - started:.1f} s")
    return dataset


# --------------------------------------------------------------------------- measurements


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def floor_sql(params: Any) -> tuple[str, dict[str, Any]]:
    """The per-contact aggregation of the score in one statement: the decay-weighted sums of
    attendance (role weights, no-show penalty), networking (both sides of every interaction),
    dialogue (done follow-ups by outcome), advocacy (latest NPS, referrals) and the last touch,
    over every row the recompute reads, combined into a score per contact. It leaves out what
    needs per-row logic (care, streaks, stages, churn) and writes nothing."""

    def decay(column: str) -> str:
        return f"power(0.5, greatest(0, date_part('epoch', %(as_of)s - {column}) / 86400.0) / %(half_life)s)"

    def case(column: str, weights: dict[str, float], default: float = 1.0) -> str:
        branches = " ".join(f"WHEN '{name}' THEN {float(weight)!r}::float8" for name, weight in weights.items())
        return f"(CASE {column} {branches} ELSE {default!r}::float8 END)"

    penalty = params.threshold("no_show_penalty", 0.5)
    # A converted referral (its referred contact attended an event starting after it) counts
    # converted_referral_weight; at 1 (the default profile) there is nothing to look up.
    weight = float(getattr(params, "converted_referral_weight", 1.0))
    referral_weight = "1" if weight == 1.0 else (
        "(CASE WHEN r.referred_id IS NOT NULL AND EXISTS (SELECT 1 FROM events_attendance ca"
        " JOIN events_event ce ON ce.id = ca.event_id WHERE ca.contact_id = r.referred_id"
        f" AND ca.status = 'attended' AND ce.starts_at > r.created_at) THEN {weight!r}::float8 ELSE 1 END)"
    )
    last_touch = "greatest(a.last_touch, n.last_touch, d.last_touch, f.last_touch, r.last_touch)"
    sql = f"""
        WITH attendance AS (
            SELECT a.contact_id,
                   greatest(0, coalesce(sum({decay("e.ends_at")} * {case("a.role", params.role_weights)})
                                            FILTER (WHERE a.status = 'attended'), 0)
                             - {penalty!r} * coalesce(sum({decay("e.ends_at")}) FILTER (WHERE a.status = 'no_show'), 0)) AS x,
                   max(e.ends_at) FILTER (WHERE a.status = 'attended') AS last_touch
            FROM events_attendance a JOIN events_event e ON e.id = a.event_id
            GROUP BY a.contact_id
        ), networking AS (
            SELECT side AS contact_id,
                   sum({decay("occurred_at")} * coalesce(quality::float8 / 3, 1)
                       * coalesce(least(duration_minutes, 60)::float8 / 30, 1)) AS x,
                   max(occurred_at) AS last_touch
            FROM (SELECT contact_id AS side, occurred_at, quality, duration_minutes FROM events_interaction
                  UNION ALL
                  SELECT counterpart_id, occurred_at, quality, duration_minutes FROM events_interaction
                  WHERE counterpart_id IS NOT NULL) AS sides
            GROUP BY side
        ), dialogue AS (
            SELECT contact_id, sum({decay("completed_at")} * {case("outcome", params.outcome_weights)}) AS x,
                   max(completed_at) AS last_touch
            FROM contacts_followup WHERE status = 'done' AND completed_at IS NOT NULL
            GROUP BY contact_id
        ), feedback AS (
            SELECT contact_id, max(submitted_at) AS last_touch,
                   (array_agg(nps ORDER BY submitted_at DESC, id DESC) FILTER (WHERE nps IS NOT NULL))[1] AS nps
            FROM events_feedback GROUP BY contact_id
        ), referrals AS (
            SELECT r.referrer_id AS contact_id, sum({decay("r.created_at")} * {referral_weight}) AS x,
                   max(r.created_at) AS last_touch
            FROM contacts_referral r GROUP BY r.referrer_id
        ), scores AS (
            SELECT c.id, round((100 * (
                       %(w_attendance)s * (1 - exp(-coalesce(a.x, 0) / %(k_attendance)s))
                     + %(w_networking)s * (1 - exp(-coalesce(n.x, 0) / %(k_networking)s))
                     + %(w_dialogue)s * (1 - exp(-coalesce(d.x, 0) / %(k_dialogue)s))
                     + %(w_advocacy)s * (0.5 * CASE WHEN f.nps >= 9 THEN 1 WHEN f.nps >= 7 THEN 0.5 ELSE 0 END
                                         + 0.5 * (1 - exp(-coalesce(r.x, 0) / %(k_referrals)s)))
                     + %(w_recency)s * coalesce({decay(last_touch)}, 0)
                   ))::numeric, 1) AS score
            FROM contacts_contact c
            LEFT JOIN attendance a ON a.contact_id = c.id
            LEFT JOIN networking n ON n.contact_id = c.id
            LEFT JOIN dialogue d ON d.contact_id = c.id
            LEFT JOIN feedback f ON f.contact_id = c.id
            LEFT JOIN referrals r ON r.contact_id = c.id
        )
        SELECT count(*), avg(score) FROM scores
    """
    values = {
        "as_of": AS_OF,
        "half_life": params.half_life_days,
        **{f"w_{name}": weight for name, weight in params.weights.items()},
        **{f"k_{name}": params.saturation.get(name, default) for name, default in
           (("attendance", 2.0), ("networking", 4.0), ("dialogue", 3.0), ("referrals", 1.0))},
    }
    return sql, values


def measure_floor(params: Any) -> float:
    from django.db import connection

    sql, values = floor_sql(params)
    with connection.cursor() as cursor:
        seconds, _ = timed(lambda: cursor.execute(sql, values))
        contacts, mean_score = cursor.fetchone()
    print(f"  floor: {seconds:.2f} s ({contacts:,} contacts, mean score without care {float(mean_score or 0):.1f})")
    return seconds


def naive_result(contact_id: int, params: Any) -> Any:
    """Score one contact the naive way: a query per relation through the ORM and DOMAIN.md's
    sums in Python row by row (the test suite's reference, tests/scoring/naive.py); then its
    cadence and next best action, as the recompute decides them, for this one contact."""
    from scoring.services import score_contact
    from scoring.services.next_action import apply_next_actions
    from tests.scoring.naive import naive_aggregates

    result = score_contact(contact_id, naive_aggregates(contact_id, AS_OF, params), params, AS_OF)
    apply_next_actions([result], [contact_id], AS_OF)
    return result


def naive_save(result: Any) -> None:
    """Store it the naive way: update_or_create, and a snapshot when the score changed."""
    from scoring.choices import ScoreTrigger
    from scoring.models import ContactScore, ScoreSnapshot

    values = asdict(result)
    contact_id = values.pop("contact_id")
    for name in ("score_90_days_ago", "last_dialogue_at"):  # read by the rules, not stored
        values.pop(name)
    before = ContactScore.objects.filter(contact_id=contact_id).values_list("score", "stage").first()
    ContactScore.objects.update_or_create(contact_id=contact_id, defaults=values)
    if before != (result.score, result.stage):
        ScoreSnapshot.objects.create(
            contact_id=contact_id, score=result.score, previous_score=before[0] if before else None,
            components=result.components, stage=result.stage, computed_at=result.computed_at,
            trigger=ScoreTrigger.MANUAL, profile_version=result.profile_version,
        )


def sample_ids(contacts: int, size: int) -> list[int]:
    step = max(1, contacts // size)
    return list(range(1, contacts + 1, step))[:size]


def measure_naive(contacts: int, sample: int, params: Any) -> tuple[float, dict[int, Any]]:
    """Seconds per contact of the naive loop; rolled back, so the recompute starts clean."""
    from django.db import transaction

    ids = sample_ids(contacts, sample)
    results = {}
    with transaction.atomic():
        started = time.perf_counter()
        for contact_id in ids:
            result = naive_result(contact_id, params)
            naive_save(result)
            results[contact_id] = result
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    per_contact = seconds / len(ids)
    print(f"  naive: {seconds:.2f} s for {len(ids)} contacts, {per_contact * 1000:.1f} ms per contact")
    return per_contact, results


def measure_recompute(params: Any, chunk_size: int) -> tuple[float, int, float]:
    """The all-contacts recompute, and the part of it spent on cadences and next best actions
    (scoring.services.next_action.apply_next_actions(), timed where the recompute calls it)."""
    from scoring.choices import ScoreTrigger
    from scoring.services import all_contact_id_chunks, recompute_contacts
    from scoring.services import recompute as recompute_module

    apply_next_actions = recompute_module.apply_next_actions
    next_action_s = 0.0

    def timed_next_actions(*args, **kwargs):
        nonlocal next_action_s
        started = time.perf_counter()
        try:
            return apply_next_actions(*args, **kwargs)
        finally:
            next_action_s += time.perf_counter() - started

    contacts = 0
    recompute_module.apply_next_actions = timed_next_actions
    try:
        started = time.perf_counter()
        for chunk in all_contact_id_chunks(chunk_size):
            contacts += recompute_contacts(
                chunk, as_of=AS_OF, trigger=ScoreTrigger.MANUAL, chunk_size=chunk_size, params=params)["contacts"]
        seconds = time.perf_counter() - started
    finally:
        recompute_module.apply_next_actions = apply_next_actions
    print(f"  recompute: {seconds:.2f} s for {contacts:,} contacts ({contacts / seconds:,.0f} contacts/s), "
          f"of which cadence and next best action {next_action_s:.2f} s")
    return seconds, contacts, next_action_s


def clear_scores() -> None:
    """Empty the scores and snapshots, so a second recompute does the first one's work again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE scoring_contactscore, scoring_scoresnapshot, scoring_contactlifetimevalue")


def measure_write_floor() -> float:
    """What storing the recompute's output costs PostgreSQL alone: the stored scores and
    snapshots are set aside, the tables emptied, and the same rows written back by two plain
    `INSERT … SELECT` in one transaction (foreign-key checks at commit included). Leaves the
    tables as they were."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_scores AS SELECT * FROM scoring_contactscore")
        cursor.execute("CREATE TEMP TABLE bench_snapshots AS SELECT * FROM scoring_scoresnapshot")
        clear_scores()
        started = time.perf_counter()
        with transaction.atomic():
            cursor.execute("INSERT INTO scoring_contactscore SELECT * FROM bench_scores")
            cursor.execute("INSERT INTO scoring_scoresnapshot SELECT * FROM bench_snapshots")
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_scores, bench_snapshots")
    print(f"  write floor: {seconds:.2f} s (the recompute's scores and snapshots, written back in plain SQL)")
    return seconds


def run_range_task(first_id: int, last_id: int) -> int:
    """One chunk as a Celery worker process runs it: the nightly run's task, called in-process."""
    from scoring.choices import ScoreTrigger
    from scoring.tasks import recompute_contact_range_task

    return recompute_contact_range_task(first_id, last_id, AS_OF.isoformat(), ScoreTrigger.MANUAL)


def measure_workers_recompute(chunk_size: int, workers: int) -> float:
    """The all-contacts run fanned out over `workers` processes, as a Celery worker with that
    concurrency takes the nightly run's chunks: each process with its own connection."""
    import multiprocessing

    from django.db import connections

    from scoring.services import all_contact_id_chunks

    clear_scores()
    with connections["default"].cursor() as cursor:  # never scored again, as on a first run
        cursor.execute("UPDATE contacts_contact SET never_scored = true WHERE NOT never_scored")
    connections.close_all()  # a forked process must not share the parent's connection
    # The processes are started before the clock, as a Celery worker's pool is running already.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        started = time.perf_counter()
        bounds = [(ids[0], ids[-1]) for ids in all_contact_id_chunks(chunk_size)]
        changed = sum(pool.starmap(run_range_task, bounds, chunksize=1))
        seconds = time.perf_counter() - started
    print(f"  recompute on {workers} worker processes: {seconds:.2f} s, {changed:,} contacts scored")
    return seconds


def check_naive_agrees(naive: dict[int, Any]) -> bool:
    """The naive loop did the same work: its scores, cadences and next actions equal the ones
    the recompute stored."""
    from scoring.models import ContactScore

    columns = ("score", "cadence_days", "next_touch_due", "next_action")
    stored = {row[0]: row[1:] for row in ContactScore.objects.filter(contact_id__in=list(naive)).values_list(
        "contact_id", *columns)}
    return all(
        stored.get(contact_id) == tuple(getattr(result, column) for column in columns)
        for contact_id, result in naive.items()
    )


def measure_event(event_id: int, chunk_size: int, params: Any, *, clv_fit: bool = True
                  ) -> tuple[float, int, dict[str, float], list[float]]:
    """The after-the-event path, serially: touched contacts, their recompute in chunks, the
    metrics (relationship lift included, as compute_event_metrics() computes it; their CLV
    figures left to the CLV fit, as the event recompute task does); timed per part, the fastest
    of EVENT_RUNS runs (as the floor, the faster of two; the first reads pages the full recompute
    before it evicted from the caches: printed too). Then, apart from the event recompute's
    time, the CLV fit chained after it (every contact's CLV and the event's CLV figures)."""
    from scoring.choices import ScoreTrigger
    from scoring.services import compute_event_metrics, event_contact_ids, recompute_contacts
    from scoring.services import event_metrics as event_metrics_module
    from scoring.services.recompute import chunked

    attendee_lifts = event_metrics_module.attendee_lifts
    as_of = AS_OF + timedelta(days=1)
    runs = []
    for _ in range(EVENT_RUNS):
        parts = {"contact_ids": 0.0, "chunks": 0.0, "metrics": 0.0, "lift": 0.0}

        def timed_lift(*args, parts=parts, **kwargs):
            started = time.perf_counter()
            try:
                return attendee_lifts(*args, **kwargs)
            finally:
                parts["lift"] += time.perf_counter() - started

        event_metrics_module.attendee_lifts = timed_lift
        try:
            started = time.perf_counter()
            contact_ids = event_contact_ids(event_id)
            parts["contact_ids"] = time.perf_counter() - started
            for chunk in chunked(contact_ids, chunk_size):
                recompute_contacts(chunk, as_of=as_of, trigger=ScoreTrigger.EVENT, event_id=event_id, params=params)
            parts["chunks"] = time.perf_counter() - started - parts["contact_ids"]
            compute_event_metrics(event_id, as_of=as_of, clv=False)
            seconds = time.perf_counter() - started
        finally:
            event_metrics_module.attendee_lifts = attendee_lifts
        parts["metrics"] = seconds - parts["contact_ids"] - parts["chunks"] - parts["lift"]
        runs.append((seconds, parts))
    seconds, parts = min(runs, key=lambda run: run[0])
    if clv_fit:
        from scoring.services.clv import refit_clv

        started = time.perf_counter()
        refit_clv(as_of=as_of, events=[event_id])
        parts["then_clv_fit"] = time.perf_counter() - started
    print(f"  event recompute: {seconds:.2f} s for {len(contact_ids):,} contacts and the event's metrics ("
          + ", ".join(f"{name} {value:.2f} s" for name, value in parts.items())
          + f"; runs {', '.join(f'{run:.2f}' for run, _ in runs)} s)")
    return seconds, len(contact_ids), parts, [run for run, _ in runs]


def run_event_chunk(contact_ids: list[int], as_of: str, event_id: int) -> list[list]:
    """One chunk of the after-the-event path as a Celery worker process runs it, in-process:
    its contacts' scores, and its attendees' relationship lift for the metrics."""
    from scoring.choices import ScoreTrigger
    from scoring.tasks import recompute_event_chunk_task

    return recompute_event_chunk_task(contact_ids, as_of, ScoreTrigger.EVENT, event_id)


def measure_event_workers(event_id: int, chunk_size: int, workers: int) -> list[float]:
    """The after-the-event path as the event's recompute task runs it: its contacts in chunks of
    equal length on `workers` processes, each with its attendees' relationship lift (the chord's
    header), then the metrics with that lift (its body), as of the same moment as measure_event();
    the fastest of EVENT_RUNS runs, as there."""
    import multiprocessing

    from django.db import connections

    from scoring.services import compute_event_metrics, event_contact_ids
    from scoring.services.recompute import even_chunks

    as_of = AS_OF + timedelta(days=1)
    connections.close_all()  # a forked process must not share the parent's connection
    # The processes are started before the clock, as a Celery worker's pool is running already.
    runs = []
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for _ in range(EVENT_RUNS):
            started = time.perf_counter()
            chunks = even_chunks(event_contact_ids(event_id), chunk_size)
            chunk_lifts = pool.starmap(
                run_event_chunk, [(chunk, as_of.isoformat(), event_id) for chunk in chunks], chunksize=1)
            lift = {contact_id: delta for chunk_lift in chunk_lifts for contact_id, delta in chunk_lift}
            compute_event_metrics(event_id, as_of=as_of, clv=False, lifts=lift)
            runs.append(time.perf_counter() - started)
    seconds = min(runs)
    print(f"  event recompute on {workers} worker processes: {seconds:.2f} s (runs {', '.join(f'{run:.2f}' for run in runs)} s) "
          f"({len(chunks)} chunks of {', '.join(f'{len(chunk):,}' for chunk in chunks)} contacts with their lift, "
          "then the metrics)")
    return runs


@dataclass
class NightlyFigures:
    nightly_s: float
    floor_s: float
    decayed: int
    rescored: int
    snapshots: int
    sample: int
    agrees: bool
    parts: dict[str, float] = field(default_factory=dict)  # plan, arithmetic, full_path
    score_rows: int = 0

    @property
    def arithmetic_ratio_to_floor(self) -> float:
        """The arithmetic UPDATEs against the floor's time for as many rows as they wrote."""
        return self.parts["arithmetic"] / (self.floor_s * self.decayed / self.score_rows)


def measure_nightly(params: Any, sample_size: int) -> NightlyFigures:
    """The nightly run a day after every score was computed (scoring.services.nightly, serially):
    arithmetic UPDATEs where only time passed, the full path for the rest; the snapshot rows it
    writes; a plain UPDATE of the same rows and columns (rolled back) as its floor; and a sample
    of contacts scored by the full path as of the same time, which must equal what it stored."""
    from dataclasses import asdict

    from django.db import connection, transaction

    from scoring.choices import ScoreTrigger
    from scoring.models import ContactScore, ScoreSnapshot
    from scoring.services import nightly as nightly_module
    from scoring.services.contact_scores import compute_scores
    from scoring.services.next_action import apply_next_actions

    as_of = AS_OF + timedelta(days=2)  # a day after the event recompute
    with connection.cursor() as cursor:
        # as autovacuum would have by the next night: every score rewritten, every contact's
        # never_scored cleared by its first score
        cursor.execute("VACUUM ANALYZE scoring_contactscore, contacts_contact")
    snapshots = ScoreSnapshot.objects.count()
    parts = {"plan": 0.0, "arithmetic": 0.0, "full_path": 0.0}

    def timed_part(part: str, function: Callable) -> Callable:
        def timed_function(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                parts[part] += time.perf_counter() - started
        return timed_function

    originals = {name: getattr(nightly_module, name) for name in ("plan_nightly", "decay_range", "recompute_contacts")}
    for name, part in (("plan_nightly", "plan"), ("decay_range", "arithmetic"), ("recompute_contacts", "full_path")):
        setattr(nightly_module, name, timed_part(part, originals[name]))
    try:
        started = time.perf_counter()
        outcome = nightly_module.nightly_recompute(as_of, params=params, trigger=ScoreTrigger.NIGHTLY)
        seconds = time.perf_counter() - started
    finally:
        for name, function in originals.items():
            setattr(nightly_module, name, function)
    written = ScoreSnapshot.objects.count() - snapshots
    print(f"  nightly: {seconds:.2f} s, {outcome['decayed']:,} contacts by arithmetic, {outcome['rescored']:,} by "
          f"the full path, {written:,} snapshots ("
          + ", ".join(f"{name} {value:.2f} s" for name, value in parts.items()) + ")")

    sample = sample_ids(ContactScore.objects.count(), sample_size)
    results = compute_scores(sample, as_of, params)
    apply_next_actions(results, sample, as_of)
    stored = {row.contact_id: row for row in ContactScore.objects.filter(contact_id__in=sample)}
    columns = ("score", "stage", "churn_risk", "next_action", "next_action_reason", "next_touch_due", "events_attended")
    agrees = all(
        all(getattr(stored[result.contact_id], column) == value for column, value in asdict(result).items()
            if column in columns)
        and all(
            abs(getattr(stored[result.contact_id], name) - getattr(result, name)) <= 1e-9 * max(1.0, abs(getattr(result, name)))
            for name in ("attended_raw", "networking_raw", "dialogue_raw", "care_weight", "referral_raw")
        )
        for result in results
    )
    print(f"  nightly equals the full path on {len(results)} sampled contacts: {'yes' if agrees else 'NO'}")

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scoring_contactscore")
        floor_started = time.perf_counter()
        with transaction.atomic():
            cursor.execute(
                "UPDATE scoring_contactscore SET score = LEAST(100, score * 0.999), "
                "computed_at = computed_at + interval '1 day', components = components, churn_risk = churn_risk, "
                "next_action_figures = next_action_figures, "
                + ", ".join(f"{name} = {name} * 0.999" for name in (
                    "attended_raw", "no_show_raw", "care_weight", "care_hits", "networking_raw", "dialogue_raw",
                    "referral_raw"))
            )
            floor_s = time.perf_counter() - floor_started
            transaction.set_rollback(True)
        cursor.execute("VACUUM ANALYZE scoring_contactscore")
    print(f"  nightly floor: {floor_s:.2f} s (one plain UPDATE of the same rows and columns)")
    return NightlyFigures(seconds, floor_s, outcome["decayed"], outcome["rescored"], written, len(results), agrees,
                          parts=parts, score_rows=ContactScore.objects.count())


# --------------------------------------------------------------------------- report


@dataclass
class Report:
    scale: Scale
    rows: dict[str, int]
    generate_s: float
    recompute_s: float
    contacts: int
    floor_s: float
    floor_runs: list[float]
    naive_per_contact_s: float
    naive_sample: int
    naive_agrees: bool
    event_recompute_s: float
    event_contacts: int
    chunk_size: int
    machine: dict[str, str]
    workers: int = 0
    workers_recompute_s: float | None = None
    write_floor_s: float | None = None
    next_action_s: float | None = None
    event_parts: dict[str, float] | None = None
    nightly: NightlyFigures | None = None
    event_runs: list[float] = field(default_factory=list)
    event_workers_runs: list[float] = field(default_factory=list)

    @property
    def event_workers_s(self) -> float | None:
        return min(self.event_workers_runs) if self.event_workers_runs else None

    @property
    def ratio_to_floor(self) -> float:
        return self.recompute_s / self.floor_s

    @property
    def speedup_vs_naive(self) -> float:
        return self.naive_per_contact_s * self.contacts / self.recompute_s

    def figures(self) -> list[tuple[str, str, str]]:
        """(name, value, target) rows of the result table."""
        def target(name: str, sign: str) -> str:
            return f"{sign} {TARGETS[name]:g}" if name in TARGETS else ""

        return [
            ("recompute_s", f"{self.recompute_s:.2f}", ""),
            ("contacts_per_s", f"{self.contacts / self.recompute_s:,.0f}", ""),
            ("floor_s", f"{self.floor_s:.2f}", ""),
            ("ratio_to_floor", f"{self.ratio_to_floor:.2f}", target("ratio_to_floor", "≤")),
            *([
                ("write_floor_s", f"{self.write_floor_s:.2f}", ""),
                ("ratio_to_floor_and_writes", f"{self.recompute_s / (self.floor_s + self.write_floor_s):.2f}", ""),
            ] if self.write_floor_s else []),
            *([
                (f"recompute_{self.workers}_workers_s", f"{self.workers_recompute_s:.2f}", ""),
                (f"ratio_to_floor_{self.workers}_workers", f"{self.workers_recompute_s / self.floor_s:.2f}", ""),
            ] if self.workers_recompute_s else []),
            *([
                ("next_action_s", f"{self.next_action_s:.2f}", ""),
                # what cadences and next actions add to the recompute without them
                ("next_action_added", f"{self.next_action_s / (self.recompute_s - self.next_action_s):.0%}",
                 f"≤ {TARGETS['next_action_added']:.0%}"),
            ] if self.next_action_s is not None else []),
            ("naive_ms_per_contact", f"{self.naive_per_contact_s * 1000:.1f}", ""),
            ("speedup_vs_naive", f"{self.speedup_vs_naive:.0f}×", target("speedup_vs_naive", "≥") + "×"),
            ("event_recompute_s", f"{self.event_recompute_s:.2f}", target("event_recompute_s", "≤")),
            *[(f"event_{name}_s", f"{value:.2f}", "") for name, value in (self.event_parts or {}).items()],
            *([(f"event_recompute_{self.workers}_workers_s", f"{self.event_workers_s:.2f}", target("event_recompute_s", "≤"))]
              if self.event_workers_s else []),
            *([
                ("nightly_s", f"{self.nightly.nightly_s:.2f}", target("nightly_s", "≤")),
                ("nightly_floor_s", f"{self.nightly.floor_s:.2f}", ""),
                ("nightly_ratio_to_floor", f"{self.nightly.nightly_s / self.nightly.floor_s:.2f}",
                 target("nightly_ratio_to_floor", "≤")),
                *[(f"nightly_{name}_s", f"{value:.2f}", "") for name, value in self.nightly.parts.items()],
                ("nightly_arithmetic_ratio_to_floor", f"{self.nightly.arithmetic_ratio_to_floor:.2f}", ""),
                ("nightly_decayed", f"{self.nightly.decayed:,}", ""),
                ("nightly_full_path", f"{self.nightly.rescored:,}", ""),
                ("nightly_snapshots", f"{self.nightly.snapshots:,}", ""),
            ] if self.nightly else []),
            ("generate_s", f"{self.generate_s:.1f}", ""),
        ]


def machine_info() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0].split()[0]
    return {
        "cores": str(os.cpu_count()),
        "postgresql": server_version,
        "python": platform.python_version(),
        "date": date.today().isoformat(),
    }


def print_report(report: Report) -> None:
    print()
    print(f"scale {report.scale.name}: " + ", ".join(f"{table} {count:,}" for table, count in report.rows.items()))
    print(f"{'figure':<26} {'value':>12}  target")
    for name, value, target in report.figures():
        print(f"{name:<26} {value:>12}  {target}")
    print(f"floor runs (s): {', '.join(f'{run:.2f}' for run in report.floor_runs)}; "
          f"naive scores equal the recompute's: {'yes' if report.naive_agrees else 'NO'}")


def markdown_section(report: Report) -> str:
    machine = report.machine
    rows = report.rows
    lines = [
        f"### {report.scale.name}: {report.scale.contacts:,} contacts",
        "",
        f"Measured {machine['date']} on {machine['cores']} cores, PostgreSQL {machine['postgresql']}, "
        f"Python {machine['python']}; chunk size {report.chunk_size:,}.",
        "",
        f"Dataset: {rows['contacts_contact']:,} contacts, {rows['events_event']:,} events, "
        f"{rows['events_attendance']:,} attendances, {rows['events_interaction']:,} interactions, "
        f"{rows['contacts_followup']:,} follow-ups, {rows['events_feedback']:,} feedback answers, "
        f"{rows['contacts_referral']:,} referrals.",
        "",
        "| figure | value | target (large) |",
        "|---|---:|---|",
        *(f"| `{name}` | {value} | {target} |" for name, value, target in report.figures()),
        "",
        f"Floor runs: {', '.join(f'{run:.2f} s' for run in report.floor_runs)} (the faster counts). "
        f"Naive loop: {report.naive_sample} contacts sampled; its scores "
        f"{'equal' if report.naive_agrees else 'DIFFER from'} the recompute's. "
        f"Event recompute: {report.event_contacts:,} contacts touched; runs (the fastest counts) "
        f"{', '.join(f'{run:.2f} s' for run in report.event_runs)}"
        + (f", on {report.workers} worker processes {', '.join(f'{run:.2f} s' for run in report.event_workers_runs)}"
           if report.event_workers_runs else "") + ".",
        *([
            "",
            f"Nightly run (a day after every score was computed): {report.nightly.decayed:,} contacts by arithmetic, "
            f"{report.nightly.rescored:,} by the full path, {report.nightly.snapshots:,} snapshot rows written; on "
            f"{report.nightly.sample} sampled contacts its results "
            f"{'equal' if report.nightly.agrees else 'DIFFER from'} the full path's as of the same time.",
        ] if report.nightly else []),
    ]
    return "\n".join(lines)


def write_markdown(report: Report, path: Path = BENCHMARKS_MD) -> None:
    """Replace this scale's section between its markers, keeping every other section."""
    key = report.scale.name
    start, end = f"<!-- results:{key} -->", f"<!-- /results:{key} -->"
    block = f"{start}\n{markdown_section(report)}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n## Results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
    print(f"Wrote the {key} results into {path.name}.")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small", help="dataset size (default: small)")
    parser.add_argument("--contacts", type=int, help="contacts instead of the scale's number (section 'custom')")
    parser.add_argument("--reset", action="store_true", help="empty a database that already holds contacts or events")
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data (default 42)")
    parser.add_argument("--naive-sample", type=int, default=200, help="contacts timed in the naive loop (default 200)")
    parser.add_argument("--chunk-size", type=int, help="contacts per chunk (default: the SCORING_CHUNK_SIZE setting)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for the fanned-out recompute (default: the cores; 1 skips it)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    if args.contacts is not None and args.contacts < 2 * CONTACTS_PER_EVENT:
        parser.error(f"--contacts must be at least {2 * CONTACTS_PER_EVENT}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_django()
    require_postgresql()
    migrate()
    occupied = existing_rows()
    if occupied and not args.reset:
        fail(
            f"the database already holds data ({', '.join(occupied)}). The benchmark loads its own dataset; "
            "give --reset to empty those tables (and all rows that refer to them) first, or use an empty database."
        )

    from ror_crm.processes import freeze_loaded_objects
    from scoring.services import active_parameters
    from scoring.services.recompute import chunk_size_setting

    scale = Scale("custom", args.contacts) if args.contacts else Scale(args.scale, SCALES[args.scale])
    chunk_size = args.chunk_size or chunk_size_setting()
    print(f"Generating scale {scale.name} ({scale.contacts:,} contacts, seed {args.seed}) …")
    started = time.perf_counter()
    if occupied:
        print(f"  --reset: emptying {', '.join(TABLES_WRITTEN)} and the tables referring to them")
        reset_database()
    dataset = generate(scale, args.seed)
    generate_s = time.perf_counter() - started
    params = active_parameters()
    # This process does the work of the tasks as a worker process does, which keeps what it loaded
    # out of full garbage collections from its start (ror_crm.processes); the dataset's plan, which
    # no worker holds, is kept out with it (the forked processes below inherit both).
    freeze_loaded_objects()

    print("Measuring …")
    floor_runs = [measure_floor(params)]
    naive_per_contact, naive = measure_naive(scale.contacts, args.naive_sample, params)
    recompute_s, contacts, next_action_s = measure_recompute(params, chunk_size)
    write_floor_s = measure_write_floor()
    floor_runs.append(measure_floor(params))
    naive_agrees = check_naive_agrees(naive)
    event_s, event_contacts, event_parts, event_runs = measure_event(dataset.big_event.id, chunk_size, params)
    workers_s = measure_workers_recompute(chunk_size, args.workers) if args.workers > 1 else None
    event_workers_runs = []
    if workers_s is not None:
        # The fanned-out run scored every contact again as of AS_OF: it must agree too. Without
        # it the event recompute (as of a day later) has the last word on its attendees' scores.
        naive_agrees = naive_agrees and check_naive_agrees(naive)
        # its scores as before the nightly run, written again by the event's fan-out
        event_workers_runs = measure_event_workers(dataset.big_event.id, chunk_size, args.workers)
    nightly = measure_nightly(params, args.naive_sample)

    report = Report(
        scale=scale, rows=dataset.rows, generate_s=generate_s, recompute_s=recompute_s, contacts=contacts,
        floor_s=min(floor_runs), floor_runs=floor_runs, naive_per_contact_s=naive_per_contact,
        naive_sample=len(naive), naive_agrees=naive_agrees, event_recompute_s=event_s, event_contacts=event_contacts,
        chunk_size=chunk_size, machine=machine_info(), workers=args.workers, workers_recompute_s=workers_s,
        write_floor_s=write_floor_s, next_action_s=next_action_s, event_parts=event_parts, nightly=nightly,
        event_runs=event_runs, event_workers_runs=event_workers_runs,
    )
    print_report(report)
    if not args.no_write:
        write_markdown(report)
    return 0 if naive_agrees and nightly.agrees else 1


if __name__ == "__main__":
    sys.exit(main())
