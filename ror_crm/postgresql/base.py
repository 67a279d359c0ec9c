"""Django's PostgreSQL backend, with timestamps parsed by psycopg's compiled loader.

Django registers its own timestamptz loader, a subclass of psycopg's pure-Python one that replaces
each value's tzinfo with the connection's zone (psycopg's compiled loader cannot be subclassed:
Django ticket #36960). A page of 50 contacts holds a few hundred moments; parsing them in Python
took a seventh of the request. The compiled loader gives the same values: it reads the session's
time zone, which Django sets to its own (UTC) on every connection, and psycopg maps "UTC" to
`datetime.UTC`, the tzinfo Django's loader puts on them.

settings.py selects this backend for postgres:// URLs (ENGINE "ror_crm.postgresql").
"""

from datetime import UTC

import psycopg
from django.db.backends.postgresql import base

TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
COMPILED_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        cursor = super().create_cursor(name)
        if self.timezone is UTC:  # the zone psycopg's loader gives for a session in UTC
            cursor.adapters.register_loader(TIMESTAMPTZ_OID, COMPILED_TIMESTAMPTZ_LOADER)
        return cursor
