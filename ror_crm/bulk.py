"""Writing many rows at once: updating each to its own values, inserting without model instances.

Django's bulk_update() writes `SET col = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END` per
column: PostgreSQL walks the WHEN list for every row it updates, so the statement's cost grows
with the square of the batch (5,000 rows: 4.7 s, against 0.1 s for the same rows joined from a
VALUES list). bulk_update_rows() joins the rows from `unnest()` of one array per column
instead: a VALUES list's thousands of placeholders cost psycopg more than the update itself
(1,000 rows × 3 columns: 80–97 ms as VALUES, 38–50 ms as arrays, 40–46 ms for the floor of
COPY and one UPDATE … FROM; 5,000 rows: 450–700, 205–236 and 234–295 ms).
"""

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from django.core.exceptions import EmptyResultSet
from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ror_crm.db import ModelT, array_literal

# PostgreSQL takes at most 65,535 parameters per statement.
POSTGRES_MAX_PARAMS = 65535
# "varchar(20)" → "varchar": an explicit cast to varchar(n) cuts a longer value silently, where
# assigning it to the column refuses it. The column's own type still applies on assignment.
_TYPE_MODIFIER = re.compile(r"\(\s*\d+(?:\s*,\s*\d+)?\s*\)")
# Prepared values array_literal() writes as they are (dates, times, decimals and UUIDs by their
# str(), which PostgreSQL reads back as the same value).
_AS_THEY_ARE = frozenset({type(None), bool, int, float, str, datetime, date, time, Decimal, UUID})
# Types whose equal values are the same value (so get_db_prep_save() of one serves all); not
# float (-0.0 == 0.0) or Decimal (1.0 == 1.00), and a datetime with its zone and fold.
_SAME_WHEN_EQUAL = frozenset({type(None), bool, int, str, datetime, date, UUID})
# Django's own integer fields: get_db_prep_save() gives back an int as it is.
_INTEGER_FIELDS = frozenset({
    models.AutoField, models.BigAutoField, models.SmallAutoField, models.IntegerField, models.BigIntegerField,
    models.SmallIntegerField, models.PositiveIntegerField, models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
})

# Django's own text fields: get_db_prep_save() gives back a str as it is.
_TEXT_FIELDS = frozenset({models.CharField, models.EmailField, models.TextField, models.SlugField, models.URLField})


class _NotAnArrayElement(Exception):
    """A prepared value array_literal() cannot carry (a list for an ArrayField, a range, …)."""


def _own_placeholder(field: models.Field, connection: BaseDatabaseWrapper) -> bool:
    """Whether the field's values need SQL of their own around the placeholder (geometries). A
    BinaryField has a get_placeholder() for MySQL's `_binary %s`; on PostgreSQL it is `%s`."""
    if isinstance(field, models.BinaryField):
        return connection.ops.binary_placeholder_sql(None) != "%s"
    return hasattr(field, "get_placeholder")


def _prepared_values(field: models.Field, values: list[Any], connection: BaseDatabaseWrapper) -> list[Any]:
    """get_db_prep_save() of a column's values, as bulk_update() and bulk_create() send them.

    Called once per distinct value (a check-in's rows share one time and one status), and not
    at all for an int of one of Django's integer fields or a key to one (the primary and foreign
    keys), which it would return as it is: it cost a third of writing 5,000 rows.
    """
    prepare = field.get_db_prep_save
    target = field.target_field if field.is_relation else field
    if type(target) in _INTEGER_FIELDS and (not field.is_relation or type(field) in (models.ForeignKey, models.OneToOneField)):
        return [value if type(value) is int else prepare(value, connection) for value in values]
    if type(field) in _TEXT_FIELDS:  # a str as it is (get_prep_value() is to_python(): the same str)
        return [value if type(value) is str else prepare(value, connection) for value in values]
    prepared, known = [], {}
    for value in values:
        kind = type(value)
        if kind not in _SAME_WHEN_EQUAL:
            prepared.append(prepare(value, connection))
            continue
        key = (kind, value, value.tzinfo, value.fold) if kind is datetime else (kind, value)
        try:
            seen = key in known
        except TypeError:  # a time zone that cannot be hashed
            prepared.append(prepare(value, connection))
            continue
        if not seen:
            known[key] = prepare(value, connection)
        prepared.append(known[key])
    return prepared


