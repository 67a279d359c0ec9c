"""Writing computed scores: one conditional upsert per chunk, snapshots only for changes.

On PostgreSQL each write is one statement per chunk whatever its size, with a column of
values per parameter (`INSERT … SELECT * FROM unnest(%s::type[], …)`): a chunk's 42,000
values then cost 21 parameters instead of 42,000 placeholders for the driver to parse and
bind one by one. Elsewhere (SQLite) multi-row VALUES and bulk_create() do the same job.
"""

import json
import time
from datetime import datetime
from functools import cache
from typing import Any

from django.db import OperationalError, connection, models, transaction
from django.utils import timezone

from contacts.models import Contact
from events.models import Event
from ror_crm.db import array_literal
from scoring.models import ContactScore, ScoreSnapshot
from scoring.services.contact_scores import DECAYING_SUMS, ScoreResult, decay_factor

SNAPSHOT_COLUMNS = [
    "contact_id", "score", "previous_score", "components", "stage", "computed_at", "trigger", "trigger_event_id",
    "profile_version", "created_at", "updated_at",
]
SCORE_COLUMNS = [
    "contact_id", "score", "components", "stage", "churn_risk", "events_invited", "events_registered",
    "events_attended", "no_shows", "show_rate", "series_attended", "is_returning", "first_attended_at",
    "last_attended_at", "current_streak", "longest_streak", "avg_days_between_attendances", "last_touch_at",
    "computed_at", "profile_version", "attended_raw", "no_show_raw", "care_weight", "care_hits", "networking_raw",
    "dialogue_raw", "referral_raw", "latest_nps", "cadence_days", "cadence_source", "next_touch_due", "next_action",
    "next_action_reason", "next_action_figures", "churn_reference_score", "churn_reference_until", "updated_at",
]
# What decay alone leaves as it is: a change in any of these is a change of data or profile.
STEADY_COLUMNS = (
    "events_invited", "events_registered", "events_attended", "no_shows", "series_attended", "first_attended_at",
    "last_attended_at", "current_streak", "longest_streak", "last_touch_at", "latest_nps", "profile_version",
)
# What a contact's worklist shows: a change moves the row's updated_at (no snapshot).
ACTION_COLUMNS = ("cadence_days", "next_touch_due", "next_action")
# Two sums that differ by less than this (relative) are the same sum decayed: float rounding.
DECAY_TOLERANCE = 1e-9
# PostgreSQL takes at most 65,535 parameters per statement; SQLite reports its own limit.
MAX_QUERY_PARAMS = 65535
# A chunk finding one of its contacts locked (edited, deleted, or written by another chunk)
# tries again after a pause doubling from 0.05 s: it gives way for about 13 s in all.
LOCK_ATTEMPTS = 8
FIRST_LOCK_PAUSE_SECONDS = 0.05


@cache
def _score_fields() -> list[Any]:
    return [ContactScore._meta.get_field(column.removesuffix("_id") if column == "contact_id" else column)
            for column in SCORE_COLUMNS]


def _db_values(result: ScoreResult, updated_at: datetime) -> list[Any]:
    # Attributes read directly: dataclasses.asdict() deep-copies every result, for nothing.
    return [
        model_field.get_db_prep_save(updated_at if column == "updated_at" else getattr(result, column), connection)
        for column, model_field in zip(SCORE_COLUMNS, _score_fields(), strict=True)
    ]


def _unnest_insert(model: type[models.Model], columns: list[str], rows: list[list[Any]]) -> tuple[str, list[Any]]:
    """PostgreSQL: `INSERT INTO table (columns) SELECT * FROM unnest(%s::type[], …)` and its
    parameters, one per column, each an array literal in text (array_literal()). A JSON column
    goes as one JSON array, split in the database: quoting thousands of documents one by one
    as array elements would cost more than the rest of the statement. (JSON columns written
    here are never SQL NULL.)"""
    fields = [model._meta.get_field(column) for column in columns]
    params: list[Any] = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in columns]
    casts = []
    for index, model_field in enumerate(fields):
        if isinstance(model_field, models.JSONField):
            params[index] = json.dumps(params[index], cls=model_field.encoder)
            casts.append("ARRAY(SELECT e.value FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e ORDER BY e.ordinality)")
        else:
            params[index] = array_literal(params[index])
            casts.append(f"%s::{model_field.db_type(connection)}[]")
    quote = connection.ops.quote_name
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(quote, columns))}) SELECT * FROM unnest({', '.join(casts)})"
    return sql, params


