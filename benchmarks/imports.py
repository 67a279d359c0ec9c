#!/usr/bin/env python
"""Benchmark of attendee imports and bulk writes on PostgreSQL (not a test).

    python scripts/with_services.py -- python benchmarks/imports.py            # 100,000 rows
    python scripts/with_services.py -- python benchmarks/imports.py --rows 1000000

The admin import of one file (issue 16, part 5: one file of 100,000 rows previewed and imported
in ≤ 15 s in all at ≤ 300 MB RSS), as its tasks run it: the upload (the file read up to its first
rows and stored), the preview (every row planned, batch by batch) and the import (every row
upserted, batch by batch, with its progress), called in this process as a worker calls them. A
fifth of the rows name contacts the database already holds (they get an attendance, and a new
job title); the rest are new people. Then the same file again: the replay, in which nothing
changes. RSS: this process's peak (ru_maxrss), which includes generating the file.

The bulk writes beside their floors, each the fastest of --repeat runs, each rolled back:
- the upsert of 1,000 rows of known attendees whose name and status change (the bulk API's
  attendances/bulk/) and its floor: the rows COPYed into a temporary table and one
  `UPDATE … FROM` it per table (contacts, attendances), and the changed contacts' history rows
  by one `INSERT … SELECT`;
- the replay of the same 1,000 rows, unchanged (target 50 ms);
- check-in of 1,000 and 5,000 attendees by e-mail and its floor: the e-mails COPYed into a
  temporary table and one `UPDATE … FROM` it.
Targets: each write ≤ 2 × its floor. The figures go into BENCHMARKS.md ("imports:<rows>").
The database must hold no other data (like benchmarks/scoring.py; --reset empties it).
"""

import argparse
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scoring_dataset import load_scoring_benchmark, ready_database, write_results_section  # noqa: E402

scoring_benchmark = load_scoring_benchmark()

DOMAIN = "import.bench.example"
KNOWN_SHARE = 5  # every 5th row names a known contact


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the imported file (default 100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each bulk write; the fastest counts (default 5)")
    parser.add_argument("--reset", action="store_true", help="empty a database that already holds data first")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    if args.rows < 25_000 or args.repeat < 1:
        parser.error("--rows ≥ 25,000 (the bulk writes take 5,000 of its known contacts), --repeat ≥ 1")
    return args


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def the_file(rows: int) -> bytes:
    lines = ["email,first_name,last_name,company,job_title,status,ticket_id"]
    for i in range(rows):
        email = f"known{i}@{DOMAIN}" if i % KNOWN_SHARE == 0 else f"new{i}@{DOMAIN}"
        lines.append(f"{email},First{i},Last{i},Company {i % 997},Title {i % 13},registered,B-{i}")
    return ("\n".join(lines) + "\n").encode()


def known_contacts(rows: int) -> None:
    from contacts.models import Contact

    Contact.objects.bulk_create(
        [Contact(email=f"known{i}@{DOMAIN}", first_name=f"First{i}") for i in range(0, rows, KNOWN_SHARE)],
        batch_size=5000)


def upcoming_event(name: str, *, starts_in: timedelta = timedelta(days=30)):
    from django.utils import timezone

    from events.models import Event

    now = timezone.now()
    return Event.objects.create(name=name, starts_at=now + starts_in, ends_at=now + starts_in + timedelta(days=1))


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def defaults(model, given: set[str]) -> tuple[list[str], list]:
    """The other columns of a model's rows, at their defaults: (quoted columns, values)."""
    from django.db import connection, models

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.attname in given or (field.primary_key and isinstance(field, models.AutoField)):
            continue
        columns.append(connection.ops.quote_name(field.column))
        values.append(field.get_db_prep_save(field.get_default(), connection))
    return columns, values


def contact_history_sql(joined: str, history_type: str) -> str:
    """The plain-SQL history rows of the contacts `joined` (a join to the contacts table `c`)
    selects, as the import writes them (ror_crm.bulk.insert_history_of())."""
    from django.db import connection
    from simple_history.utils import get_history_manager_for_model

    from contacts.models import Contact

    quote = connection.ops.quote_name
    history = get_history_manager_for_model(Contact).model
    tracked = [quote(field.column) for field in history.tracked_fields]
    return (f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(tracked)}, history_date, history_type, "
            f"history_change_reason, history_user_id) SELECT {', '.join('c.' + column for column in tracked)}, now(), "
            f"'{history_type}', NULL, NULL FROM {quote(Contact._meta.db_table)} c {joined}")


