"""`manage.py seed_demo`: load a realistic, deterministic demo event agency."""

import re
from datetime import date, datetime

from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from events.demo import DEFAULT_SEED, DemoDataConflict, delete_demo_data, demo_data_present, seed_demo_data
from events.demo.base import Clock
from events.demo.catalog import MARKER_SERIES, SALES_PASSWORD

DEFAULT_CONTACTS = 600
# Below this, some roles, statuses and kinds could not all appear; above it, a demo is no longer a demo.
MIN_CONTACTS = 20
MAX_CONTACTS = 100_000
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Options of recompute_scores that also refresh the event metrics, whichever it offers.
METRICS_OPTIONS = ("--events", "--event-metrics", "--metrics", "--with-metrics")


class Command(BaseCommand):
    help = (
        "Create a demo event agency: series with past and upcoming editions, contacts, attendances, networking, "
        "follow-ups, feedback and referrals, anchored on a reference date. The same options give the same data. "
        "Does nothing when the demo data is already present, unless --force-reset."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts", type=int, default=DEFAULT_CONTACTS,
            help=f"Number of contacts ({MIN_CONTACTS}–{MAX_CONTACTS}, default {DEFAULT_CONTACTS}).",
        )
        parser.add_argument(
            "--today", metavar="YYYY-MM-DD",
            help="Reference date the demo is anchored on (default: today), so demo events look recent.",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Random seed (default: fixed).")
        parser.add_argument(
            "--force-reset", action="store_true",
            help="Delete existing demo data (events of the demo series, *.example contacts) and create it again.",
        )
        parser.add_argument("--skip-scores", action="store_true", help="Do not compute scores and event metrics.")

    def handle(self, *args, **options):
        contact_count = options["contacts"]
        if not MIN_CONTACTS <= contact_count <= MAX_CONTACTS:
            raise CommandError(
                f"--contacts must be between {MIN_CONTACTS} and {MAX_CONTACTS} (got {contact_count})."
            )
        today = self._parse_today(options["today"])

        if demo_data_present() and not options["force_reset"]:
            self.stdout.write(
                f"Demo data already present (series “{MARKER_SERIES}” exists); nothing changed. "
                "Use --force-reset to delete and recreate it."
            )
            return
        # One transaction: if creating fails, the old demo data is still there.
        try:
            with transaction.atomic():
                if options["force_reset"]:
                    deleted = delete_demo_data()
                    self.stdout.write(f"Deleted the existing demo data ({deleted} contacts).")
                summary = seed_demo_data(contact_count=contact_count, today=today, seed=options["seed"])
        except DemoDataConflict as error:
            raise CommandError(str(error)) from error

        self.stdout.write(self.style.SUCCESS(
            f"Demo data created (reference date {today.isoformat()}): {summary.series} series, "
            f"{summary.events} events, {summary.organizations} organizations, {summary.contacts} contacts, "
            f"{summary.attendances} attendances, {summary.interactions} interactions, "
            f"{summary.follow_ups} follow-ups, {summary.feedback} feedback answers, {summary.referrals} referrals, "
            f"{summary.sales_users} sales users ({summary.sales_users_created} new)."
        ))
        if summary.sales_users_created:
            self.stdout.write(f"New sales users (sales.anna, sales.ben, …) log in with the password “{SALES_PASSWORD}”.")
        self._import_a_list()
        if options["skip_scores"]:
            self.stdout.write("Scores and event metrics were not computed (--skip-scores).")
        else:
            # A chosen reference date is the demo's "now"; score as of then, or old demo data looks churned.
            as_of = Clock(today=today, tz=timezone.get_default_timezone()).now if options["today"] else None
            self._recompute_scores(as_of=as_of)

    def _import_a_list(self) -> None:
        """The ticketing export of the latest completed edition, imported again through the admin's
        import (nothing changes: its attendees are registered already), so that *Attendee imports*
        shows one."""
        from events import imports
        from events.choices import EventStatus
        from events.demo.writer import demo_events

        event = (demo_events().filter(status=EventStatus.COMPLETED, attendances__isnull=False)
                 .order_by("-starts_at").first())
        if event is None:
            return
        attendances = event.attendances.select_related("contact").order_by("contact__last_name", "contact__email")
        lines = ["Email;First name;Last name;Status"] + [
            f"{a.contact.email};{a.contact.first_name};{a.contact.last_name};{a.status}" for a in attendances
        ]
        # The tasks' work run here, as a worker runs it: the demo is complete when the command ends.
        attendee_import = imports.create_import(event, None, "ticketing-export.csv", "\n".join(lines).encode(),
                                                send=False)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        if imports.start_import(attendee_import, send=False):
            imports.run_import(attendee_import.pk, attendee_import.run)
        self.stdout.write(f"Imported the attendee list of “{event}” again (Attendee imports).")

    def _parse_today(self, value: str | None) -> date:
        if value is None:
            return timezone.localdate()
        try:
            if not ISO_DATE.match(value):
                raise ValueError
            today = date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--today must be a date as YYYY-MM-DD, e.g. 2025-03-31 (got “{value}”).") from None
        if today > timezone.localdate():
            # Its past editions would lie in the real future, where nobody can have attended yet.
            raise CommandError(f"--today cannot be later than today (got {value}).")
        return today

    def _recompute_scores(self, *, as_of: datetime | None) -> None:
        # The data was written past the services (no triggers fire), so scores are computed once here.
        commands = get_commands()
        if "recompute_scores" not in commands:
            self.stdout.write(
                "Note: the recompute_scores command is not available; scores and event metrics were not computed."
            )
            return
        parser = load_command_class(commands["recompute_scores"], "recompute_scores").create_parser(
            "manage.py", "recompute_scores"
        )
        known = {option for action in parser._actions for option in action.option_strings}
        args = ["--all"]
        args += [option for option in METRICS_OPTIONS if option in known][:1]
        if "--replay-events" in known:
            args.append("--replay-events")  # each event's after-the-event recompute: score history, lift
        if as_of is not None and "--as-of" in known:
            # Not beyond now: a stored score is only replaced by a later one.
            args += ["--as-of", min(as_of, timezone.now()).isoformat()]
        self.stdout.write(f"Computing scores: recompute_scores {' '.join(args)}")
        call_command("recompute_scores", *args, stdout=self.stdout, stderr=self.stderr)
        if "fit_clv" in commands:  # every contact's customer lifetime value (docs/clv.md)
            clv_args = ["--as-of", min(as_of, timezone.now()).isoformat()] if as_of is not None else []
            call_command("fit_clv", *clv_args, stdout=self.stdout, stderr=self.stderr)
