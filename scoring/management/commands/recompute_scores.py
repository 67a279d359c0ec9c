from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from contacts.models import Contact
from events.choices import EventStatus
from events.models import Event
from scoring.choices import ScoreTrigger
from scoring.services import (
    active_parameters,
    all_contact_id_chunks,
    compute_event_metrics,
    recompute_contacts,
    replay_completed_events,
)
from scoring.services.recompute import chunk_size_setting, chunked, contact_ids_matching


class Command(BaseCommand):
    help = "Recompute relationship scores (and event metrics) in this process, chunk by chunk."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--all", action="store_true", help="Every contact.")
        target.add_argument("--event", type=int, action="append", metavar="ID", help="Contacts touched by this event.")
        target.add_argument("--contact", type=int, action="append", metavar="ID", nargs="+", help="These contacts.")
        parser.add_argument("--as-of", help="ISO 8601 time to score as of, not in the future (default: now).")
        parser.add_argument(
            "--chunk-size", type=int, default=chunk_size_setting(),
            help="Contacts per chunk (default: the SCORING_CHUNK_SIZE setting, %(default)s).",
        )
        parser.add_argument(
            "--with-metrics", action="store_true",
            help="Also recompute the metrics of the event(s); with --all, of every completed event.",
        )
        parser.add_argument(
            "--replay-events", action="store_true",
            help="With --all: first recompute every completed event's contacts and metrics as of its completion, "
            "in order (for data loaded without the services: gives scores their history and events their lift).",
        )

    def handle(self, *args, **options):
        as_of = self._as_of(options["as_of"])
        chunk_size = options["chunk_size"]
        if not 1 <= chunk_size <= 100_000:
            raise CommandError("--chunk-size must be between 1 and 100000.")
        params = active_parameters()

        if options["all"]:
            total_contacts = Contact.objects.count()
            chunks = all_contact_id_chunks(chunk_size)
            metric_events = list(
                Event.objects.filter(status=EventStatus.COMPLETED).order_by("starts_at").values_list("pk", flat=True)
            ) if options["with_metrics"] else []
        else:
            event_ids = options["event"] or []
            missing = set(event_ids) - set(Event.objects.filter(pk__in=event_ids).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No event with id {', '.join(map(str, sorted(missing)))}.")
            requested = [contact_id for group in options["contact"] or [] for contact_id in group]
            unknown = set(requested) - set(Contact.objects.filter(pk__in=requested).values_list("pk", flat=True))
            if unknown:
                raise CommandError(f"No contact with id {', '.join(map(str, sorted(unknown)))}.")
            ids = contact_ids_matching(contact_ids=requested, event_ids=event_ids)
            total_contacts = len(ids)
            chunks = chunked(ids, chunk_size)
            metric_events = event_ids

        started = timezone.now()
        if options["replay_events"]:
            if not options["all"]:
                raise CommandError("--replay-events goes with --all.")
            replayed = replay_completed_events(until=as_of, params=params)
            self.stdout.write(f"Replayed {replayed} completed events as of their completion.")
        contacts = changed = 0
        with tqdm(total=total_contacts, unit="contacts", disable=options["verbosity"] == 0, file=self.stderr) as progress:
            for chunk in chunks:
                result = recompute_contacts(chunk, as_of=as_of, trigger=ScoreTrigger.MANUAL, params=params)
                contacts += result["contacts"]
                changed += result["changed"]
                progress.update(result["contacts"])
        # Only completed events have metrics (compute_event_metrics() answers None for others).
        metrics = sum(compute_event_metrics(event_id, as_of=as_of) is not None for event_id in metric_events)
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(
            f"Recomputed {contacts} contacts as of {as_of.isoformat()}: {changed} changed, "
            f"{metrics} event metrics, profile v{params.version}, {seconds:.1f} s."
        )

    @staticmethod
    def _as_of(value: str | None) -> datetime:
        if not value:
            return timezone.now()
        try:
            as_of = datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--as-of must be an ISO 8601 time, got {value!r}.") from None
        as_of = as_of if timezone.is_aware(as_of) else timezone.make_aware(as_of)
        if as_of > timezone.now():
            # A stored result is only replaced by a later one: a future as-of would freeze
            # these scores against every new recompute until that time.
            raise CommandError(f"--as-of must not be in the future, got {value!r}.")
        return as_of
