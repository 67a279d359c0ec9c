import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from tqdm import tqdm

from scoring.formatting import round_half_up
from scoring.models import ScoringProfile
from scoring.services.recompute import chunk_size_setting
from scoring.services.whatif import CHURN_RISKS, STAGES, Mover, WhatIf, as_dict, profile_whatif

STAGE_LABELS = {"initiation": "Initiation", "socialization": "Socialization", "growth": "Growth",
                "maturity": "Maturity", "at_risk": "At risk"}


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else str(round_half_up(value, digits))


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of: not an ISO 8601 time: {value!r}.") from error
    # A time without an offset is read in the site's time zone, as the admin reads one.
    return moment if moment.tzinfo is not None else timezone.make_aware(moment)


class Command(BaseCommand):
    help = (
        "What if scoring profile N were active: every contact (not erased) scored under it and under the active "
        "profile, exactly as of a time, nothing written. Prints both score distributions, the stage transitions, "
        "churn-risk changes, the contacts who move most and the score validity report's AUC under both."
    )

    def add_arguments(self, parser):
        parser.add_argument("--profile", type=int, required=True, metavar="ID", help="The scoring profile's id.")
        parser.add_argument("--as-of", metavar="ISO", help="Score as of this time (default: now), e.g. 2026-06-30T18:00+02:00.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument(
            "--chunk-size", type=int, default=chunk_size_setting(),
            help="Contacts scored per query (default: the SCORING_CHUNK_SIZE setting, %(default)s).",
        )

    def handle(self, *args, **options):
        profile_id = options["profile"]
        if not ScoringProfile.objects.filter(pk=profile_id).exists():
            raise CommandError(f"No scoring profile with id {profile_id}.")
        if not 1 <= options["chunk_size"] <= 100_000:
            raise CommandError("--chunk-size must be between 1 and 100000.")
        as_of = _moment(options["as_of"]) if options["as_of"] else None
        quiet = options["verbosity"] == 0 or options["json"]
        try:
            with tqdm(total=0, unit="scores", disable=quiet, file=self.stderr) as bar:

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                result = profile_whatif(profile_id, as_of=as_of, progress=progress, chunk_size=options["chunk_size"])
        except KeyboardInterrupt:
            # Nothing to undo: the what-if writes nothing.
            raise CommandError("Interrupted: the what-if stopped; nothing was written.", returncode=1) from None
        if options["json"]:
            self.stdout.write(json.dumps(as_dict(result), cls=DjangoJSONEncoder, indent=2))
            return
        self._print(result)

    def _print(self, result: WhatIf) -> None:
        write = self.stdout.write
        write(
            f"What if: {result.profile_name} v{result.profile_version} against the active profile "
            f"{result.active_profile_name} v{result.active_profile_version}, as of {result.as_of.isoformat()}."
        )
        write(f"{result.contacts} contacts scored ({result.erased_left_out} erased left out); nothing was written.")
        if result.same_profile:
            write("This is the active profile: nothing changes.")
        write("\nScores:")
        self._table(
            ["", "Active", "What if"],
            [[label, getter(result.active), getter(result.whatif)] for label, getter in DISTRIBUTION_ROWS],
        )
        write("\nContacts per score band:")
        self._table(
            ["Band", "Active", "What if"],
            [[_band(index), result.active.bins[index], result.whatif.bins[index]] for index in range(len(result.active.bins))],
        )
        write(f"\nStage transitions (rows: active, columns: what if); contacts changing stage: {result.stage_changes}.")
        self._matrix(result.stage_transitions, STAGES, STAGE_LABELS)
        write(f"\nChurn risk (rows: active, columns: what if); contacts changing churn risk: {result.churn_changes}.")
        self._matrix(result.churn_transitions, CHURN_RISKS, {risk: risk.capitalize() for risk in CHURN_RISKS})
        for title, movers in (("rise most", result.movers_up), ("fall most", result.movers_down)):
            write(f"\nThe contacts whose score would {title}:")
            if movers:
                self._table(["Contact", "Id", "Active", "What if", "Change"], [_mover_row(mover) for mover in movers])
            else:
                write("  none")
        write("\nScore validity: AUC for \"attended the next edition\" (0.5 is chance, 1 a perfect ranking):")
        groups = [result.validity, *result.validity_series]
        if not result.validity.pairs:
            write("  not enough data: no completed edition of a series has attendees of an earlier edition.")
            return
        self._table(
            ["Series", "Editions", "Pairs", "Active", "What if"],
            [[group.name or "All series", group.editions, group.pairs, _number(group.active_auc, 3),
              _number(group.whatif_auc, 3)] for group in groups],
        )

    def _matrix(self, matrix: dict[str, dict[str, int]], keys: tuple[str, ...], labels: dict[str, str]) -> None:
        self._table(
            ["Active \\ What if", *(labels[key] for key in keys), "Total"],
            [[labels[row], *(matrix[row][column] for column in keys), sum(matrix[row].values())] for row in keys],
        )

    def _table(self, header: list[str], rows: list[list]) -> None:
        cells = [header, *[[str(cell) for cell in row] for row in rows]]
        widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
        for row in cells:
            self.stdout.write("  " + "  ".join(
                cell.ljust(width) if column == 0 else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            ))


DISTRIBUTION_ROWS = (
    ("Contacts", lambda distribution: distribution.count),
    ("Mean", lambda distribution: _number(distribution.mean)),
    ("Lower quartile", lambda distribution: _number(distribution.lower_quartile)),
    ("Median", lambda distribution: _number(distribution.median)),
    ("Upper quartile", lambda distribution: _number(distribution.upper_quartile)),
)


def _band(index: int) -> str:
    return f"{index * 10}–{index * 10 + 10}" if index < 9 else "90–100"


def _mover_row(mover: Mover) -> list:
    change = mover.change
    return [mover.name, mover.contact_id, _number(mover.active_score), _number(mover.whatif_score),
            ("+" if change > 0 else "") + _number(change)]