def _cast_type(field: models.Field, connection: BaseDatabaseWrapper) -> str:
    return _TYPE_MODIFIER.sub("", field.cast_db_type(connection))


@cache
def _psycopg_wrappers() -> tuple[tuple[type, ...], type]:
    """psycopg 3's wrappers of JSON and of binary values (imported here: SQLite needs no psycopg)."""
    from psycopg import Binary
    from psycopg.types.json import Json, Jsonb

    return (Json, Jsonb), Binary


def _array_element(value: Any) -> Any:
    """A value as a field's get_db_prep_save() gives it for psycopg 3, as array_literal() writes
    it for PostgreSQL to read back the value psycopg would have sent; _NotAnArrayElement for
    what no array literal carries here."""
    if type(value) in _AS_THEY_ARE:
        return value
    json_wrappers, binary = _psycopg_wrappers()
    if isinstance(value, json_wrappers):  # a JSONField's value: its JSON text, as psycopg dumps it
        text = (value.dumps or json.dumps)(value.obj)
        return bytes(text).decode() if isinstance(text, bytes | bytearray | memoryview) else text
    if isinstance(value, binary):
        value = value.obj
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()  # bytea's hex input form
    # Subclasses (TextChoices, IntEnum, …) by what psycopg dumps: their str, int or float value.
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int | float):
        return (int if isinstance(value, int) else float)(value)
    if isinstance(value, datetime | date | time | Decimal | UUID):
        return value
    raise _NotAnArrayElement(type(value))


def _array_param(values: list[Any]) -> str:
    """A column's prepared values as one array literal."""
    kinds = set(map(type, values))
    if not kinds <= _AS_THEY_ARE:
        values = [_array_element(value) for value in values]
    elif datetime in kinds:
        # The second of two equal local times (a clock turned back) is another instant, which
        # array_literal(), writing each distinct value once, would take for the first: in UTC.
        values = [
            value.astimezone(UTC) if type(value) is datetime and value.fold and value.tzinfo is not None else value
            for value in values
        ]
    return array_literal(values)


def bulk_update_rows(
    model: type[ModelT], objs: Iterable[ModelT], fields: Sequence[str], *, batch_size: int | None = None
) -> int:
    """Write these fields of these saved objects, one statement per batch; the number of rows
    updated. What bulk_update() does (the objects' attribute values, no save() or signals, the
    first of two objects with the same primary key wins), without its CASE.

    PostgreSQL: `UPDATE table SET col = v.col, … FROM unnest(%s::bigint[], %s::type[], …) AS
    v(pk, col, …) WHERE table.pk = v.pk`, each column one parameter: an array literal
    (ror_crm.db.array_literal()) cast to an array of its column's type; a JSON column's values
    go as their JSON text. Every row in one statement unless batch_size says fewer. A value no
    array literal carries (an ArrayField's list, a range, a duration) sends the batch as
    `FROM (VALUES (%s::bigint, %s::type, …), …)` instead, as many rows as 65,535 parameters
    allow. Other databases (SQLite): bulk_update(), whose CASE costs little there at the sizes
    they get.
    """
    if batch_size is not None and batch_size <= 0:
        raise ValueError("Batch size must be a positive integer.")
    if not fields:
        raise ValueError("Field names must be given to bulk_update_rows().")
    objs = list(objs)
    db = router.db_for_write(model)
    connection = connections[db]
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_update(objs, fields, batch_size=batch_size)
    opts = model._meta
    model_fields = [opts.get_field(name) for name in fields]
    if any(not field.concrete or field.many_to_many or field.primary_key for field in model_fields):
        raise ValueError("bulk_update_rows() can only write concrete fields other than the primary key.")
    if not all(obj._is_pk_set() for obj in objs):
        raise ValueError("All bulk_update_rows() objects must have a primary key set.")
    if any(field.model._meta.db_table != opts.db_table or _own_placeholder(field, connection) for field in model_fields) or any(
        hasattr(getattr(obj, field.attname), "resolve_expression") for obj in objs for field in model_fields
    ):
        # A parent model's field (another table), a field with its own SQL placeholder
        # (geometries) or an F() as a value: the ORM's way.
        return model._default_manager.bulk_update(objs, fields, batch_size=batch_size)
    relations = [field for field in model_fields if field.is_relation]
    unique: dict[object, ModelT] = {}
    for obj in objs:
        if relations and _related_object_to_check(obj, relations):
            # As bulk_update(): a related object's key, refused when it has none.
            obj._prepare_related_fields_for_save(operation_name="bulk_update_rows", fields=model_fields)
        unique.setdefault(obj.pk, obj)  # as bulk_update(): the first object of a key is written
    if not unique:
        return 0

    quote = connection.ops.quote_name
    table, pk = quote(opts.db_table), quote(opts.pk.column)
    columns = [field.column for field in model_fields]
    assignments = ", ".join(f"{quote(column)} = v.{quote(column)}" for column in columns)
    key = quote("__pk")  # the key's alias in v: no column's name
    target = f"AS v({', '.join([key, *map(quote, columns)])}) WHERE {table}.{pk} = v.{key}"
    all_fields = [opts.pk, *model_fields]
    types = [_cast_type(field, connection) for field in all_fields]
    unnest_sql = f"UPDATE {table} SET {assignments} FROM unnest({', '.join(f'%s::{type_}[]' for type_ in types)}) {target}"
    row_sql = "(" + ", ".join(f"%s::{type_}" for type_ in types) + ")"
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    rows = list(unique.values())
    per_batch = batch_size or len(rows)
    updated = 0
    with transaction.atomic(using=db, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(rows), per_batch):
            batch = rows[start : start + per_batch]
            values = [_prepared_values(field, [getattr(obj, field.attname) for obj in batch], connection)
                      for field in all_fields]  # column by column
            try:
                if not is_psycopg3:
                    raise _NotAnArrayElement("psycopg 2's wrappers")
                params = [_array_param(column) for column in values]
            except _NotAnArrayElement:
                updated += _update_from_values(cursor, f"{table} SET {assignments}", row_sql, target, values)
                continue
            cursor.execute(unnest_sql, params)
            updated += cursor.rowcount
    return updated