def file_floor(data: bytes, event_id: int) -> float:
    """The first import's writes in plain SQL, rolled back: the file COPYed into a temporary table,
    then one statement each for the organizations, the known contacts' job titles, the new
    contacts, every contact's history row and the attendances, and the deferred foreign-key
    checks that a commit would run."""
    from django.db import connection

    from contacts.models import Contact, Organization
    from events.models import Attendance

    quote = connection.ops.quote_name
    contacts, organizations = quote(Contact._meta.db_table), quote(Organization._meta.db_table)

    def run(cursor):
        cursor.execute("CREATE TEMP TABLE bench_file (email text, first_name text, last_name text, company text, "
                       "job_title text, status text, ticket_id text) ON COMMIT DROP")
        with cursor.copy("COPY bench_file FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(data)
        extra, values = defaults(Organization, {"name", "name_key", "created_at", "updated_at"})
        cursor.execute(f"INSERT INTO {organizations} (name, name_key, created_at, updated_at, {', '.join(extra)}) "
                       f"SELECT DISTINCT ON (lower(company)) company, lower(company), now(), now(), "
                       f"{', '.join(['%s'] * len(values))} FROM bench_file ON CONFLICT DO NOTHING", values)
        cursor.execute(f"UPDATE {contacts} c SET job_title = f.job_title, updated_at = now() FROM bench_file f "
                       "WHERE lower(trim(c.email)) = lower(f.email) AND c.job_title <> f.job_title")
        given = {"email", "first_name", "last_name", "job_title", "organization_id", "created_at", "updated_at"}
        extra, values = defaults(Contact, given)
        cursor.execute(
            f"INSERT INTO {contacts} (email, first_name, last_name, job_title, organization_id, created_at, updated_at, "
            f"{', '.join(extra)}) SELECT lower(f.email), f.first_name, f.last_name, f.job_title, o.id, now(), now(), "
            f"{', '.join(['%s'] * len(values))} FROM bench_file f "
            f"LEFT JOIN {organizations} o ON lower(o.name) = lower(f.company) "
            f"WHERE NOT EXISTS (SELECT FROM {contacts} c WHERE lower(trim(c.email)) = lower(f.email))", values)
        cursor.execute(contact_history_sql("JOIN bench_file f ON lower(trim(c.email)) = lower(f.email)", "+"))
        given = {"event_id", "contact_id", "status", "external_id", "registered_at", "created_at", "updated_at"}
        extra, values = defaults(Attendance, given)
        cursor.execute(
            f"INSERT INTO {quote(Attendance._meta.db_table)} (event_id, contact_id, status, external_id, registered_at, "
            f"created_at, updated_at, {', '.join(extra)}) SELECT %s, c.id, f.status, f.ticket_id, now(), now(), now(), "
            f"{', '.join(['%s'] * len(values))} FROM bench_file f "
            f"JOIN {contacts} c ON lower(trim(c.email)) = lower(f.email)", [event_id, *values])
        if cursor.rowcount != data.count(b"\n") - 1:
            scoring_benchmark.fail(f"the floor wrote {cursor.rowcount:,} attendances")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys checked, as a commit would

    return fastest(1, run)


def measure_file_import(rows: int) -> dict:
    from events import imports
    from events.models import AttendeeImport

    imports._send = lambda attendee_import: True  # the tasks run right here, as a worker runs them
    data = the_file(rows)
    known_contacts(rows)
    figures = {"rows": rows, "file_mb": len(data) / 1e6}
    for label in ("first", "replay"):
        event = upcoming_event("Import benchmark") if label == "first" else figures.pop("_event")
        if label == "first":
            figures["floor_s"] = file_floor(data, event.pk)
        upload_s, attendee_import = timed(imports.create_import, event, None, "list.csv", data)
        preview_s, _ = timed(imports.run_preview, attendee_import.pk, attendee_import.run)
        imports.start_import(attendee_import)
        import_s, done = timed(imports.run_import, attendee_import.pk, attendee_import.run)
        attendee_import.refresh_from_db()
        if not done or attendee_import.status != "done":
            scoring_benchmark.fail(f"the import did not finish: {attendee_import.status} {attendee_import.failure}")
        figures[label] = {
            "upload_s": upload_s, "preview_s": preview_s, "import_s": import_s,
            "total_s": upload_s + preview_s + import_s,
            "created": attendee_import.created, "updated": attendee_import.updated,
            "unchanged": attendee_import.unchanged,
        }
        figures["_event"] = event
        AttendeeImport.objects.filter(pk=attendee_import.pk).delete()
    figures["peak_rss_mb"] = peak_rss_mb()
    figures.pop("_event")
    return figures


def fastest(repeat: int, run) -> float:
    """The fastest of `repeat` runs of `run(cursor)`, each in a transaction rolled back."""
    from django.db import connection, transaction

    times = []
    for _ in range(repeat):
        with transaction.atomic():
            with connection.cursor() as cursor:
                started = time.perf_counter()
                run(cursor)
                times.append(time.perf_counter() - started)
            transaction.set_rollback(True)
    return min(times)


def copy_rows(cursor, table: str, columns: str, rows) -> None:
    cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def measure_bulk_writes(repeat: int) -> dict:
    from django.db import connection

    from contacts.models import Contact
    from events import services
    from events.models import Attendance

    event = upcoming_event("Bulk write benchmark", starts_in=-timedelta(hours=1))  # under way: check-ins open
    people = list(Contact.objects.filter(email__startswith="known").order_by("pk")[:5000])
    if len(people) != 5000:
        scoring_benchmark.fail("the file import runs first and leaves 5,000 known contacts")
    Attendance.objects.bulk_create([Attendance(event=event, contact=person, status="invited") for person in people])
    first = people[:1000]
    changed = [{"email": person.email, "first_name": f"Changed {person.pk}", "status": "registered"} for person in first]
    contacts_table = connection.ops.quote_name(Contact._meta.db_table)
    attendances_table = connection.ops.quote_name(Attendance._meta.db_table)

    def upsert(cursor):
        services.bulk_upsert_attendances(event, changed)

    def upsert_floor(cursor):
        copy_rows(cursor, "bench_rows", "email text, first_name text, status text",
                  [(row["email"], row["first_name"], row["status"]) for row in changed])
        cursor.execute(f"UPDATE {contacts_table} c SET first_name = r.first_name, updated_at = now() "
                       f"FROM bench_rows r WHERE c.email = r.email")
        cursor.execute(contact_history_sql("JOIN bench_rows r ON c.email = r.email", "~"))
        cursor.execute(f"UPDATE {attendances_table} a SET status = r.status, updated_at = now() "
                       f"FROM bench_rows r JOIN {contacts_table} c ON c.email = r.email "
                       f"WHERE a.contact_id = c.id AND a.event_id = %s", [event.pk])

    def replay(cursor):
        services.bulk_upsert_attendances(event, changed)

    def check_in(count):
        emails = [person.email for person in people[:count]]

        def run(cursor):
            services.check_in(event, emails=emails)

        def floor(cursor):
            copy_rows(cursor, "bench_emails", "email text", [(email,) for email in emails])
            cursor.execute(f"UPDATE {attendances_table} a SET status = 'attended', "
                           f"checked_in_at = COALESCE(a.checked_in_at, now()), updated_at = now() "
                           f"FROM bench_emails e JOIN {contacts_table} c ON c.email = e.email "
                           f"WHERE a.contact_id = c.id AND a.event_id = %s", [event.pk])

        return run, floor

    figures = {
        "upsert_1000_s": fastest(repeat, upsert),
        "upsert_1000_floor_s": fastest(repeat, upsert_floor),
    }
    services.bulk_upsert_attendances(event, changed)  # committed: the replay finds them unchanged
    figures["replay_1000_s"] = fastest(repeat, replay)
    for count in (1000, 5000):
        run, floor = check_in(count)
        figures[f"check_in_{count}_s"] = fastest(repeat, run)
        figures[f"check_in_{count}_floor_s"] = fastest(repeat, floor)
    return figures


def report(file_figures: dict, bulk: dict) -> str:
    first, replay = file_figures["first"], file_figures["replay"]
    rows = file_figures["rows"]

    def ratio(name: str) -> str:
        value = bulk[f"{name}_s"] / bulk[f"{name}_floor_s"]
        return f"{value:.1f}" + ("" if value <= 2 else " (**not met**)")

    lines = [
        f"One file of {rows:,} rows ({file_figures['file_mb']:.1f} MB; a fifth of them known contacts), "
        f"peak RSS of the process {file_figures['peak_rss_mb']:.0f} MB (target ≤ 300 MB at 100,000 rows). "
        f"The first import's writes in plain SQL (the file COPYed, one statement per table, the foreign keys checked): "
        f"{file_figures['floor_s']:.2f} s; the first import took {first['total_s'] / file_figures['floor_s']:.1f} × that.",
        "",
        "| | upload | preview | import | in all | rows/s | new / updated / unchanged |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, run in (("first import", first), ("the same file again", replay)):
        lines.append(
            f"| {label} | {run['upload_s']:.2f} s | {run['preview_s']:.2f} s | {run['import_s']:.2f} s | "
            f"**{run['total_s']:.2f} s** | {rows / (run['preview_s'] + run['import_s']):,.0f} | "
            f"{run['created']:,} / {run['updated']:,} / {run['unchanged']:,} |")
    lines += [
        "",
        "| bulk write | time | floor | ÷ floor (target ≤ 2) |",
        "|---|---:|---:|---:|",
        f"| upsert of 1,000 changed rows | {bulk['upsert_1000_s'] * 1000:.0f} ms | "
        f"{bulk['upsert_1000_floor_s'] * 1000:.0f} ms | {ratio('upsert_1000')} |",
        f"| replay of the 1,000 rows, unchanged (target 50 ms) | {bulk['replay_1000_s'] * 1000:.0f} ms | – | "
        f"{'met' if bulk['replay_1000_s'] <= 0.05 else '**not met**'} |",
        f"| check-in of 1,000 | {bulk['check_in_1000_s'] * 1000:.0f} ms | {bulk['check_in_1000_floor_s'] * 1000:.0f} ms | "
        f"{ratio('check_in_1000')} |",
        f"| check-in of 5,000 | {bulk['check_in_5000_s'] * 1000:.0f} ms | {bulk['check_in_5000_floor_s'] * 1000:.0f} ms | "
        f"{ratio('check_in_5000')} |",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    ready_database(scoring_benchmark, reset=args.reset)
    from ror_crm.processes import freeze_loaded_objects

    # This process runs the tasks as a worker process does, which keeps what it loaded out of full
    # garbage collections from its start.
    freeze_loaded_objects()
    started = time.perf_counter()
    print(f"Importing one file of {args.rows:,} rows, twice …")
    file_figures = measure_file_import(args.rows)
    print("Bulk writes beside their floors …")
    bulk = measure_bulk_writes(args.repeat)
    section = report(file_figures, bulk)
    print(section)
    print(f"(benchmark ran {time.perf_counter() - started:.0f} s)")
    if not args.no_write:
        write_results_section(scoring_benchmark.BENCHMARKS_MD, f"imports:{args.rows}", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
