#!/usr/bin/env python
"""Benchmark of the meeting suggestions of a 5,000-attendee event on PostgreSQL (not a test).

    DATABASE_URL=postgres://user@host:5432/ror_bench python benchmarks/meeting_suggestions.py
    python scripts/with_services.py -- python benchmarks/meeting_suggestions.py

One run:
1. generates an agency (seeded, so every run loads the same rows): 25,000 contacts in 600
   organizations of about 30 industries (written in varying case, a few blank), 0–4 tags each
   from a pool of 40 (some far more common than others), a fifth owned by one of 12 salespeople,
   scores for nine in ten (about a fifth of them 60 or more), 2 % do-not-contact and 1 % erased;
   30 earlier events with 100,000 interactions (40,000 of them between people of the big
   event) and 14,000 follow-ups (3,500 planned, most of them by the owners of the big event's
   attendees with its attendees); then a planned event with 5,000 registered attendees (and
   300 invited, waitlisted or cancelled ones); then VACUUM ANALYZE;
2. times meeting_suggestions() for that event --runs times after one warm-up (median), with
   its two parts: the three queries, and the pairing in Python;
3. times GET /api/v1/events/{id}/meeting-suggestions/?page_size=500 through Django's test
   client (server time: authentication, every suggestion computed, JSON of the largest page)
   and counts its queries.

It prints the figures and writes them into BENCHMARKS.md (its own section). It refuses a
database that is not PostgreSQL, and one that already holds contacts or events unless --reset
is given (which empties those tables and everything that hangs off them).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = PROJECT_ROOT / "BENCHMARKS.md"
SECTION_KEY = "meeting-suggestions"

ATTENDEES = 5_000
OTHER_CONTACTS = 20_000
ORGANIZATIONS = 600
INDUSTRIES = 30
TAG_POOL = 40
OWNERS = 12
EARLIER_EVENTS = 30
INTERACTIONS_AMONG_ATTENDEES = 40_000
OTHER_INTERACTIONS = 60_000
PLANNED_FOLLOWUPS_WITH_ATTENDEES = 3_000
OTHER_PLANNED_FOLLOWUPS = 500
DONE_FOLLOWUPS = 10_500
TARGET_S = 2.0  # the API's answer for 5,000 attendees (the issue)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TABLES_WRITTEN = ["contacts_organization", "contacts_contact", "events_eventseries", "events_event"]


def setup_django() -> None:
    """Production settings (DEBUG off, so no query log), with a throwaway key if none is set."""
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path[0] = str(PROJECT_ROOT)  # else `import scoring` would find benchmarks/scoring.py, not the app
    elif str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ror_crm.settings")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    if not os.environ.get("DJANGO_SECRET_KEY") and os.environ.get("DJANGO_DEBUG", "").lower() not in {"1", "true", "yes", "on"}:
        os.environ["DJANGO_SECRET_KEY"] = "benchmark-only-" + "x" * 40
    import django

    django.setup()


def fail(message: str) -> None:
    print(f"benchmarks/meeting_suggestions.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def prepare_database(reset: bool) -> None:
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        fail(f"needs PostgreSQL, but DATABASE_URL points to {connection.vendor}. Set DATABASE_URL=postgres://… to an "
             "empty database, or run it via scripts/with_services.py, which starts a throwaway one.")
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        holding = []
        for table in TABLES_WRITTEN:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if cursor.fetchone()[0]:
                holding.append(table)
        if holding and not reset:
            fail(f"the database already holds rows in {', '.join(holding)}; give --reset to empty them first.")
        if holding:
            cursor.execute(f"TRUNCATE {', '.join(TABLES_WRITTEN)} RESTART IDENTITY CASCADE")


# --------------------------------------------------------------------------- dataset


def generate(seed: int) -> dict:
    """The agency of the docstring; returns the big event and the row counts."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from contacts.models import Contact, FollowUp, Organization
    from events.models import Attendance, Event, Interaction
    from scoring.models import ContactScore

    rng = random.Random(seed)
    industries = [f"Industry {i:02d}" for i in range(INDUSTRIES)]
    tags = [f"topic-{i:02d}" for i in range(TAG_POOL)]
    tag_weights = [1 / (rank + 1) ** 0.8 for rank in range(TAG_POOL)]  # a few tags are on many contacts
    User = get_user_model()
    with transaction.atomic():
        owners = User.objects.bulk_create(
            User(username=f"sales{i}", first_name=f"Sales{i}", last_name="Person", is_staff=True) for i in range(OWNERS)
        )
        organizations = Organization.objects.bulk_create(
            Organization(name=f"Organization {i}", industry="" if rng.random() < 0.05 else _spelling(
                rng.choice(industries), rng))
            for i in range(ORGANIZATIONS)
        )
        total = ATTENDEES + OTHER_CONTACTS
        contacts = []
        for i in range(total):
            erased = rng.random() < 0.01
            contacts.append(Contact(
                email=None if erased else f"person{i}@bench.example", first_name="" if erased else f"First{i}",
                last_name="" if erased else f"Last{i}", erased_at=NOW if erased else None,
                organization=rng.choice(organizations) if rng.random() < 0.9 else None,
                owner=rng.choice(owners) if rng.random() < 0.2 else None,
                tags=sorted(set(rng.choices(tags, weights=tag_weights, k=rng.randint(0, 4)))),
                do_not_contact=rng.random() < 0.02,
            ))
        contacts = Contact.objects.bulk_create(contacts, batch_size=2000)
        ContactScore.objects.bulk_create((
            ContactScore(contact=contact, score=round(rng.betavariate(2, 3) * 100, 1), components={},
                         stage="growth", churn_risk="low", computed_at=NOW, profile_version=1)
            for contact in contacts if rng.random() < 0.9
        ), batch_size=2000)
        earlier = Event.objects.bulk_create(
            Event(name=f"Earlier event {i}", starts_at=NOW - timedelta(days=30 + 20 * i),
                  ends_at=NOW - timedelta(days=30 + 20 * i) + timedelta(hours=8), status="completed",
                  completed_at=NOW - timedelta(days=29 + 20 * i))
            for i in range(EARLIER_EVENTS)
        )
        event = Event.objects.create(name="Big summit", starts_at=NOW + timedelta(days=14),
                                     ends_at=NOW + timedelta(days=15))
        attendees, others = contacts[:ATTENDEES], contacts[ATTENDEES:]
        Attendance.objects.bulk_create(
            [Attendance(event=event, contact=contact, status="registered") for contact in attendees]
            + [Attendance(event=event, contact=contact, status=rng.choice(["invited", "waitlisted", "cancelled"]))
               for contact in others[:300]],
            batch_size=2000,
        )

        def interaction(people) -> Interaction:
            contact, counterpart = rng.sample(people, 2)
            where = rng.choice(earlier)
            return Interaction(event=where, contact=contact, counterpart=counterpart, kind="conversation",
                               occurred_at=where.starts_at + timedelta(hours=rng.randint(0, 7)))

        Interaction.objects.bulk_create(
            [interaction(attendees) for _ in range(INTERACTIONS_AMONG_ATTENDEES)]
            + [interaction(contacts) for _ in range(OTHER_INTERACTIONS)],
            batch_size=5000,
        )
        owned = [contact for contact in attendees if contact.owner_id is not None]
        followups = []
        for _ in range(PLANNED_FOLLOWUPS_WITH_ATTENDEES):
            # mostly an owner's own contact, sometimes another attendee
            target = rng.choice(owned) if rng.random() < 0.7 else rng.choice(attendees)
            owner = target.owner if target.owner_id is not None else rng.choice(owners)
            followups.append(FollowUp(contact=target, owner=owner, status="planned", due_at=NOW + timedelta(days=7)))
        followups += [FollowUp(contact=rng.choice(others), owner=rng.choice(owners), status="planned",
                               due_at=NOW + timedelta(days=7)) for _ in range(OTHER_PLANNED_FOLLOWUPS)]
        followups += [FollowUp(contact=rng.choice(contacts), owner=rng.choice(owners), status="done",
                               completed_at=NOW - timedelta(days=rng.randint(1, 500)), outcome="positive")
                      for _ in range(DONE_FOLLOWUPS)]
        FollowUp.objects.bulk_create(followups, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "event": event,
        "rows": {
            "contacts": len(contacts), "organizations": len(organizations), "events": EARLIER_EVENTS + 1,
            "attendances": Attendance.objects.count(), "interactions": Interaction.objects.count(),
            "follow_ups": FollowUp.objects.count(),
        },
    }