def _related_object_to_check(obj: models.Model, relations: list[models.Field]) -> bool:
    """Whether a related object assigned to `obj` is unsaved or has another key than `obj` holds:
    only then has Django's check before saving (_prepare_related_fields_for_save()) anything to
    do. Asked first since that check compares every field of the model with the written ones,
    a tenth of updating 1,000 contacts."""
    for field in relations:
        if field.is_cached(obj):
            related = field.get_cached_value(obj)
            if related is not None and (
                related.pk is None or getattr(related, field.target_field.attname) != getattr(obj, field.attname)
            ):
                return True
    return False


def _update_from_values(cursor, update: str, row_sql: str, target: str, values: list[list[Any]]) -> int:
    """These rows (their values column by column) by `UPDATE … FROM (VALUES …)`, psycopg adapting
    every value: as many rows per statement as 65,535 parameters allow."""
    rows = list(zip(*values, strict=True))
    per_statement = POSTGRES_MAX_PARAMS // len(values)
    updated = 0
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        cursor.execute(
            f"UPDATE {update} FROM (VALUES {', '.join([row_sql] * len(chunk))}) {target}",
            [value for row in chunk for value in row],
        )
        updated += cursor.rowcount
    return updated


def insert_rows(model: type[models.Model], columns: dict[str, list[Any]], constants: dict[str, Any] | None = None
                ) -> list[Any]:
    """Insert new rows given column by column ({attname: values}, all of one length), in one
    statement; their primary keys, in order. `constants`: {attname: value} every row has, sent
    once. Every other concrete field at its default (a callable one called per row; the others
    sent once) and auto_now/auto_now_add at the time of the call. No save(), signals or model
    instances: what bulk_create() spends per object (an instance, get_db_prep_save() of every
    field, psycopg adapting its arrays item by item) was four fifths of inserting an attendee
    list's new contacts.

    PostgreSQL: `INSERT INTO table (col, …) SELECT *, %s::type, … FROM unnest(%s::type[], …)
    RETURNING pk`, each column one array literal, as bulk_update_rows() sends them (PostgreSQL
    returns the rows in the order unnest() gives them, which Django's own bulk_create() relies on
    too). Values no array literal carries, expressions and database defaults, and other
    databases: bulk_create() of instances. A name that is no concrete field's attname, or columns
    of different lengths, raise ValueError.
    """
    from django.utils import timezone

    constants = dict(constants or {})
    attnames = {field.attname for field in model._meta.concrete_fields}
    unknown = sorted((set(columns) | set(constants)) - attnames)
    if unknown:
        raise ValueError(f"insert_rows(): {model.__name__} has no concrete field of attname {', '.join(unknown)}.")
    if len({len(values) for values in columns.values()}) > 1:
        raise ValueError("insert_rows(): the columns differ in length.")
    count = len(next(iter(columns.values()))) if columns else 0
    if not count:
        return []
    now = timezone.now()
    varying: dict[str, list[Any]] = {}
    for field in model._meta.concrete_fields:
        name = field.attname
        if name in columns:
            varying[name] = columns[name]
        elif name in constants or (field.primary_key and isinstance(field, models.AutoField)):
            continue
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constants[name] = now
        elif field.has_default() and callable(field.default):
            varying[name] = [field.get_default() for _ in range(count)]
        else:
            constants[name] = field.get_default()
    pks = _unnest_insert(model, varying, constants)
    if pks is not None:
        return pks
    objs = [model(**{name: values[index] for name, values in varying.items()}, **constants) for index in range(count)]
    model._default_manager.using(router.db_for_write(model)).bulk_create(objs)
    return [obj.pk for obj in objs]


