"""Writing computed scores: one conditional upsert per chunk, snapshots only for changes."""

from dataclasses import asdict
from typing import Any

from django.db import connection, transaction

from scoring.models import ContactScore, ScoreSnapshot
from scoring.services.contact_scores import ScoreResult

SCORE_COLUMNS = [
    "contact_id", "score", "components", "stage", "churn_risk", "events_invited", "events_registered",
    "events_attended", "no_shows", "show_rate", "series_attended", "is_returning", "first_attended_at",
    "last_attended_at", "current_streak", "longest_streak", "avg_days_between_attendances", "last_touch_at",
    "computed_at", "profile_version", "updated_at",
]
# PostgreSQL takes at most 65,535 parameters per statement; SQLite reports its own limit.
MAX_QUERY_PARAMS = 65535
# High 32 bits of the advisory-lock keys on contact ids ("RoRs"), apart from other users' keys.
ADVISORY_LOCK_NAMESPACE = 0x526F5273


def _db_values(result: ScoreResult, now) -> list[Any]:
    values = asdict(result)
    values["updated_at"] = now
    row = []
    for column in SCORE_COLUMNS:
        model_field = ContactScore._meta.get_field(column.removesuffix("_id") if column == "contact_id" else column)
        row.append(model_field.get_db_prep_save(values[column], connection))
    return row


def _upsert_scores(results: list[ScoreResult], now) -> set[int]:
    """INSERT … ON CONFLICT DO UPDATE … WHERE stored.computed_at <= new.computed_at.

    The condition makes a late, older result lose against a newer one, on PostgreSQL and
    SQLite alike; RETURNING tells which rows this call actually wrote.
    """
    table = connection.ops.quote_name(ContactScore._meta.db_table)
    quoted = [connection.ops.quote_name(column) for column in SCORE_COLUMNS]
    updates = ", ".join(f"{column} = excluded.{column}" for column in quoted[1:])
    max_params = connection.features.max_query_params or MAX_QUERY_PARAMS
    rows_per_statement = max(1, max_params // len(SCORE_COLUMNS))
    row_sql = "(" + ", ".join(["%s"] * len(SCORE_COLUMNS)) + ")"
    computed_at = connection.ops.quote_name("computed_at")
    written: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(results), rows_per_statement):
            batch = results[start : start + rows_per_statement]
            params = [value for result in batch for value in _db_values(result, now)]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(quoted)}) VALUES {', '.join([row_sql] * len(batch))} "
                f"ON CONFLICT ({quoted[0]}) DO UPDATE SET {updates} "
                f"WHERE {table}.{computed_at} <= excluded.{computed_at} "
                f"RETURNING {quoted[0]}",
                params,
            )
            written.update(row[0] for row in cursor.fetchall())
    return written


def _lock_contacts(contact_ids: list[int]) -> None:
    """Serialise concurrent writers of the same contacts until commit, so two recomputes at
    once cannot both take a contact's old score as "before" (and snapshot it twice).

    PostgreSQL: transaction-level advisory locks, taken in id order (no deadlock between two
    overlapping chunks), which also cover contacts that have no score row yet. SQLite
    serialises writers by itself.
    """
    if connection.vendor != "postgresql" or not contact_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock((%s::bigint << 32) + id)) FROM unnest(%s::bigint[]) AS id",
            [ADVISORY_LOCK_NAMESPACE, contact_ids],
        )


def save_scores(results: list[ScoreResult], *, trigger: str, trigger_event_id: int | None = None) -> list[dict[str, Any]]:
    """Store a chunk's results; snapshot and report the contacts whose score or stage changed."""
    from django.utils import timezone

    if not results:
        return []
    contact_ids = sorted(result.contact_id for result in results)
    with transaction.atomic():
        _lock_contacts(contact_ids)
        previous = {
            contact_id: (score, stage)
            for contact_id, score, stage in ContactScore.objects.filter(contact_id__in=contact_ids)
            .order_by("contact_id")
            .values_list("contact_id", "score", "stage")
        }
        written = _upsert_scores(results, timezone.now())
        changes, snapshots = [], []
        for result in results:
            if result.contact_id not in written:
                continue
            before_score, before_stage = previous.get(result.contact_id, (None, None))
            if before_score == result.score and before_stage == result.stage:
                continue
            snapshots.append(
                ScoreSnapshot(
                    contact_id=result.contact_id, score=result.score, previous_score=before_score,
                    components=result.components, stage=result.stage, computed_at=result.computed_at,
                    trigger=trigger, trigger_event_id=trigger_event_id, profile_version=result.profile_version,
                )
            )
            changes.append({
                "contact_id": result.contact_id, "score": result.score, "previous_score": before_score,
                "stage": result.stage, "previous_stage": before_stage, "computed_at": result.computed_at.isoformat(),
            })
        ScoreSnapshot.objects.bulk_create(snapshots)
    return changes
