from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """The scoring aggregation's days-between function on SQLite connections (PostgreSQL
    computes it in SQL); deterministic, so SQLite may use it in indexes and plans."""
    if connection.vendor == "sqlite":
        from scoring.services.contact_scores import sqlite_days_between

        connection.connection.create_function("ror_days_between", 2, sqlite_days_between, deterministic=True)


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Scoring")

    def ready(self) -> None:
        connection_created.connect(register_sqlite_functions, dispatch_uid="scoring.register_sqlite_functions")
