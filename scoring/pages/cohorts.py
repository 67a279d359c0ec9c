"""The cohort retention page (`/admin/ror/cohorts/`): a heat map per series, and its CSV.

The figures and their definitions are scoring.services.cohorts (docs/cohorts.md).
"""

import csv
import math
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.resources import escape_formula
from events.models import EventSeries
from scoring.dashboard import series_choices
from scoring.formatting import localized
from scoring.services.cohorts import CohortMatrix, cohort_matrix

# Who may read it: as the RoR dashboard, staff with view permission on event metrics.
COHORTS_PERMISSION = "scoring.view_eventmetrics"
HEAT_BUCKETS = 10  # shades of the heat map: a share in (0, 10 %] is bucket 1, … (90 %, 100 %] bucket 10
CSV_COLUMNS = [
    "cohort_event_id", "cohort_edition", "cohort_starts_at", "cohort_size",
    "event_id", "edition", "edition_starts_at", "count", "share",
    "edition_attended", "previous_event_id", "previous_attended", "not_at_previous", "series_retention_rate",
]


class CohortSeriesForm(forms.Form):
    series = forms.TypedChoiceField(label=gettext_lazy("Series"), coerce=int)

    def __init__(self, *args, series: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = series


def heat_bucket(share: float | None) -> str:
    """The CSS class suffix of a cell: "none" for an empty cohort, 0 for nobody, else 1–10."""
    if share is None:
        return "none"
    return str(min(HEAT_BUCKETS, math.ceil(share * HEAT_BUCKETS)))


def _percent(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{localized(value, digits)} %"


def heat_map_rows(matrix: CohortMatrix) -> list[dict[str, Any]]:
    """One row per cohort with a cell per column (the editions from the second on); None where
    the column is not later than the cohort's edition."""
    columns = matrix.editions[1:]
    rows = []
    for index, cohort in enumerate(matrix.cohorts):
        by_event = {cell.event_id: cell for cell in cohort.cells}
        cells = []
        for edition in columns:
            cell = by_event.get(edition.event_id)
            if cell is None:
                cells.append(None)
                continue
            cells.append({
                "count": cell.count,
                "share": _percent(None if cell.share is None else cell.share * 100),
                "bucket": heat_bucket(cell.share),
                "title": ngettext(
                    "%(count)s of %(size)s contact came to %(edition)s",
                    "%(count)s of %(size)s contacts came to %(edition)s", cohort.size,
                ) % {"count": localized(cell.count), "size": localized(cohort.size), "edition": edition.name},
            })
        rows.append({"number": index + 1, "event_id": cohort.event_id, "name": cohort.name,
                     "starts_at": cohort.starts_at, "size": localized(cohort.size), "cells": cells})
    return rows


def retention_line(matrix: CohortMatrix) -> list[dict[str, Any]]:
    """Beneath the matrix, per column: attended (E) and the CRR against the previous edition."""
    names = {edition.event_id: edition.name for edition in matrix.editions}
    line = []
    for edition in matrix.editions[1:]:
        if edition.previous_event_id is None:
            title = _("No completed edition before this one.")
        else:
            title = _(
                "%(returned)s of the %(previous)s who attended %(edition)s came back (E − N = %(attended)s − "
                "%(new)s, S = %(previous)s)."
            ) % {
                "returned": localized(edition.attended - edition.not_at_previous),
                "previous": localized(edition.previous_attended), "edition": names[edition.previous_event_id],
                "attended": localized(edition.attended), "new": localized(edition.not_at_previous),
            }
        line.append({"attended": localized(edition.attended), "rate": _percent(edition.retention_rate, 1),
                     "title": title})
    return line


def csv_response(matrix: CohortMatrix) -> HttpResponse:
    """One row per cohort and edition from the cohort's own (count = size, share 1) on, with the
    edition's CRR figures; text cells spreadsheet-safe (contacts.resources.escape_formula)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cohorts-series-{matrix.series_id}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    editions = {edition.event_id: edition for edition in matrix.editions}
    for cohort in matrix.cohorts:
        own = (cohort.event_id, cohort.size, 1.0 if cohort.size else None)
        for event_id, count, share in [own, *((cell.event_id, cell.count, cell.share) for cell in cohort.cells)]:
            edition = editions[event_id]
            writer.writerow([
                cohort.event_id, escape_formula(cohort.name), cohort.starts_at.isoformat(), cohort.size,
                event_id, escape_formula(edition.name), edition.starts_at.isoformat(), count,
                "" if share is None else f"{share:.4f}", edition.attended,
                _blank(edition.previous_event_id), _blank(edition.previous_attended), _blank(edition.not_at_previous),
                "" if edition.retention_rate is None else f"{edition.retention_rate:.2f}",
            ])
    return response


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


@staff_member_required
def cohorts(request: HttpRequest) -> HttpResponse:
    """GET `?series=<id>` (default: the first series by name); `&format=csv` downloads the matrix."""
    if not request.user.has_perm(COHORTS_PERMISSION):
        raise PermissionDenied
    series = series_choices()
    data = request.GET.copy()
    if not data.get("series") and series:
        data["series"] = str(series[0][0])
    form = CohortSeriesForm(data, series=series)
    matrix = None
    if series and form.is_valid():
        try:
            matrix = cohort_matrix(form.cleaned_data["series"])
        except EventSeries.DoesNotExist:  # deleted since the list of choices was read
            form.add_error("series", _("This series no longer exists."))
    if matrix is not None and request.GET.get("format") == "csv":
        return csv_response(matrix)
    context = {
        **admin.site.each_context(request),
        "title": _("Cohort retention"),
        "form": form,
        "has_series": bool(series),
        "matrix": matrix,
        "columns": [{"number": index + 2, "edition": edition} for index, edition in enumerate(matrix.editions[1:])]
        if matrix else [],
        "rows": heat_map_rows(matrix) if matrix else [],
        "retention": retention_line(matrix) if matrix else [],
    }
    return render(request, "ror/cohorts.html", context)
