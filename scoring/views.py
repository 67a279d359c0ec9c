"""The RoR dashboard: a staff page beside the admin, charts drawn on the server (no CDN)."""

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from scoring.charts import BarGroup, LegendEntry, bar_chart_svg, column_chart_svg, grouped_bar_chart_svg, line_chart_svg
from scoring.dashboard import Dashboard, DashboardFilter, build_dashboard, series_choices
from scoring.formatting import localized, round_half_up, signed
from scoring.models import COMPONENTS
from scoring.services.validity import BASELINES, ValidityGroup, ValidityReport, score_validity_report

# Who may read the dashboard: staff with view permission on event metrics. The
# "Agency staff" and "Sales" groups both hold it, so sales teams see the RoR they work for.
DASHBOARD_PERMISSION = "scoring.view_eventmetrics"
WON_VS_COST_EVENTS = 24  # at most the latest N events of the period, said on the chart; the table lists them all
WON_COLOR, COST_COLOR = "#3a7d44", "#b0b0b0"
CHART_WIDTH = 500
COLUMN_CHART_MAX = 12  # more editions than this read better as a line


# The dates a period may start and end on. Near the ends of Python's date range the day
# after the period, or its first day in UTC, no longer exists (OverflowError): a form error.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def _period_date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False,
        # Django's own messages ("Ensure this value is less than or equal to 2999-12-31."),
        # translated in every language Django speaks.
        validators=[MinValueValidator(EARLIEST_DATE), MaxValueValidator(LATEST_DATE)],
        # <input type="date"> takes ISO dates whatever the language; a localized value would show empty.
        widget=forms.DateInput(format="%Y-%m-%d", attrs={
            "type": "date", "min": EARLIEST_DATE.isoformat(), "max": LATEST_DATE.isoformat(),
        }),
    )


def _default_date_field() -> forms.DateField:
    """A hidden copy of a date the page filled in by default (not chosen by the user)."""
    return forms.DateField(required=False, widget=forms.HiddenInput())  # str(date): ISO


