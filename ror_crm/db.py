"""Abstract model pieces shared by every app (nothing domain-specific)."""

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ModelT = TypeVar("ModelT", bound=models.Model)


class TimeStampedModel(models.Model):
    """`created_at` may be set explicitly (imports, backfills); `updated_at` drives sync."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # What the row held when read: a rule checked only when a value changes (stored_value()).
        instance._stored_values = dict(zip(field_names, values, strict=True))
        return instance


def stored_value(instance: models.Model, attname: str) -> Any:
    """The value of `attname` in the instance's row as it was read (None for a new instance)."""
    return getattr(instance, "_stored_values", {}).get(attname)


def locked(instance: ModelT) -> ModelT:
    """The instance's row as stored now, locked until the transaction ends (FOR NO KEY UPDATE
    on PostgreSQL; SQLite runs one write transaction at a time anyway).

    Updates apply their fields to this copy, not to the object a request read before: saving
    that one would write back its stale values of the other fields and undo what a
    concurrent request changed meanwhile (a check-in, an erasure, a completion). A row
    deleted meanwhile raises DoesNotExist.
    """
    return type(instance)._default_manager.select_for_update(no_key=True).get(pk=instance.pk)


def share_lock(model: type[models.Model], pks: Iterable[Any]) -> None:
    """Keep these rows from changes (not from readers locking them the same way) until the
    transaction ends: FOR SHARE on PostgreSQL, where locked() and the rows' updates wait for it;
    SQLite runs one write transaction at a time anyway. Call it inside a transaction."""
    if connection.vendor == "postgresql":
        table, pk = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            # In id order, as every locker here takes them: two lockers of the same rows cannot deadlock.
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE {pk} = ANY(%s) ORDER BY {pk} FOR SHARE", [sorted(set(pks))])


def share_locked(instance: ModelT) -> ModelT:
    """The instance's row as stored now, kept from changes until the transaction ends (share_lock())."""
    share_lock(type(instance), [instance.pk])
    return type(instance)._default_manager.get(pk=instance.pk)


def save_unique(instance: models.Model, *, recheck: Callable[[], None]) -> None:
    """full_clean() and save() a row under a uniqueness rule whose conflicts are domain errors
    (409 with the existing row's id), which `recheck` raises.

    It runs first, and again when validation or the insert fails: a concurrent request may
    have committed the same row in between, which Django's constraint validation would
    report as a 400 and the database as an IntegrityError.
    """
    recheck()
    try:
        instance.full_clean()
        with transaction.atomic():
            instance.save()
    except (ValidationError, IntegrityError):
        recheck()
        raise


def SET_NULL_TOUCHED(collector, field, sub_objs, using):  # noqa: N802 - named like Django's SET_NULL
    """on_delete: SET_NULL that also moves the rows' `updated_at`, so a partner syncing by
    `updated_since` learns that the link is gone."""
    collector.add_field_update(field, None, sub_objs)
    collector.add_field_update(field.model._meta.get_field("updated_at"), timezone.now(), sub_objs)


def id_chunk_sql(ids: Sequence[int]) -> tuple[dict[str, Any], Callable[[str], str]]:
    """Raw SQL for "this column is one of a chunk's ids": the parameters, and a function
    giving the condition for a column. A range of ids is read with BETWEEN (range scans); a
    list with = ANY (PostgreSQL) or IN json_each (SQLite): one parameter whatever its length."""
    if isinstance(ids, range) and ids.step == 1:
        return {"first_id": ids[0], "last_id": ids[-1]}, lambda column: f"{column} BETWEEN %(first_id)s AND %(last_id)s"
    values = [int(value) for value in ids]
    if connection.vendor == "postgresql":
        return {"ids": array_literal(values)}, lambda column: f"{column} = ANY(%(ids)s::bigint[])"
    return {"ids": json.dumps(values)}, lambda column: f"{column} IN (SELECT value FROM json_each(%(ids)s))"


