"""The PostgreSQL array literals the score writes and bulk_update_rows() send: every value reads back as it was."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ror_crm.db import array_literal

pytestmark = pytest.mark.django_db

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2199, 12, 31), timezones=st.just(UTC))
COLUMNS = {
    "float8": st.lists(st.none() | st.floats(allow_nan=False, allow_infinity=False)),
    "bigint": st.lists(st.none() | st.integers(-(2**63), 2**63 - 1)),
    "boolean": st.lists(st.none() | st.booleans()),
    # text without NUL and lone surrogates, which PostgreSQL text cannot hold (and the edges refuse)
    "text": st.lists(st.none() | st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))),
    "timestamptz": st.lists(st.none() | st.sampled_from([datetime(2026, 5, 1, 18, tzinfo=UTC)]) | moments),
}


def read_back(values: list, db_type: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{db_type}[]", [array_literal(values)])
        return cursor.fetchone()[0]


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("array literals are PostgreSQL's")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), db_type=st.sampled_from(sorted(COLUMNS)))
def test_every_value_reads_back_as_it_was(data, db_type):
    values = data.draw(COLUMNS[db_type])

    assert read_back(values, db_type) == values


def test_repeated_and_awkward_values():
    moment = datetime(2026, 5, 1, 18, 0, 0, 123456, tzinfo=UTC)
    assert read_back([moment, None, moment], "timestamptz") == [moment, None, moment]
    assert read_back(['a "quoted" \\ value', "NULL", "", None, "x,y", "{}"], "text") == [
        'a "quoted" \\ value', "NULL", "", None, "x,y", "{}"
    ]
    assert read_back([0.1, 1e-300, 12345678.123456789, None, 3], "float8") == [0.1, 1e-300, 12345678.123456789, None, 3.0]
    assert read_back([True, False, None], "boolean") == [True, False, None]
