import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from scoring.services.clv import ClvFitError, refit_clv
from scoring.services.recompute import chunk_size_setting


class Command(BaseCommand):
    help = (
        "Fit the customer-lifetime-value model (BG/BB over the editions of each series, docs/clv.md) as of now "
        "or --as-of, store it, and write every scored contact's CLV and expected attendances."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", metavar="ISO", help="Fit as of this moment (ISO 8601 with offset; default now).")
        parser.add_argument(
            "--chunk-size", type=int, default=chunk_size_setting(),
            help="Contacts written per statement (default: the SCORING_CHUNK_SIZE setting, %(default)s).",
        )

    def handle(self, *args, **options):
        as_of = self._as_of(options["as_of"])
        if not 1 <= options["chunk_size"] <= 100_000:
            raise CommandError("--chunk-size must be between 1 and 100000.")
        started = time.perf_counter()
        try:
            model = refit_clv(as_of=as_of, chunk_size=options["chunk_size"])
        except ClvFitError as error:
            raise CommandError(f"The CLV model was not fitted ({error.code}): {error}") from error
        seconds = time.perf_counter() - started
        if model is None:
            self.stdout.write(
                "No CLV model: no contact has attended an edition of a series with a later edition yet (every CLV "
                "cleared), or a fit with a later as-of is already stored."
            )
            return
        self.stdout.write(
            f"CLV model as of {model.as_of.isoformat()} in {seconds:.1f} s: alpha {model.alpha:.4f}, "
            f"beta {model.beta:.4f}, gamma {model.gamma:.4f}, delta {model.delta:.4f} "
            f"(log-likelihood {model.log_likelihood:.1f}) over "
            f"{model.pairs} (contact, series) histories in {model.series} series."
        )
        self.stdout.write(
            f"Value per attendance {model.value_per_attendance} {model.currency} (won {model.won_value} over "
            f"{model.attendances} attendances); horizon {model.horizon_years:g} years, discount rate "
            f"{model.annual_discount_rate:g}; {model.contacts} contacts given a CLV."
        )

    @staticmethod
    def _as_of(value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(
                f"--as-of must be an ISO 8601 time, e.g. 2026-03-31T12:00:00+02:00 (got “{value}”)."
            ) from None
        if timezone.is_naive(moment):
            raise CommandError("--as-of needs an offset (e.g. +02:00 or Z).")
        return moment