def _spelling(industry: str, rng: random.Random) -> str:
    """The same industry as different people type it."""
    return rng.choice([industry, industry.lower(), industry.upper(), f" {industry} "])


# --------------------------------------------------------------------------- measuring


def median_time(function, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def measure(event, runs: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from events import meeting_suggestions as module
    from partners.models import PartnerAPIKey

    suggestions = module.meeting_suggestions(event)  # warm-up
    per_attendee = module.default_per_attendee()
    function_s, function_runs = median_time(lambda: module.meeting_suggestions(event), runs)
    queries_s, _ = median_time(lambda: module._load(event), runs)
    loaded = module._load(event)

    def pairing():
        people, met, followups = loaded
        module._suggest(list(people), met, followups, per_attendee)

    pairing_s, _ = median_time(pairing, runs)

    key = PartnerAPIKey.objects.create_key(name="Matchmaking benchmark", can_read=True, can_write=False)[1]
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    # The largest page: every page computes the whole report, and this one writes the most JSON.
    url = f"/api/v1/events/{event.pk}/meeting-suggestions/?page_size=500"
    response = client.get(url)  # warm-up
    if response.status_code != 200 or response.json()["count"] != len(suggestions):
        fail(f"the API answered {response.status_code}, not the {len(suggestions)} suggestions")
    api_s, api_runs = median_time(lambda: client.get(url), max(3, runs // 2))
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    named = {suggestion.contact_a for suggestion in suggestions} | {suggestion.contact_b for suggestion in suggestions}
    return {
        "attendees": len(loaded[0]),
        "suggestions": len(suggestions),
        "named": len(named),
        "per_attendee": per_attendee,
        "reasons": {code: sum(code in suggestion.reasons for suggestion in suggestions)
                    for code in ("followup_pending", "same_industry", "shared_tags", "both_high_score")},
        "function_s": function_s,
        "function_runs": function_runs,
        "queries_s": queries_s,
        "pairing_s": pairing_s,
        "api_s": api_s,
        "api_runs": api_runs,
        "api_queries": len(captured),
        "api_bytes": len(response.content),
    }


def machine_info() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0].split()[0]
    return {"cores": str(os.cpu_count()), "postgresql": server_version, "python": platform.python_version(),
            "date": date.today().isoformat()}


def markdown_section(figures: dict, rows: dict, machine: dict, generate_s: float, runs: int) -> str:
    reasons = figures["reasons"]
    met = "met" if figures["api_s"] <= TARGET_S else "NOT met"
    return "\n".join([
        f"Measured {machine['date']} on {machine['cores']} cores, PostgreSQL {machine['postgresql']}, "
        f"Python {machine['python']}; median of {runs} runs after a warm-up.",
        "",
        f"Dataset: {rows['contacts']:,} contacts, {rows['organizations']:,} organizations, {rows['events']} events, "
        f"{rows['attendances']:,} attendances, {rows['interactions']:,} interactions, {rows['follow_ups']:,} "
        f"follow-ups (generated in {generate_s:.1f} s). The planned event: {figures['attendees']:,} attendees "
        f"after leaving out do-not-contact and erased contacts.",
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        f"| `meeting_suggestions()`, s | {figures['function_s']:.2f} |  |",
        f"| the three queries alone, s | {figures['queries_s']:.2f} |  |",
        f"| the pairing in Python alone, s | {figures['pairing_s']:.2f} |  |",
        f"| API `GET events/{{id}}/meeting-suggestions/?page_size=500`, s | {figures['api_s']:.2f} | ≤ {TARGET_S:g} |",
        f"| API queries | {figures['api_queries']} |  |",
        f"| API answer (a page of 500), MB | {figures['api_bytes'] / 1e6:.2f} |  |",
        f"| suggestions (at most {figures['per_attendee']} per attendee) | {figures['suggestions']:,} |  |",
        f"| attendees with a suggestion | {figures['named']:,} |  |",
        "",
        f"Suggestions by reason: follow-up pending {reasons['followup_pending']:,}, same industry "
        f"{reasons['same_industry']:,}, shared tags {reasons['shared_tags']:,}, both high-score "
        f"{reasons['both_high_score']:,}. Runs of the function: "
        f"{', '.join(f'{run:.2f}' for run in figures['function_runs'])} s; of the API: "
        f"{', '.join(f'{run:.2f}' for run in figures['api_runs'])} s. Target: the API's answer for "
        f"5,000 attendees within {TARGET_S:g} s — {met} ({figures['api_s']:.2f} s).",
    ])


def write_markdown(text: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace the section between this benchmark's markers, keeping everything else."""
    start, end = f"<!-- results:{SECTION_KEY} -->", f"<!-- /results:{SECTION_KEY} -->"
    block = f"{start}\n{text}\n{end}"
    current = path.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        current = pattern.sub(lambda _match: block, current)
    else:
        current = current.rstrip("\n") + "\n\n## Meeting suggestions at a 5,000-attendee event\n\n" + block + "\n"
    path.write_text(current)
    print(f"Wrote the results into {path.name}.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reset", action="store_true", help="empty a database that already holds contacts or events")
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data (default 42)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of the function (default 7)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    setup_django()
    prepare_database(args.reset)
    print("Generating the agency …")
    started = time.perf_counter()
    dataset = generate(args.seed)
    generate_s = time.perf_counter() - started
    print("Measuring …")
    figures = measure(dataset["event"], args.runs)
    text = markdown_section(figures, dataset["rows"], machine_info(), generate_s, args.runs)
    print()
    print(text)
    if not args.no_write:
        write_markdown(text)


if __name__ == "__main__":
    main()