class DashboardFilterForm(forms.Form):
    """The period and the series. The page fills in the period it shows; a date left as it was
    filled in (it equals its hidden `default_*` copy) counts as not chosen, so picking a series
    widens the period to the series' editions instead of keeping the last 12 months."""

    date_from = _period_date_field(gettext_lazy("From"))
    date_to = _period_date_field(gettext_lazy("To"))
    series = forms.TypedChoiceField(label=gettext_lazy("Series"), required=False, coerce=int, empty_value=None)
    default_from = _default_date_field()
    default_to = _default_date_field()

    def __init__(self, *args, series: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = [("", _("All events")), *series]

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from == cleaned.get("default_from"):
            date_from = None  # not chosen: it follows the end of the period
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end of the period cannot lie before its start."))
        return cleaned

    def _chosen(self, name: str):
        """The date the user chose, or None when left empty or as the page filled it in."""
        value = self.cleaned_data[name]
        return None if value == self.cleaned_data[f"default_{name[5:]}"] else value

    def to_filter(self) -> DashboardFilter:
        """The chosen period and series. A date not chosen defaults: the end to today, the
        start to 12 months before the end, or with a series to its first edition (so the
        period holds all its editions). Invalid input falls back to the last 12 months."""
        if not self.is_valid():
            return DashboardFilter.default()
        series_id = self.cleaned_data["series"]
        date_to = self._chosen("date_to") or timezone.localdate()
        date_from = self._chosen("date_from")
        if date_from is not None:
            return DashboardFilter(date_from=date_from, date_to=date_to, series_id=series_id)
        if series_id is not None:
            return DashboardFilter.for_series(series_id, date_to=date_to)
        return DashboardFilter.default(today=date_to)

    def shown_for(self, flt: DashboardFilter) -> "DashboardFilterForm":
        """A fresh form showing the period actually used, defaults filled in and marked as such."""
        chosen_from = self.is_bound and self.is_valid() and self._chosen("date_from") is not None
        chosen_to = self.is_bound and self.is_valid() and self._chosen("date_to") is not None
        return DashboardFilterForm(
            initial={
                "date_from": flt.date_from, "date_to": flt.date_to, "series": flt.series_id,
                "default_from": None if chosen_from else flt.date_from,
                "default_to": None if chosen_to else flt.date_to,
            },
            series=self.fields["series"].choices[1:],
        )


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100


def _percent_text(value: float) -> str:
    """A percentage already scaled to 0–100, as the KPI cards write it: "42 %"."""
    return f"{_number(value)} %"


def _date(moment) -> str:
    """An event's day as the active language writes a short date, the same in charts and tables."""
    return formats.date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT")


def _edition_name(row: dict[str, Any]) -> str:
    return f"{_date(row['starts_at'])} {row['name']}"


def _gaps_note(rows: list[dict[str, Any]], field: str) -> str | None:
    """What a line chart leaves out: the events without a value (the line breaks there)."""
    missing = sum(1 for row in rows if row[field] is None)
    if not missing:
        return None
    return ngettext(
        "%(count)s event has no value here; the line breaks there.",
        "%(count)s events have no value here; the line breaks there.",
        missing,
    ) % {"count": _number(missing)}


def _line(rows: list[dict[str, Any]], field: str, *, scale=None, **options) -> str:
    """A per-event line chart of one field: short dates on the axis, date and name in the tooltips."""
    return line_chart_svg(
        [(_date(row["starts_at"]), row[field] if scale is None or row[field] is None else scale(row[field]))
         for row in rows],
        tooltips=[_edition_name(row) for row in rows], width=CHART_WIDTH, note=_gaps_note(rows, field),
        empty_message=_("No data"), **options,
    )


def _retention_chart(rows: list[dict[str, Any]]) -> str:
    """CRR of each edition with a previous one; the chart says how many events it leaves out."""
    with_crr = [row for row in rows if row["series_retention_rate"] is not None]
    left_out = len(rows) - len(with_crr)
    note = None
    if with_crr and left_out:
        note = ngettext(
            "%(count)s event without a previous edition in its series is not shown.",
            "%(count)s events without a previous edition in their series are not shown.",
            left_out,
        ) % {"count": _number(left_out)}
    points = [(_date(row["starts_at"]), row["series_retention_rate"]) for row in with_crr]
    options = {
        "max_value": 100, "width": CHART_WIDTH, "title": _("Series retention (CRR, %) per edition"),
        "value_format": _percent_text, "note": note, "tooltips": [_edition_name(row) for row in with_crr],
        "empty_message": _("No edition with a previous edition"),
    }
    if len(points) <= COLUMN_CHART_MAX:
        return column_chart_svg(points, **options)
    return line_chart_svg(points, tick_format=_percent_text, **options)


def _won_vs_cost_chart(rows: list[dict[str, Any]]) -> str:
    """Won value and cost of every event of the period, oldest first, with a legend; beyond
    WON_VS_COST_EVENTS events the most recent ones, and the chart says so."""
    if not any(row["won_value"] or row["cost"] for row in rows):
        return grouped_bar_chart_svg([], [], width=CHART_WIDTH, title=_("Won value vs cost per event"),
                                     empty_message=_("No won value or cost recorded"))
    shown = rows[-WON_VS_COST_EVENTS:]
    note = None
    if len(shown) < len(rows):
        note = ngettext(
            "Showing the %(shown)s most recent of %(total)s event; the table below lists them all.",
            "Showing the %(shown)s most recent of %(total)s events; the table below lists them all.",
            len(rows),
        ) % {"shown": _number(len(shown)), "total": _number(len(rows))}

    def money(value, currency: str) -> str:
        return "–" if value is None else f"{_number(value)} {currency}".strip()

    groups = [
        BarGroup(
            label=row["name"], sublabel=_date(row["starts_at"]),
            values=[float(row["won_value"] or 0), None if row["cost"] is None else float(row["cost"])],
            texts=[money(row["won_value"] or 0, row["currency"]), money(row["cost"], row["currency"])],
        )
        for row in shown
    ]
    legend = [LegendEntry(_("Won value"), WON_COLOR), LegendEntry(_("Cost"), COST_COLOR)]
    return grouped_bar_chart_svg(
        groups, legend, width=CHART_WIDTH, label_width=220, title=_("Won value vs cost per event"), note=note,
    )


def _organizations_chart(rows: list[dict[str, Any]]) -> str:
    total = rows[0]["organizations"] if rows else 0
    note = None
    if len(rows) < total:
        note = ngettext(
            "The %(shown)s best of %(total)s organization with scored contacts.",
            "The %(shown)s best of %(total)s organizations with scored contacts.",
            total,
        ) % {"shown": _number(len(rows)), "total": _number(total)}
    return bar_chart_svg(
        [
            (row["name"], row["avg_score"],
             ngettext("%(score)s (%(count)s contact)", "%(score)s (%(count)s contacts)", row["scored_contacts"])
             % {"score": _score(row["avg_score"]), "count": _number(row["scored_contacts"])})
            for row in rows
        ],
        max_value=100, width=CHART_WIDTH, label_width=190, value_width=110,
        title=_("Top organizations by relationship score"), empty_message=_("No scored contacts yet"), note=note,
    )


def dashboard_charts(dashboard: Dashboard) -> dict[str, str]:
    """SVG charts for the dashboard; per-event charts run oldest to newest. Every number is
    written as the active language writes it, every date as its short date format."""
    rows = dashboard.editions
    stages = bar_chart_svg(
        [
            (str(entry["label"]), entry["contacts"],
             _("%(count)s · Ø %(score)s") % {"count": _number(entry["contacts"]), "score": _score(entry["avg_score"])})
            for entry in dashboard.stages
        ],
        width=CHART_WIDTH, value_width=110, value_format=0, title=_("Contacts per lifecycle stage"),
    )
    return {
        "retention": _retention_chart(rows),
        "returning": _line(rows, "returning_share", scale=_percent, max_value=100, value_format=_percent_text,
                           title=_("Returning attendees (%)")),
        "nps": _line(rows, "nps", min_value=-100, max_value=100, value_format=0, title=_("NPS per event")),
        "coverage": _line(rows, "followup_coverage", scale=_percent, max_value=100, value_format=_percent_text,
                          title=_("Follow-up coverage (%)")),
        "won_vs_cost": _won_vs_cost_chart(rows),
        "stages": stages,
        "organizations": _organizations_chart(dashboard.top_organizations),
    }


def _score(value: float | None) -> str:
    return "–" if value is None else formats.number_format(round_half_up(value, 1), 1, use_l10n=True)


def _number(value, decimals: int = 0) -> str:
    """Rounded half away from zero, as on the event page (number_format alone cuts digits off)."""
    return "–" if value is None else localized(value, decimals)


def _signed_number(value, decimals: int = 0) -> str:
    """A change with its sign, "+16.8" as on the event page; 0 counts as "+"."""
    return "–" if value is None else signed(value, decimals)


def _pct(share: float | None, decimals: int = 0) -> str:
    """A share (0–1) as a percentage text."""
    return "–" if share is None else f"{_number(share * 100, decimals)} %"


def kpi_cards(data: Dashboard) -> list[dict[str, str]]:
    """The headline figures of the period, formatted for the cards at the top."""
    summary, follow_ups = data.summary, data.follow_ups
    retention = summary["avg_retention_rate"]
    ror = summary["ror_percent"]
    lift = summary["avg_relationship_lift"]
    # Money is summed as stored; say so when the events of the period use several currencies.
    currencies = sorted({row["currency"] for row in data.editions if row["currency"]})
    currency = currencies[0] if len(currencies) == 1 else ""
    mixed = _("several currencies: %(codes)s") % {"codes": ", ".join(currencies)} if len(currencies) > 1 else ""
    return [
        {"key": "events", "label": _("Completed events"), "value": _number(summary["events"]),
         "hint": ngettext("%(count)s attendee", "%(count)s attendees", summary["attended"])
         % {"count": _number(summary["attended"])}},
        {"key": "returning_share", "label": _("Returning share"), "value": _pct(summary["returning_share"]),
         "hint": _("%(returning)s returning, %(new)s new") % {
             "returning": _number(summary["returning_attendees"]), "new": _number(summary["new_attendees"])}},
        {"key": "retention", "label": _("Series retention (CRR)"),
         "value": "–" if retention is None else f"{_number(retention)} %",
         "hint": ngettext("mean over %(count)s edition", "mean over %(count)s editions", summary["editions_with_retention"])
         % {"count": _number(summary["editions_with_retention"])}},
        {"key": "nps", "label": _("NPS"), "value": _signed_number(summary["nps"]),
         "hint": ngettext("%(count)s answer", "%(count)s answers", summary["feedback_count"])
         % {"count": _number(summary["feedback_count"])}},
        {"key": "coverage", "label": _("Follow-up coverage"), "value": _pct(summary["followup_coverage"]),
         "hint": _("%(share)s within 48 h") % {"share": _pct(summary["followed_up_within_48h_share"])}},
        {"key": "followups_done", "label": _("Follow-ups done"), "value": _number(follow_ups["done"]),
         "hint": ngettext("%(positive)s positive, %(contacts)s contact", "%(positive)s positive, %(contacts)s contacts",
                          follow_ups["contacts"]) % {
             "positive": _number(follow_ups["positive"]), "contacts": _number(follow_ups["contacts"])}},
        {"key": "won_value", "label": _("Won value"), "value": _number(summary["won_value"]), "unit": currency,
         "hint": mixed or _("pipeline %(value)s") % {"value": f"{_number(summary['pipeline_value'])} {currency}".strip()}},
        {"key": "cost", "label": _("Event cost"), "value": _number(summary["cost"]), "unit": currency, "hint": mixed},
        {"key": "ror", "label": _("RoR"), "value": "–" if ror is None else f"{_number(ror)} %",
         "hint": _("(won − cost) / cost")},
        {"key": "lift", "label": _("Relationship lift"),
         "value": _signed_number(lift, 1),
         "hint": _("mean score change per attendee")},
    ]


def edition_rows(data: Dashboard) -> list[dict[str, Any]]:
    """The table below the charts, newest event first."""
    return [
        {
            "event_id": row["event_id"],
            "name": row["name"],
            "series_name": row["series_name"] or "",
            "starts_at": row["starts_at"],
            "attended": _number(row["attended"]),
            "returning": _pct(row["returning_share"]),
            "retention": "–" if row["series_retention_rate"] is None else f"{_number(row['series_retention_rate'])} %",
            "nps": _signed_number(row["nps"]),
            "coverage": _pct(row["followup_coverage"]),
            "won_value": _number(row["won_value"]),
            "cost": _number(row["cost"]),
            "currency": row["currency"],
            "ror": "–" if row["ror_percent"] is None else f"{_number(row['ror_percent'])} %",
            "lift": _signed_number(row["relationship_lift"], 1),
        }
        for row in reversed(data.editions)
    ]


def follow_up_rep_rows(data: Dashboard) -> list[dict[str, Any]]:
    """The rep table: per owner, attendees assigned, share followed up within the deadline,
    median hours to the first follow-up, missed (contacts.deadlines), by name."""
    report = data.follow_up_reps
    if report is None:
        return []
    return [
        {
            "owner": owner.owner_name,
            "assigned": _number(owner.assigned),
            "in_time": _number(owner.followed_up_in_time),
            "in_time_share": _pct(owner.in_time_share),
            "median_hours": _number(owner.median_hours_to_first_follow_up, 1),
            "missed": _number(owner.missed),
            "pending": _number(owner.pending),
        }
        for owner in report.owners
    ]


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied
    series = series_choices()
    form = DashboardFilterForm(request.GET or None, series=series)
    data = build_dashboard(form.to_filter() if form.is_bound else DashboardFilter.default())
    if not form.is_bound or form.is_valid():  # show the period actually used, defaults filled in
        form = form.shown_for(data.filter)
    context = {
        **admin.site.each_context(request),
        "title": _("RoR dashboard"),
        "form": form,
        "dashboard": data,
        "kpis": kpi_cards(data),
        "rows": edition_rows(data),
        "rep_rows": follow_up_rep_rows(data),
        "charts": dashboard_charts(data),
    }
    return render(request, "ror/dashboard.html", context)


# The score validity report ---------------------------------------------------------------

# Who may read it: staff who may view scores (Agency staff and Sales).
VALIDITY_PERMISSION = "scoring.view_contactscore"


def baseline_labels() -> dict[str, str]:
    return {
        "days_since_last_attendance": _("Days since last attendance"),
        "editions_attended": _("Editions of the series attended"),
    }


def component_labels() -> dict[str, str]:
    return {
        "attendance": _("Attendance"), "networking": _("Networking"), "dialogue": _("Dialogue"),
        "care": _("Care"), "advocacy": _("Advocacy"), "recency": _("Recency"),
    }


class ValidityFilterForm(forms.Form):
    series = forms.TypedChoiceField(label=gettext_lazy("Series"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, series: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = [("", _("All series")), *series]

    def series_id(self) -> int | None:
        return self.cleaned_data["series"] if self.is_bound and self.is_valid() else None


def _auc(value: float | None) -> str:
    return _number(value, 3)


def validity_rows(report: ValidityReport) -> list[dict[str, Any]]:
    """One row per group (all series first): counts, the score's AUC beside the baselines' and
    the components'; `best` marks the highest AUC of score and baselines."""
    rows = []
    for group in [report.overall, *report.series] if len(report.series) != 1 else report.series:
        contenders = [group.score_auc, *group.baseline_auc.values()]
        highest = max((value for value in contenders if value is not None), default=None)
        rows.append({
            "name": group.name if group.series_id is not None else _("All series"),
            "overall": group.series_id is None,
            "editions": group.editions, "contacts": _number(group.contacts), "pairs": _number(group.pairs),
            "return_rate": _pct(group.return_rate, 1),
            "score": {"value": _auc(group.score_auc), "best": highest is not None and group.score_auc == highest},
            "baselines": [
                {"value": _auc(group.baseline_auc[name]), "best": highest is not None and group.baseline_auc[name] == highest}
                for name in BASELINES
            ],
            "components": [_auc(group.component_auc[name]) for name in COMPONENTS],
        })
    return rows


def honesty_notes(report: ValidityReport) -> list[str]:
    """Each group where a baseline predicts a return better than the score, said plainly."""
    labels, notes = baseline_labels(), []
    for group in [report.overall, *report.series]:
        if group.series_id is None and len(report.series) == 1:
            continue  # the one series says it already
        for baseline in group.score_beaten_by:
            notes.append(_(
                "%(scope)s: the score predicts a return less well than the baseline “%(baseline)s” "
                "(AUC %(score)s against %(baseline_auc)s)."
            ) % {
                "scope": group.name if group.series_id is not None else _("All series"),
                "baseline": labels[baseline], "score": _auc(group.score_auc),
                "baseline_auc": _auc(group.baseline_auc[baseline]),
            })
    return notes


def calibration_rows(group: ValidityGroup) -> list[dict[str, Any]]:
    return [
        {
            "decile": row.decile, "pairs": _number(row.pairs),
            "range": f"{_score(row.min_score)} – {_score(row.max_score)}", "mean": _score(row.mean_score),
            "return_rate": _pct(row.return_rate, 1), "bar": round(row.return_rate * 100, 1),
        }
        for row in group.calibration
    ]


@staff_member_required
def score_validity(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VALIDITY_PERMISSION):
        raise PermissionDenied
    series = series_choices()
    form = ValidityFilterForm(request.GET or None, series=series)
    report = score_validity_report(series_id=form.series_id())
    if not form.is_bound or not form.is_valid():
        form = ValidityFilterForm(initial={"series": report.series_filter}, series=series)
    context = {
        **admin.site.each_context(request),
        "title": _("Score validity"),
        "form": form,
        "report": report,
        "rows": validity_rows(report),
        "notes": honesty_notes(report),
        "calibration": calibration_rows(report.overall),
        "baseline_labels": [baseline_labels()[name] for name in BASELINES],
        "component_labels": [component_labels()[name] for name in COMPONENTS],
    }
    return render(request, "ror/score_validity.html", context)


@staff_member_required
def next_action_rules(request: HttpRequest) -> HttpResponse:
    """The rules of the next best action, as the computation applies them: a table to read."""
    from scoring.models import KeepInTouchCadence
    from scoring.services.next_action import RULES

    if not request.user.has_perm("scoring.view_contactscore"):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": _("Next best action rules"),
        "rules": [{"action": rule.action.value, "label": rule.action.label, "when": rule.when, "why": rule.why}
                  for rule in RULES],
        "cadences": KeepInTouchCadence.objects.select_related("organization"),
        "can_edit_cadences": request.user.has_perm("scoring.change_keepintouchcadence"),
    }
    return render(request, "ror/next_action_rules.html", context)
