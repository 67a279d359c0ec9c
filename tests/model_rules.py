"""Checks shared by the model tests: a database rule holds in the database and reads well in forms.

Every rule is checked twice: the database itself rejects the row (written with
bulk_create or queryset.update, which skip save() and clean(), as imports and raw SQL
would), and full_clean() — what admin forms and serializers run — explains it in words.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction


@dataclass(frozen=True)
class Rule:
    """One database constraint and a way to break it.

    `make_invalid` builds (without saving) an instance that breaks only this rule, creating
    whatever rows it needs first (e.g. the original of a duplicate). `message` is a part of
    the ValidationError that full_clean() must give.
    """

    constraint: str
    make_invalid: Callable[[], models.Model]
    message: str
    # Another name in the database error that proves this rule held, e.g. the column check a
    # PositiveIntegerField brings, which the database may evaluate before the named one.
    also_enforced_by: str | None = None

    def __str__(self) -> str:  # the test id
        return self.constraint


def all_messages(error: ValidationError) -> list[str]:
    return [message for messages in error.message_dict.values() for message in messages]


def assert_db_rejects(write: Callable[[], object], constraint: str, *also_enforced_by: str) -> None:
    """The write fails in the database, and by the named constraint (not e.g. a NOT NULL)."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        write()
    # SQLite names a unique constraint by its columns, PostgreSQL (and SQLite's CHECK) by name.
    error = str(caught.value)
    if connection.vendor == "postgresql" or "CHECK" in error or "index" in error:
        assert any(name in error for name in (constraint, *also_enforced_by)), error


def assert_rule_holds(rule: Rule) -> None:
    invalid = rule.make_invalid()

    assert_db_rejects(
        lambda: type(invalid).objects.bulk_create([invalid]),
        rule.constraint, *filter(None, [rule.also_enforced_by]),
    )

    with pytest.raises(ValidationError) as caught:
        invalid.full_clean()
    messages = all_messages(caught.value)
    assert any(rule.message in message for message in messages), messages


def constraint_names(*model_classes: type[models.Model]) -> set[str]:
    return {constraint.name for model in model_classes for constraint in model._meta.constraints}
