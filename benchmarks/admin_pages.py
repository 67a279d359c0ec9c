#!/usr/bin/env python
"""Server time and queries of the staff's daily admin pages on the demo agency (not a test).

    .venv/bin/python benchmarks/admin_pages.py            # SQLite file of its own, demo seeded
    DATABASE_URL=postgres://… .venv/bin/python benchmarks/admin_pages.py --reset

It seeds the demo data (`seed_demo`, as `make demo` does) into an empty database, then
renders each page through Django's test client (no network, production settings, DEBUG off)
--rounds times after one warm-up and prints the median and slowest server time and the number
of queries. The target of the contact page is < 300 ms on the demo data (its query count is
asserted in the tests, its time only here). `--write` puts the table into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = PROJECT_ROOT / "BENCHMARKS.md"
SECTION = "## Admin pages on the demo data"


def setup_django() -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ror_crm.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-not-secret")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.pop("REDIS_URL", None)  # tasks run in-process, as in the demo
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(tempfile.mkdtemp()) / 'admin-bench.sqlite3'}"
    import django

    django.setup()


def pages() -> list[tuple[str, str]]:
    from django.db.models import Count
    from django.urls import reverse

    from contacts.models import Contact
    from events.choices import EventStatus
    from events.models import Event

    busiest = Contact.objects.annotate(rows=Count("attendances", distinct=True) + Count("followups", distinct=True)
                                       + Count("interactions", distinct=True)).order_by("-rows").first()
    flagship = Event.objects.filter(status=EventStatus.COMPLETED).annotate(n=Count("attendances")).order_by("-n").first()
    return [
        ("contact page (busiest contact)", reverse("admin:contacts_contact_change", args=[busiest.pk])),
        ("event page (largest completed event)", reverse("admin:events_event_change", args=[flagship.pk])),
        ("contact list", reverse("admin:contacts_contact_changelist")),
        ("follow-up list", reverse("admin:contacts_followup_changelist")),
        ("attendance list", reverse("admin:events_attendance_changelist")),
        ("dashboard", reverse("ror-dashboard")),
        ("worklist, team", reverse("ror-worklist") + "?owner=team"),
    ]


def measure(rounds: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.filter(is_superuser=True).first())
    results = []
    for name, url in pages():
        assert client.get(url).status_code == 200, url  # warm-up
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results.append({"page": name, "median_ms": statistics.median(times), "max_ms": max(times),
                        "queries": len(queries)})
    return results


def table(results: list[dict], database: str) -> str:
    lines = [SECTION, "", f"`benchmarks/admin_pages.py` on {database}, the demo agency (600 contacts), "
             "median and slowest of the rounds, server time through the test client:", "",
             "| page | median ms | slowest ms | queries |", "|---|---:|---:|---:|"]
    lines += [f"| {r['page']} | {r['median_ms']:.0f} | {r['max_ms']:.0f} | {r['queries']} |" for r in results]
    contact_page = results[0]["median_ms"]
    lines += ["", f"Target: the contact page under 300 ms on the demo data — "
              f"{'met' if contact_page < 300 else 'NOT met'} ({contact_page:.0f} ms)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--reset", action="store_true", help="flush a database that holds data first")
    parser.add_argument("--write", action="store_true", help="write the table into BENCHMARKS.md")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from contacts.models import Contact

    call_command("migrate", verbosity=0)
    if Contact.objects.exists():
        if not args.reset:
            sys.exit("The database holds contacts; give --reset to flush it first.")
        call_command("flush", interactive=False, verbosity=0)
        call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("bench", "bench@agency.example", None)
    results = measure(args.rounds)
    text = table(results, connection.vendor)
    print(text)  # noqa: T201
    if args.write:
        current = BENCHMARKS_MD.read_text()
        pattern = re.compile(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", re.DOTALL)
        updated = pattern.sub(text, current) if SECTION in current else current.rstrip("\n") + "\n\n" + text
        BENCHMARKS_MD.write_text(updated)


if __name__ == "__main__":
    main()