def _unnest_insert(model: type[models.Model], columns: dict[str, list[Any]], constants: dict[str, Any]
                   ) -> list[Any] | None:
    """insert_rows() on PostgreSQL; None where it does not apply (another database, a value
    no array literal carries, a field with SQL of its own around its placeholder)."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    connection = connections[router.db_for_write(model)]
    opts = model._meta
    fields = [opts.get_field(name) for name in columns]
    constant_fields = [opts.get_field(name) for name in constants]
    if connection.vendor != "postgresql" or not is_psycopg3 or any(
        _own_placeholder(field, connection) for field in [*fields, *constant_fields]
    ) or any(hasattr(value, "resolve_expression") for value in constants.values()):
        return None  # (a database default, DatabaseDefault, is an expression too)
    try:
        params = [_array_param(_prepared_values(field, values, connection))
                  for field, values in zip(fields, columns.values(), strict=True)]
    except _NotAnArrayElement:
        return None
    # The constants' placeholders come first in the statement's text.
    params = [field.get_db_prep_save(value, connection)
              for field, value in zip(constant_fields, constants.values(), strict=True)] + params
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%s::{_cast_type(field, connection)}[]" for field in fields)
    scalars = "".join(f", %s::{_cast_type(field, connection)}" for field in constant_fields)
    sql = (f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(field.column) for field in [*fields, *constant_fields])}) "
           f"SELECT *{scalars} FROM unnest({arrays}) RETURNING {quote(opts.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def insert_history_of(queryset: models.QuerySet, *, history_type: str = "~", user=None, when=None) -> int:
    """simple-history's rows of the objects `queryset` selects, as bulk_history_create() writes them
    for those objects, by one `INSERT INTO history (…) SELECT …`: the rows never come to Python
    (reading 1,000 changed contacts back as model instances for their history was a third of a
    bulk upsert). The number of rows written."""
    from django.db.models import CharField, DateTimeField, IntegerField, TextField, Value
    from django.utils import timezone
    from simple_history.utils import get_history_manager_for_model

    model = queryset.model
    history_model = get_history_manager_for_model(model).model
    when = when or timezone.now()
    # As bulk_history_create(): the request's user (simple-history's middleware) unless given; no
    # object has a user of its own here.
    user = user if user is not None else history_model.get_default_history_user(model())
    history_opts = history_model._meta
    names = [field.attname for field in history_model.tracked_fields]
    constants = {
        "history_date": Value(when, output_field=DateTimeField()),
        "history_type": Value(history_type, output_field=CharField()),
        "history_change_reason": Value(None, output_field=TextField()),
        "history_user_id": Value(getattr(user, "pk", None), output_field=IntegerField()),
    }
    select = queryset.order_by().values_list(*names, *constants.values())
    db = router.db_for_write(history_model)
    try:
        sql, params = select.query.get_compiler(db).as_sql()
    except EmptyResultSet:  # Contact.objects.none(), an empty `pk__in`: nothing to write
        return 0
    quote = connections[db].ops.quote_name
    columns = ", ".join(quote(history_opts.get_field(name).column) for name in [*names, *constants])
    with connections[db].cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(history_opts.db_table)} ({columns}) {sql}", params)
        return cursor.rowcount
