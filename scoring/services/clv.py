"""Customer lifetime value (CLV): what a relationship is expected to bring over a horizon.

CLV = expected attendances at the editions of the contact's series in the horizon (the BG/BB
repeat-behaviour model fitted on the agency's own attendance history, scoring.services.bgbb)
× the value per attendance (won deals ÷ attendances), optionally discounted. Everything as of a
time T, from what was known by T; docs/clv.md has the definitions, the formulas and the limits.

A fit reads the whole history in a fixed number of queries and writes every scored contact's
CLV in chunks, one conditional upsert per chunk (never one per contact).
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from contacts.choices import DealStatus, FollowUpStatus
from contacts.models import FollowUp
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event
from ror_crm.db import array_literal, sql_moment
from scoring.formatting import round_half_up
from scoring.models import ClvModel, ContactLifetimeValue, ContactScore, EventMetrics
from scoring.services.bgbb import (
    BgBbParameters,
    ClvFitError,
    alive_sum,
    alive_weighted_sum,
    expected_attendances,
    fit_bgbb,
)

DAYS_PER_YEAR = 365.25
# A series with no edition planned whose last edition lies more than this many cadences back
# has ended: it expects no more editions (and its attendees no more attendances).
SERIES_ENDED_AFTER_CADENCES = 2
FETCH_ROWS = 50_000


def horizon_years_setting() -> float:
    return float(getattr(settings, "CLV_HORIZON_YEARS", 3.0))


def discount_rate_setting() -> float:
    return float(getattr(settings, "CLV_ANNUAL_DISCOUNT_RATE", 0.0))


def chunk_size_setting() -> int:
    return int(getattr(settings, "SCORING_CHUNK_SIZE", 5000))


# Value per attendance ----------------------------------------------------------------------

@dataclass(frozen=True)
class CurrencyValue:
    currency: str
    won_value: Decimal
    attendances: int

    @property
    def value_per_attendance(self) -> Decimal | None:
        if not self.attendances:
            return None
        return round_half_up(self.won_value / self.attendances, 2)

    def as_json(self) -> dict:
        value = self.value_per_attendance
        return {"won_value": str(self.won_value), "attendances": self.attendances,
                "value_per_attendance": None if value is None else str(value)}


def value_per_attendance(as_of: datetime) -> dict[str, CurrencyValue]:
    """Per currency (the events'): won deal value ÷ attendances, over every event completed by T.

    Won value: follow-ups with deal status won and a deal value whose origin event was completed
    by T, created or done by T (as the events' won value, DOMAIN.md); attendances: status
    attended at those events. The product records no ticket revenue, so won deals are the value.
    Two queries."""
    completed = Q(event__status=EventStatus.COMPLETED, event__completed_at__lte=as_of)
    known = Q(created_at__lte=as_of) | Q(status=FollowUpStatus.DONE, completed_at__lte=as_of)
    won = dict(
        FollowUp.objects.filter(completed, known, deal_status=DealStatus.WON, deal_value__isnull=False)
        .values_list("event__currency").annotate(total=Sum("deal_value")).order_by()
    )
    attended = dict(
        Attendance.objects.filter(completed, status=AttendanceStatus.ATTENDED)
        .values_list("event__currency").annotate(count=Count("id")).order_by()
    )
    return {
        currency: CurrencyValue(currency, won.get(currency) or Decimal("0.00"), attended.get(currency, 0))
        for currency in sorted(set(won) | set(attended))
    }


def main_currency(values: dict[str, CurrencyValue]) -> str | None:
    """The currency of most attendances (ties: alphabetical): the one contacts' CLV is given in."""
    counted = [value for value in values.values() if value.attendances]
    return min(counted, key=lambda value: (-value.attendances, value.currency)).currency if counted else None


# Editions expected in the horizon -------------------------------------------------------------

def future_editions(as_of: datetime, horizon_years: float) -> dict[int, list[datetime]]:
    """Per series, the dates of its editions expected in (T, T + horizon]. One query.

    Known editions first: events of the series not cancelled, not completed by T, not over by T,
    created by T (planned or live), starting within the horizon. Beyond the last known edition
    (completed or planned), the series' cadence continues: the median gap between the starts
    of its editions, every `cadence` days while within the horizon; an edition already due by
    T counts at T. A series with a single edition has no cadence (only its planned editions
    count), and one with none planned whose last edition lies more than two cadences back has
    ended."""
    end = as_of + timedelta(days=horizon_years * DAYS_PER_YEAR)
    editions: dict[int, tuple[list[datetime], list[datetime]]] = {}
    rows = (
        Event.objects.filter(series__isnull=False).exclude(status=EventStatus.CANCELLED)
        .order_by("series_id", "starts_at", "id")
        .values_list("series_id", "starts_at", "ends_at", "status", "completed_at", "created_at")
    )
    for series_id, starts_at, ends_at, status, completed_at, created_at in rows:
        past, planned = editions.setdefault(series_id, ([], []))
        if status == EventStatus.COMPLETED and completed_at <= as_of:
            past.append(starts_at)
        elif ends_at > as_of and created_at <= as_of:
            planned.append(starts_at)
    outlook = {}
    for series_id, (past, planned) in editions.items():
        starts = sorted(set(past + planned))
        dates = [max(start, as_of) for start in planned if start <= end]
        gaps = [(later - earlier).total_seconds() / 86400 for earlier, later in zip(starts, starts[1:], strict=False)]
        if gaps:
            cadence = timedelta(days=max(1.0, median(gaps)))
            last = starts[-1]
            if planned or last >= as_of - SERIES_ENDED_AFTER_CADENCES * cadence:
                moment = max(last + cadence, as_of)
                while moment <= end:
                    dates.append(moment)
                    moment += cadence
        if past or dates:
            outlook[series_id] = dates
    return outlook


def discount_weights(dates: list[datetime], as_of: datetime, rate: float) -> list[float]:
    """(1 + rate) ** −(years from T to the edition): what an attendance then is worth now."""
    return [(1 + rate) ** -((moment - as_of).total_seconds() / 86400 / DAYS_PER_YEAR) for moment in dates]


# Histories --------------------------------------------------------------------------------------

@dataclass
class Histories:
    """Per (contact, series): x, t_x, n over the series' editions completed by T after the
    contact's first attended one (arrays of equal length)."""

    contact_id: np.ndarray
    series_id: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    n: np.ndarray

    def grouped(self) -> list[tuple[int, int, int, int]]:
        """(x, t_x, n, count) of the histories with n ≥ 1: what the fit reads."""
        keep = self.n >= 1
        if not keep.any():
            return []
        triples, inverse = _unique_rows(np.column_stack([self.x[keep], self.t_x[keep], self.n[keep]]))
        counts = np.bincount(inverse, minlength=len(triples))
        return [(int(x), int(t_x), int(n), int(count)) for (x, t_x, n), count in zip(triples, counts, strict=True)]


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(rows, axis=0, return_inverse=True) for rows of non-negative integers, through one
    int64 key per row: a 1-D sort instead of a sort of rows (seconds at half a million)."""
    bases = rows.max(axis=0) + 1 if len(rows) else np.ones(rows.shape[1], dtype=np.int64)
    if float(np.prod(bases.astype(float))) >= 2.0**62:
        distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
        return distinct, inverse.reshape(-1)
    keys = np.zeros(len(rows), dtype=np.int64)
    for column, base in enumerate(bases):
        keys = keys * int(base) + rows[:, column]
    _keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)


def _histories_sql(contact_filter: str = "") -> str:
    event = connection.ops.quote_name(Event._meta.db_table)
    attendance = connection.ops.quote_name(Attendance._meta.db_table)
    # The editions of each series completed by T, numbered by start; per (contact, series) the
    # first and last attended edition's number and the editions attended.
    return f"""
        WITH editions AS (
            SELECT id, series_id,
                   ROW_NUMBER() OVER (PARTITION BY series_id ORDER BY starts_at, id) AS number,
                   COUNT(*) OVER (PARTITION BY series_id) AS total
            FROM {event}
            WHERE series_id IS NOT NULL AND status = %(completed)s AND completed_at <= %(as_of)s
        )
        SELECT a.contact_id, e.series_id, COUNT(*) - 1 AS x, MAX(e.number) - MIN(e.number) AS t_x,
               MAX(e.total) - MIN(e.number) AS n
        FROM {attendance} a JOIN editions e ON e.id = a.event_id
        WHERE a.status = %(attended)s {contact_filter}
        GROUP BY a.contact_id, e.series_id
    """


def _params(as_of: datetime, **extra) -> dict:
    return {"completed": EventStatus.COMPLETED, "attended": AttendanceStatus.ATTENDED, "as_of": sql_moment(as_of),
            **extra}


def load_histories(as_of: datetime, *, contact_filter: str = "", params: dict | None = None) -> Histories:
    """Every (contact, series) history as of T, optionally only for contacts matching a SQL
    condition on `a.contact_id`. One query, read in batches into arrays."""
    batches = []
    with connection.cursor() as cursor:
        cursor.execute(_histories_sql(contact_filter), _params(as_of, **(params or {})))
        while rows := cursor.fetchmany(FETCH_ROWS):
            batches.append(np.asarray(rows, dtype=np.int64))
    data = np.concatenate(batches) if batches else np.zeros((0, 5), dtype=np.int64)
    return Histories(*(data[:, column] for column in range(5)))


def load_grouped_histories(as_of: datetime) -> list[tuple[int, int, int, int]]:
    """(x, t_x, n, count) over every history with n ≥ 1, counted in the database. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x, t_x, n, COUNT(*) FROM ({_histories_sql()}) h WHERE n >= 1 GROUP BY x, t_x, n",
            _params(as_of),
        )
        return [tuple(map(int, row)) for row in cursor.fetchall()]


# The fit -----------------------------------------------------------------------------------

@dataclass
class ClvFit:
    """A fitted model as of T, in memory: parameters, value per attendance, editions ahead."""

    as_of: datetime
    params: BgBbParameters
    pairs: int
    values: dict[str, CurrencyValue]
    editions_ahead: dict[int, list[datetime]]
    horizon_years: float
    discount_rate: float
    _ratios: dict[tuple[int, int], float] = field(default_factory=dict)

    def expected(self, histories: Histories) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per contact (sorted ids): the expected attendances in the horizon, summed over their
        series, undiscounted and discounted. Computed once per distinct (series, x, t_x, n)."""
        if not len(histories.contact_id):
            empty = np.zeros(0)
            return np.zeros(0, dtype=np.int64), empty, empty
        keys = np.column_stack([histories.series_id, histories.x, histories.t_x, histories.n])
        distinct, inverse = _unique_rows(keys)
        ahead = np.array([len(self.editions_ahead.get(int(series_id), ())) for series_id in distinct[:, 0]])
        with np.errstate(over="ignore", under="ignore"):
            plain = expected_attendances(self.params, distinct[:, 1], distinct[:, 2], distinct[:, 3], ahead)
        plain = np.where(ahead > 0, plain, 0.0)
        if not np.isfinite(plain).all():
            raise ClvFitError("not_finite", "The fitted model gives no finite expectation for some histories.")
        discounted = plain * np.array([self._discount_ratio(int(s), int(n)) for s, n in distinct[:, [0, 3]]])
        contacts, owner = np.unique(histories.contact_id, return_inverse=True)
        inverse = inverse.reshape(-1)
        return (contacts, np.bincount(owner, weights=plain[inverse], minlength=len(contacts)),
                np.bincount(owner, weights=discounted[inverse], minlength=len(contacts)))

    def _discount_ratio(self, series_id: int, n: int) -> float:
        """Discounted ÷ undiscounted expectation of a series' editions ahead, for a history of n."""
        dates = self.editions_ahead.get(series_id) or []
        if not self.discount_rate or not dates:
            return 1.0
        if (series_id, n) not in self._ratios:
            weights = discount_weights(dates, self.as_of, self.discount_rate)
            plain = float(alive_sum(self.params, n, len(dates)))
            self._ratios[series_id, n] = alive_weighted_sum(self.params, n, weights) / plain if plain > 0 else 1.0
        return self._ratios[series_id, n]


def fit_clv(as_of: datetime, *, grouped: list[tuple[int, int, int, int]] | None = None,
            horizon_years: float | None = None, discount_rate: float | None = None) -> ClvFit:
    """The model as of T: BG/BB fitted on every history known by T (`grouped` when already read),
    the value per attendance and each series' editions ahead. Raises ClvFitError."""
    grouped = load_grouped_histories(as_of) if grouped is None else grouped
    params = fit_bgbb(grouped)
    horizon_years = horizon_years_setting() if horizon_years is None else horizon_years
    return ClvFit(
        as_of=as_of, params=params, pairs=sum(row[3] for row in grouped if row[2] >= 1),
        values=value_per_attendance(as_of), editions_ahead=future_editions(as_of, horizon_years),
        horizon_years=horizon_years,
        discount_rate=discount_rate_setting() if discount_rate is None else discount_rate,
    )


def refit_clv(*, as_of: datetime | None = None, chunk_size: int | None = None,
              events: Iterable[int] = ()) -> ClvModel | None:
    """Fit the model as of T (default now), store it (ClvModel) and write every scored
    contact's CLV, currency and expected attendances, in chunks; then fill the CLV figures of
    `events`' metrics computed as of T (store_event_clv_return) with the same fit.

    None (and nothing written) when a fit with a later as-of is already stored. Without any
    repeat opportunity in the data (no contact has an edition after their first), there is no
    model: every CLV is cleared and None returned. Raises ClvFitError when the fit does not
    converge (the stored figures stay). Seven queries, plus one per chunk of contacts.
    """
    as_of = as_of or timezone.now()
    if ClvModel.objects.filter(as_of__gt=as_of).exists():
        for event_id in events:  # the events still get their figures as of T, from a fit of their own
            store_event_clv_return(event_id, as_of)
        return None
    histories = load_histories(as_of)
    grouped = histories.grouped()
    if not grouped:
        ContactLifetimeValue.objects.filter(as_of__lte=as_of).delete()
        return None  # no model: the events' CLV figures stay null
    fit = fit_clv(as_of, grouped=grouped)
    for event_id in events:
        store_event_clv_return(event_id, as_of, fit=fit)
    currency = main_currency(fit.values) or ""
    value = fit.values[currency].value_per_attendance if currency else None
    contacts, plain, discounted = fit.expected(histories)
    written = write_contact_clv(contacts, plain, discounted, value or Decimal("0.00"), currency, as_of,
                                chunk_size=chunk_size or chunk_size_setting())
    won = fit.values[currency] if currency else CurrencyValue("", Decimal("0.00"), 0)
    return ClvModel.objects.create(
        fitted_at=timezone.now(), as_of=as_of, alpha=fit.params.alpha, beta=fit.params.beta, gamma=fit.params.gamma,
        delta=fit.params.delta, log_likelihood=fit.params.log_likelihood, pairs=fit.pairs, contacts=written,
        series=len(set(histories.series_id.tolist())), currency=currency, value_per_attendance=value or Decimal("0.00"),
        won_value=won.won_value, attendances=won.attendances,
        value_by_currency={code: item.as_json() for code, item in fit.values.items()},
        future_editions={str(series_id): len(dates) for series_id, dates in sorted(fit.editions_ahead.items())},
        horizon_years=fit.horizon_years, annual_discount_rate=fit.discount_rate,
    )


def write_contact_clv(contacts: np.ndarray, plain: np.ndarray, discounted: np.ndarray, value: Decimal,
                      currency: str, as_of: datetime, *, chunk_size: int) -> int:
    """Store every scored contact's CLV = discounted expected attendances × value per attendance,
    its currency and the (undiscounted) expected attendances as of T (ContactLifetimeValue), in
    chunks of contacts, one conditional upsert per chunk: a row from a later fit is never
    overwritten by an older one. Contacts without any series history get nulls. Returns how many
    contacts got a CLV."""
    scored = np.fromiter(ContactScore.objects.order_by("contact_id").values_list("contact_id", flat=True),
                         dtype=np.int64)
    where = np.minimum(np.searchsorted(contacts, scored), max(len(contacts) - 1, 0))
    found = (contacts[where] == scored) if len(contacts) else np.zeros(len(scored), dtype=bool)
    money = np.round(discounted[where] * float(value), 2) if len(contacts) else np.zeros(len(scored))
    attendances = np.round(plain[where], 6) if len(contacts) else np.zeros(len(scored))
    for start in range(0, len(scored), chunk_size):
        part = slice(start, start + chunk_size)
        rows = [
            (int(contact_id), float(clv), float(expected)) if hit else (int(contact_id), None, None)
            for contact_id, hit, clv, expected in zip(scored[part], found[part], money[part], attendances[part],
                                                     strict=True)
        ]
        _upsert_rows(rows, currency, as_of)
    return int(found.sum())


def _upsert_rows(rows: list[tuple[int, float | None, float | None]], currency: str, as_of: datetime) -> None:
    table = connection.ops.quote_name(ContactLifetimeValue._meta.db_table)
    columns = "contact_id, clv, clv_currency, expected_attendances, as_of"
    # The currency only beside a CLV; an older fit arriving late leaves a newer one's rows alone.
    conflict = (
        "ON CONFLICT (contact_id) DO UPDATE SET clv = excluded.clv, clv_currency = excluded.clv_currency, "
        "expected_attendances = excluded.expected_attendances, as_of = excluded.as_of "
        f"WHERE {table}.as_of <= excluded.as_of"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, clvs, expected = zip(*rows, strict=True)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "
                "SELECT v.contact_id, v.clv, CASE WHEN v.clv IS NULL THEN '' ELSE %s END, v.expected, %s "
                "FROM unnest(%s::bigint[], %s::numeric[], %s::double precision[]) AS v(contact_id, clv, expected) "
                + conflict,
                [currency, as_of, array_literal(list(ids)), array_literal(list(clvs)), array_literal(list(expected))],
            )
            return
        # SQLite: the rows as one JSON parameter, whatever their number ("WHERE true": SQLite's
        # parser needs it between INSERT … SELECT and ON CONFLICT).
        cursor.execute(
            f"INSERT INTO {table} ({columns}) "
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
            "CASE WHEN json_extract(value, '$[1]') IS NULL THEN '' ELSE %s END, json_extract(value, '$[2]'), %s "
            "FROM json_each(%s) WHERE true " + conflict,
            [currency, sql_moment(as_of), json.dumps(rows)],
        )


# The seed's ROI per event -----------------------------------------------------------------

def clv_ror_percent(clv: Decimal | None, retained: int | None, cost: Decimal | None) -> float | None:
    """((CLV × retained) − cost) / cost × 100 (seed 004); null without a CLV, retained or cost.
    Worked check: CLV 2,500, 200 retained, cost 50,000 → 900 %."""
    if clv is None or retained is None or cost is None or cost == 0:
        return None
    return float((clv * retained - cost) / cost * 100)


@dataclass(frozen=True)
class EventClvReturn:
    retained_attendees: int | None = None
    retained_clv: Decimal | None = None
    clv_ror_percent: float | None = None


def event_clv_return(
    event: Event, previous: Event | None, retained: int | None, as_of: datetime, *, fit: ClvFit | None = None
) -> EventClvReturn:
    """The event's ROI with CLV, exactly as of T: `retained` = how many attendees also attended
    the previous edition (E − N of the retention rate; None without a previous edition); CLV =
    the mean of their CLVs as of T, from `fit`, the model fitted on the history known by T
    (fitted here when not given), in the event's currency (its value per attendance). Nulls
    where a figure is missing (no retained attendee, no attendance value in the currency, no
    model). A fixed number of queries."""
    if previous is None or retained is None:
        return EventClvReturn()
    if not retained:
        return EventClvReturn(retained_attendees=0)
    try:
        fit = fit or fit_clv(as_of)
    except ClvFitError:
        return EventClvReturn(retained_attendees=retained)
    value = fit.values.get(event.currency)
    per_attendance = value.value_per_attendance if value else None
    if per_attendance is None:
        return EventClvReturn(retained_attendees=retained)
    attendance = connection.ops.quote_name(Attendance._meta.db_table)
    attended_at = f"SELECT contact_id FROM {attendance} WHERE status = %(attended)s AND event_id = "
    both = f"AND a.contact_id IN ({attended_at}%(event)s) AND a.contact_id IN ({attended_at}%(previous)s)"
    histories = load_histories(as_of, contact_filter=both, params={"event": event.pk, "previous": previous.pk})
    _contacts, _plain, discounted = fit.expected(histories)
    # Every retained attendee has a history (they attended two completed editions); the mean over
    # all of them, in case one was not completed by T.
    mean_clv = round_half_up(math.fsum(discounted) / retained * float(per_attendance), 2)
    return EventClvReturn(retained_attendees=retained, retained_clv=mean_clv,
                          clv_ror_percent=clv_ror_percent(mean_clv, retained, event.cost))


def store_event_clv_return(event_id: int, as_of: datetime, *, fit: ClvFit | None = None) -> bool:
    """Fill the CLV figures (`retained_clv`, `clv_ror_percent`) of the event's metrics computed as
    of T without them (the event recompute leaves them to the CLV fit that follows it: the fit
    reads every history of the base, seconds at a million contacts), from `fit`, the model as of
    T (fitted here when not given). False, and nothing written, when the metrics are gone or were
    computed again for another time since (that computation brings its own)."""
    metrics = (EventMetrics.objects.filter(event_id=event_id, computed_at=as_of)
               .select_related("event", "previous_edition").first())
    if metrics is None:
        return False
    clv_return = event_clv_return(metrics.event, metrics.previous_edition, metrics.retained_attendees, as_of, fit=fit)
    return bool(EventMetrics.objects.filter(pk=metrics.pk, computed_at=as_of).update(
        retained_clv=clv_return.retained_clv, clv_ror_percent=clv_return.clv_ror_percent))
