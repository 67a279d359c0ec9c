"""The scoring outbox: what waits, and sending it now.

    python manage.py scoring_outbox              the backlog (requests, unsent, due, late data)
    python manage.py scoring_outbox --sweep      send what is due, as the minute sweep does
    python manage.py scoring_outbox --resend-all send every waiting request and late-data run now
"""

from django.core.management.base import BaseCommand

from scoring import outbox
from scoring.models import PendingRecompute, RecomputeRequest
from scoring.triggers import enqueue_late_data


class Command(BaseCommand):
    help = "Show the scoring work waiting in the outbox; --sweep or --resend-all sends it to the workers."

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--sweep", action="store_true", help="Send what is due now (as the minute sweep does).")
        group.add_argument(
            "--resend-all", action="store_true",
            help="Send every waiting request and late-data run now, also those sent recently (after a broker "
                 "lost its queue). Safe: recomputing is idempotent.",
        )

    def handle(self, *args, sweep: bool, resend_all: bool, **options) -> None:
        if sweep:
            result = outbox.sweep()
            self.stdout.write(f"Sent {result['sent']} of {result['requests']} due requests and "
                              f"{result['late_data_sent']} of {result['late_data_events']} late-data runs.")
        elif resend_all:
            rows = list(RecomputeRequest.objects.all())
            sent = outbox.send(rows)
            events = sorted(set(PendingRecompute.objects.values_list("event_id", flat=True)))
            late = sum(enqueue_late_data(event_id, countdown=0) for event_id in events)
            self.stdout.write(f"Sent {sent} of {len(rows)} requests and {late} of {len(events)} late-data runs.")
        backlog = outbox.backlog()
        oldest = RecomputeRequest.objects.order_by("created_at").values_list("created_at", flat=True).first()
        self.stdout.write(
            f"Recompute requests waiting: {backlog['requests']} ({backlog['unsent']} never sent, {backlog['due']} due "
            f"for the sweep, {backlog['left']} left by it after {outbox.max_sends()} sends)"
            f"{f', oldest from {oldest.isoformat()}' if oldest else ''}.\n"
            f"Late data waiting: {backlog['late_data_rows']} contacts of {backlog['late_data_events']} events."
        )
