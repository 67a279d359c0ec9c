from django.db import models
from django.utils.translation import gettext_lazy as _


class LifecycleStage(models.TextChoices):
    """Relationship lifecycle of the seeds: Anbahnung → Sozialisation → Wachstum → Reife."""

    INITIATION = "initiation", _("Initiation")
    SOCIALIZATION = "socialization", _("Socialization")
    GROWTH = "growth", _("Growth")
    MATURITY = "maturity", _("Maturity")
    AT_RISK = "at_risk", _("At risk")


class ChurnRisk(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ScoreTrigger(models.TextChoices):
    EVENT = "event", _("Event completed")
    LATE_DATA = "late_data", _("Late data")
    NIGHTLY = "nightly", _("Nightly")
    MANUAL = "manual", _("Manual")


class RecomputeKind(models.TextChoices):
    """What a RecomputeRequest asks for (scoring.outbox)."""

    EVENT = "event", _("Event: scores and metrics")
    CONTACTS = "contacts", _("Contacts' scores")
    METRICS = "metrics", _("Event metrics")


class NoShowRateReason(models.TextChoices):
    """Why an event's no-show rate is null."""

    NO_CHECK_IN = "no_check_in", _("No attendee was checked in, so registrations say nothing about who came.")