def _upsert_scores(results: list[ScoreResult], updated_at: dict[int, datetime]) -> set[int]:
    """INSERT … ON CONFLICT DO UPDATE … WHERE stored.computed_at <= new.computed_at.

    The condition makes a late, older result lose against a newer one, on PostgreSQL and
    SQLite alike. `updated_at` gives each contact's row its updated_at. Returns the contacts
    whose rows this call actually wrote.
    """
    table = connection.ops.quote_name(ContactScore._meta.db_table)
    quoted = [connection.ops.quote_name(column) for column in SCORE_COLUMNS]
    updates = ", ".join(f"{column} = excluded.{column}" for column in quoted[1:])
    computed_at = connection.ops.quote_name("computed_at")
    on_conflict = (
        f"ON CONFLICT ({quoted[0]}) DO UPDATE SET {updates} "
        f"WHERE {table}.{computed_at} <= excluded.{computed_at} "
        f"RETURNING {quoted[0]}"
    )
    if connection.vendor == "postgresql":
        rows = [
            [getattr(result, column) for column in SCORE_COLUMNS[:-1]] + [updated_at[result.contact_id]]
            for result in results
        ]
        sql, params = _unnest_insert(ContactScore, SCORE_COLUMNS, rows)
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} {on_conflict}", params)
            return {contact_id for (contact_id,) in cursor.fetchall()}
    max_params = connection.features.max_query_params or MAX_QUERY_PARAMS
    rows_per_statement = max(1, max_params // len(SCORE_COLUMNS))
    row_sql = "(" + ", ".join(["%s"] * len(SCORE_COLUMNS)) + ")"
    written: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(results), rows_per_statement):
            batch = results[start : start + rows_per_statement]
            params = [value for result in batch for value in _db_values(result, updated_at[result.contact_id])]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(quoted)}) VALUES {', '.join([row_sql] * len(batch))} {on_conflict}",
                params,
            )
            written.update(contact_id for (contact_id,) in cursor.fetchall())
    return written