class AnyOf(models.Lookup):
    """`field__any_of=[ids]`: the ORM's id_chunk_sql(); on a text field or expression (an e-mail,
    Lower("name")), `IN (SELECT unnest(…))` of texts. One array (PostgreSQL) or JSON (SQLite)
    parameter, where `__in` sends a placeholder per value: for a chunk's thousands of ids, or a
    batch of an attendee list's e-mails, psycopg's query parsing took longer than the query."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        target = field.target_field if field.is_relation else field
        text = isinstance(target, models.CharField | models.TextField)
        if any(value is None for value in self.rhs):
            raise ValueError("any_of takes no None: NULL is never equal to anything.")
        values = [str(value) for value in self.rhs] if text else [int(value) for value in self.rhs]
        if connection.vendor == "postgresql" and text:
            # A semi-join, not `= ANY`: for an expression's index (LOWER(TRIM(email))) the planner
            # costs `= ANY` of a batch's thousand e-mails as a scan of the whole table evaluating
            # the expression per row (56 ms at 100,000 contacts, against 5 ms by the index).
            return f"{lhs} IN (SELECT unnest(%s::text[]))", [*lhs_params, array_literal(values)]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, array_literal(values)]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(values)]


for _field in (models.ForeignKey, models.AutoField, models.BigAutoField, models.IntegerField, models.CharField,
               models.TextField):
    _field.register_lookup(AnyOf)


def text_pairs_in(model: type[models.Model], columns: tuple[str, str], pairs: Iterable[tuple[str, str]]) -> RawSQL:
    """A condition for filter(): the row's (first, second) column texts are one of these pairs.
    One parameter per column (PostgreSQL: arrays, read as a semi-join that a unique index on the
    two columns answers row by row) or one JSON parameter (SQLite). Asking by the second column
    alone (`external_id = ANY(…)`) scanned every attendance: 16 ms per 1,000 ids at 100,000.
    Names the model's own table on the default database: for a query of that model there, not
    a subquery (whose tables Django renames) nor another database."""
    pairs = sorted(set(pairs))
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    first, second = (f"{table}.{quote(model._meta.get_field(name).column)}" for name in columns)
    if connection.vendor == "postgresql":
        sql = f"({first}, {second}) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        params = [array_literal([a for a, _ in pairs]), array_literal([b for _, b in pairs])]
    else:
        sql = f"({first}, {second}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(%s))"
        params = [json.dumps(pairs)]
    return RawSQL(sql, params, output_field=models.BooleanField())


def write_bytes(model: type[models.Model], pk: Any, field: str, data: bytes) -> None:
    """Store `data` in a binary field of one row. On PostgreSQL the bytes go as a binary
    parameter, as they are: Django binds parameters into the statement's text, a bytea as hex,
    which held about eight times the data in memory at once (a 30 MB file: 241 MB, 1.3 s; a
    200 MB attendee list would take 1.6 GB of a web worker) where this holds twice (0.2 s)."""
    if connection.vendor != "postgresql":
        model._default_manager.filter(pk=pk).update(**{field: data})
        return
    import psycopg

    quote, opts = connection.ops.quote_name, model._meta
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # server-side binding, in Django's transaction
        cursor.execute(f"UPDATE {quote(opts.db_table)} SET {quote(opts.get_field(field).column)} = %b "
                       f"WHERE {quote(opts.pk.column)} = %s", [data, pk])


def read_bytes(model: type[models.Model], pk: Any, field: str) -> bytes:
    """A binary field of one row (b"" when the row or its value is gone). On PostgreSQL the value
    comes back in binary: as text (Django's way), hex, it took five times its size in memory."""
    if connection.vendor != "postgresql":
        value = model._default_manager.filter(pk=pk).values_list(field, flat=True).first()
        return bytes(value or b"")
    import psycopg

    quote, opts = connection.ops.quote_name, model._meta
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f"SELECT {quote(opts.get_field(field).column)} FROM {quote(opts.db_table)} "
                       f"WHERE {quote(opts.pk.column)} = %s", [pk], binary=True)
        row = cursor.fetchone()
    return bytes(row[0]) if row is not None and row[0] is not None else b""


def sql_moment(value: datetime) -> Any:
    """An aware datetime as a raw SQL parameter: as it is on PostgreSQL, UTC text on SQLite."""
    return value if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(value)


def _quoted(value: Any) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# repr(): the shortest text that reads back as the same number.
_ARRAY_ELEMENT = {
    type(None): lambda _: "NULL", bool: lambda value: "t" if value else "f", int: repr, float: repr,
    datetime: lambda value: '"' + value.isoformat() + '"', str: _quoted,
}


def array_literal(values: list[Any]) -> str:
    """A PostgreSQL array literal ('{1.5,NULL,"text"}') of numbers, booleans, strings, aware
    datetimes and None. Sent as one text parameter: psycopg adapts a list item by item in
    Python, which took three quarters of the time of writing a chunk of 2,000 scores (and
    19 ms for a chunk's 5,000 ids in an = ANY condition, more than the query that read them)."""
    if set(map(type, values)) <= {int, float, type(None)}:
        return "{" + ",".join(["NULL" if value is None else repr(value) for value in values]) + "}"
    # The other columns repeat their values (the as-of time, stages, events' start times):
    # each distinct value is written out once.
    texts = {value: _ARRAY_ELEMENT.get(type(value), _quoted)(value) for value in set(values)}
    return "{" + ",".join([texts[value] for value in values]) + "}"


@contextlib.contextmanager
def analytic_read() -> Iterator[None]:
    """A read whose plan PostgreSQL would compile with JIT (a high cost estimate over many rows):
    run with JIT off, which compiles longer than it saves on these (up to half of a scoring
    chunk's read). A transaction only there, for SET LOCAL: on SQLite every transaction takes
    the write lock."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield
