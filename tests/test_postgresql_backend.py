"""The PostgreSQL backend (ror_crm/postgresql): Django's, with psycopg's compiled timestamp loader."""

from datetime import UTC, datetime

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader

from contacts.models import Contact

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend of PostgreSQL"),
]

MOMENTS = ["2026-03-29 00:59:59.999999+00", "2026-10-25 01:30:00+00", "1900-01-01 00:00:00+00", "2199-12-31 23:59:59+00"]


def test_the_compiled_loader_reads_what_djangos_does():
    sql = "SELECT m::timestamptz FROM unnest(%s::text[]) AS m"
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT)
        cursor.execute(sql, [MOMENTS])
        compiled = [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", type("UTCLoader", (BaseTzLoader,), {"timezone": UTC}))
        cursor.execute(sql, [MOMENTS])
        django = [row[0] for row in cursor.fetchall()]

    assert not issubclass(loader, BaseTzLoader)  # the compiled one, not Django's Python subclass
    assert compiled == django
    assert [moment.tzinfo for moment in compiled] == [UTC] * len(MOMENTS)
    assert compiled[0] == datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)


def test_model_moments_are_aware_utc():
    created = Contact.objects.create(email="moment@example.com")

    loaded = Contact.objects.get(pk=created.pk)

    assert loaded.created_at == created.created_at
    assert loaded.created_at.tzinfo is UTC
