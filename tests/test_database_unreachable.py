"""Which database errors mean "PostgreSQL unreachable" (a 503 and a retry) and which are the
statement's own (a 500, no retry): told apart on real connections, not on made-up exceptions."""

import contextlib
import socket

import psycopg
import pytest
from django.db import DatabaseError, OperationalError, connection

from ror_crm.queue import database_unreachable

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's connection errors"),
]


@contextlib.contextmanager
def probe():
    """A connection of its own (the test's transaction stays on the suite's)."""
    other = connection.copy("probe")
    try:
        yield other
    finally:
        other.close()


def error_of(other, sql: str) -> DatabaseError:
    with pytest.raises(DatabaseError) as raised, other.cursor() as cursor:
        cursor.execute(sql)
    return raised.value


def test_a_connection_dropped_by_the_server_is_unreachable():
    with probe() as other:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with connection.cursor() as cursor:  # as a restart or failover would
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        error = error_of(other, "SELECT 1")
    assert isinstance(error, OperationalError)
    assert database_unreachable(error)


def test_a_refused_connection_is_unreachable():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    other = connection.copy("probe")
    other.settings_dict = {**other.settings_dict, "HOST": "127.0.0.1", "PORT": port}
    with pytest.raises(OperationalError) as raised:
        other.ensure_connection()
    assert isinstance(raised.value.__cause__, psycopg.OperationalError)
    assert database_unreachable(raised.value)


def test_a_server_that_never_answers_is_unreachable_after_the_connect_timeout():
    """A hung or partitioned PostgreSQL accepts the connection and says nothing: the connect gives
    up after DATABASE_CONNECT_TIMEOUT (a 503), instead of waiting for the web server's timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts; nobody ever answers
        other = connection.copy("probe")
        other.settings_dict = {**other.settings_dict, "HOST": "127.0.0.1", "PORT": silent.getsockname()[1],
                               "OPTIONS": {**other.settings_dict["OPTIONS"], "connect_timeout": 1}}
        assert connection.settings_dict["OPTIONS"]["connect_timeout"] == 5  # the default
        with pytest.raises(OperationalError) as raised:
            other.ensure_connection()
    assert "timeout" in str(raised.value).lower()
    assert database_unreachable(raised.value)


def test_the_statements_own_errors_are_not():
    with probe() as other:
        with other.cursor() as cursor:
            cursor.execute("SET statement_timeout = 1")
        timeout = error_of(other, "SELECT pg_sleep(1)")
        division = error_of(other, "SELECT 1 / 0")
    assert isinstance(timeout, OperationalError)  # query_canceled: the statement, not the server
    assert not database_unreachable(timeout)
    assert not database_unreachable(division)
