from django.core.management.base import BaseCommand, CommandError
from rest_framework.renderers import JSONRenderer
from tqdm import tqdm

from events.models import EventSeries
from scoring.api.serializers import ScoreValidityReportSerializer
from scoring.formatting import round_half_up
from scoring.models import COMPONENTS
from scoring.services.recompute import chunk_size_setting
from scoring.services.validity import BASELINES, ValidityGroup, ValidityReport, score_validity_report

BASELINE_LABELS = {"days_since_last_attendance": "Days since last", "editions_attended": "Editions attended"}


def _auc(value: float | None) -> str:
    return "–" if value is None else str(round_half_up(value, 3))


def _share(value: float | None) -> str:
    return "–" if value is None else f"{round_half_up(value * 100, 1)} %"


class Command(BaseCommand):
    help = (
        "How well the relationship score predicts who attends the next edition of a series: the score's AUC "
        "beside two baselines and each component, and the return rate per score decile (the score validity report)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--series", type=int, metavar="ID", help="Only this series.")
        parser.add_argument("--no-cache", action="store_true", help="Compute again even if this data was reported before.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON (the API's shape).")
        parser.add_argument(
            "--chunk-size", type=int, default=chunk_size_setting(),
            help="Contacts scored per query (default: the SCORING_CHUNK_SIZE setting, %(default)s).",
        )

    def handle(self, *args, **options):
        series_id = options["series"]
        if series_id is not None and not EventSeries.objects.filter(pk=series_id).exists():
            raise CommandError(f"No series with id {series_id}.")
        if not 1 <= options["chunk_size"] <= 100_000:
            raise CommandError("--chunk-size must be between 1 and 100000.")
        quiet = options["verbosity"] == 0 or options["json"]
        with tqdm(total=0, unit="pairs", disable=quiet, file=self.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            report = score_validity_report(
                series_id=series_id, use_cache=not options["no_cache"], chunk_size=options["chunk_size"],
                progress=progress,
            )
        if options["json"]:
            data = ScoreValidityReportSerializer(report).data
            self.stdout.write(JSONRenderer().render(data, renderer_context={"indent": 2}).decode())
            return
        self._print(report)

    def _print(self, report: ValidityReport) -> None:
        write = self.stdout.write
        overall = report.overall
        source = "from the cache" if report.from_cache else "computed now"
        write(f"Score validity: profile v{report.profile_version}, data version {report.data_version}, {source}.")
        if not report.has_data:
            write("Not enough data: no completed edition of a series has attendees of an earlier edition yet.")
            return
        write(
            f"{overall.editions} editions, {overall.contacts} contacts, {overall.pairs} (contact, edition) pairs, "
            f"{overall.returned} returned ({_share(overall.return_rate)})."
        )
        write("AUC for \"attended the next edition\": 0.5 is chance, 1 a perfect ranking.\n")
        groups = [overall, *report.series]
        self._table(
            ["Series", "Editions", "Contacts", "Pairs", "Returned", "Score", *BASELINE_LABELS.values()],
            [[self._name(group), group.editions, group.contacts, group.pairs, _share(group.return_rate),
              _auc(group.score_auc), *(_auc(group.baseline_auc[name]) for name in BASELINES)] for group in groups],
        )
        write("\nWhat each component alone predicts (AUC):")
        self._table(
            ["Series", "Score", *(name.capitalize() for name in COMPONENTS)],
            [[self._name(group), _auc(group.score_auc), *(_auc(group.component_auc[name]) for name in COMPONENTS)]
             for group in groups],
        )
        write("\nCalibration: pairs by score decile (1 = lowest scores), pooled over all editions:")
        self._table(
            ["Decile", "Score range", "Pairs", "Mean score", "Returned"],
            [[row.decile, f"{row.min_score:.1f}–{row.max_score:.1f}", row.pairs, f"{row.mean_score:.1f}",
              _share(row.return_rate)] for row in overall.calibration],
        )
        for group in groups:
            for baseline in group.score_beaten_by:
                write(self.style.WARNING(
                    f"\n{self._name(group)}: the score ranks returners less well than the baseline "
                    f"“{BASELINE_LABELS[baseline]}” (AUC {_auc(group.score_auc)} against "
                    f"{_auc(group.baseline_auc[baseline])})."
                ))

    @staticmethod
    def _name(group: ValidityGroup) -> str:
        return "All series" if group.series_id is None else group.name

    def _table(self, header: list[str], rows: list[list]) -> None:
        cells = [header, *[[str(cell) for cell in row] for row in rows]]
        widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
        for row in cells:
            # The first column reads left to right, the figures line up on the right.
            self.stdout.write("  ".join(
                cell.ljust(width) if column == 0 else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            ))