def _stored_scores(contact_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored scores of these contacts, as far as deciding what a new result changes needs."""
    columns = (
        "contact_id", "score", "stage", "churn_risk", "computed_at", "updated_at", *STEADY_COLUMNS, *DECAYING_SUMS,
        *ACTION_COLUMNS,
    )
    rows = ContactScore.objects.filter(contact_id__in=contact_ids).order_by().values_list(*columns)
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


def data_changed(stored: dict[str, Any], result: ScoreResult, half_life_days: float) -> bool:
    """Whether the result differs from the stored score by more than decay: new, changed or
    removed data, or another profile. While data stays the same, each sum is the stored one
    times the decay between the two as-of times (scoring.services.contact_scores.decayed_score())."""
    if any(stored[column] != getattr(result, column) for column in STEADY_COLUMNS):
        return True
    factor = decay_factor(result.computed_at, stored["computed_at"], half_life_days)
    return any(
        abs(stored[name] * factor - getattr(result, name)) > DECAY_TOLERANCE * max(1.0, abs(getattr(result, name)))
        for name in DECAYING_SUMS
    )


def _insert_snapshots(rows: list[list[Any]]) -> None:
    """Rows of SNAPSHOT_COLUMNS values: one statement on PostgreSQL, bulk_create() elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        sql, params = _unnest_insert(ScoreSnapshot, SNAPSHOT_COLUMNS, rows)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    ScoreSnapshot.objects.bulk_create(ScoreSnapshot(**dict(zip(SNAPSHOT_COLUMNS, row, strict=True))) for row in rows)


class ContactsLocked(Exception):
    """Another transaction holds one of the chunk's contacts."""


def _lock_contacts(contact_ids: list[int]) -> set[int]:
    """The ids of these contacts that still exist, locked until commit.

    The lock serialises concurrent writers of the same contacts, so two recomputes at once
    cannot both take a contact's old score as "before" (and snapshot it twice), and keeps a
    contact from being deleted under the write: one deleted by another request while the
    chunk was computed drops out instead of failing the write with a foreign-key violation.

    PostgreSQL: row locks FOR NO KEY UPDATE, NOWAIT. Row locks live in the rows, not in the
    server's shared lock table, which a chunk's thousands of advisory locks per worker ran
    out ("out of shared memory") once a few workers wrote at once. Inserting rows that refer
    to a contact is not blocked; editing it is, until the chunk commits. NOWAIT: a chunk
    that finds a contact locked raises ContactsLocked instead of waiting, so it never holds
    some contacts while waiting for others, which could deadlock with a request editing
    several (save_scores() tries again). SQLite runs one writer at a time.
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Contact._meta.db_table)
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) FOR NO KEY UPDATE NOWAIT",
                    [array_literal(contact_ids)],
                )
                return {pk for (pk,) in cursor.fetchall()}
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
                raise ContactsLocked from error
            raise
    return set(Contact.objects.filter(pk__in=contact_ids).values_list("pk", flat=True))


def _event_exists(event_id: int) -> bool:
    """Whether the triggering event still exists, kept from deletion until commit. PostgreSQL:
    FOR KEY SHARE, which a deletion waits for and neither edits nor the event's other chunks
    (writing at the same time) do."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Event._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [event_id])
            return cursor.fetchone() is not None
    return Event.objects.filter(pk=event_id).exists()


def save_scores(
    results: list[ScoreResult], *, trigger: str, trigger_event_id: int | None = None, half_life_days: float | None = None
) -> list[dict[str, Any]]:
    """Store a chunk's results; snapshot and report the contacts whose score changed through
    their data or the profile, or whose stage or churn risk changed.

    History grows with events, not days: decay alone moves a stored score but writes no
    snapshot and leaves the row's updated_at (and so the contact's) as it was, so partners
    syncing by `updated_since` see what changed in substance. `half_life_days` is the profile's
    (default: the active one's).
    """
    if not results:
        return []
    if half_life_days is None:
        from scoring.services.profile import active_parameters

        half_life_days = active_parameters().half_life_days
    attempts = 0
    while True:
        try:
            return _save_scores(results, trigger=trigger, trigger_event_id=trigger_event_id, half_life_days=half_life_days)
        except ContactsLocked:
            attempts += 1
            if attempts == LOCK_ATTEMPTS:
                raise
            time.sleep(FIRST_LOCK_PAUSE_SECONDS * 2 ** (attempts - 1))


def _save_scores(
    results: list[ScoreResult], *, trigger: str, trigger_event_id: int | None, half_life_days: float
) -> list[dict[str, Any]]:
    contact_ids = sorted(result.contact_id for result in results)
    with transaction.atomic():
        existing = _lock_contacts(contact_ids)
        results = [result for result in results if result.contact_id in existing]
        if trigger_event_id is not None and not _event_exists(trigger_event_id):
            trigger_event_id = None
        now = timezone.now()
        stored = _stored_scores(contact_ids)  # read under the contacts' locks: no other writer in between
        updated_at, snapshot = {}, set()
        for result in results:
            before = stored.get(result.contact_id)
            material = before is None or data_changed(before, result, half_life_days)
            moved = material or any(
                before[column] != getattr(result, column) for column in ("stage", "churn_risk", *ACTION_COLUMNS)
            )
            updated_at[result.contact_id] = now if moved else before["updated_at"]
            if (material and (before is None or before["score"] != result.score)) or (
                before is not None and (before["stage"], before["churn_risk"]) != (result.stage, result.churn_risk)
            ):
                snapshot.add(result.contact_id)
                # this snapshot is the first after the churn lookback if there was none yet
                result.churn_reference_until = result.churn_reference_until or result.computed_at
        written = _upsert_scores(results, updated_at)
        if written:  # every contact written, not only the first scores: a flag left set heals too
            Contact.objects.filter(pk__any_of=list(written), never_scored=True).update(never_scored=False)
        changes, snapshots = [], []
        for result in results:
            if result.contact_id not in written or result.contact_id not in snapshot:
                continue
            before = stored.get(result.contact_id) or {"score": None, "stage": None, "churn_risk": None}
            snapshots.append([  # SNAPSHOT_COLUMNS
                result.contact_id, result.score, before["score"], result.components, str(result.stage),
                result.computed_at, str(trigger), trigger_event_id, result.profile_version, now, now,
            ])
            changes.append({
                "contact_id": result.contact_id, "score": result.score, "previous_score": before["score"],
                "stage": result.stage, "previous_stage": before["stage"], "computed_at": result.computed_at.isoformat(),
            })
        _insert_snapshots(snapshots)
    return changes
