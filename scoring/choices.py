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
    ALL = "all", _("Every contact's score")
    RANGE = "range", _("A range of contacts' scores")


class NoShowRateReason(models.TextChoices):
    """Why an event's no-show rate is null."""

    NO_CHECK_IN = "no_check_in", _("No attendee was checked in, so registrations say nothing about who came.")


class CadenceSegment(models.TextChoices):
    """What a keep-in-touch cadence applies to (scoring.KeepInTouchCadence)."""

    STAGE = "stage", _("Lifecycle stage")
    TAG = "tag", _("Tag")
    ORGANIZATION = "organization", _("Organization")


class CadenceSource(models.TextChoices):
    """Where a contact's cadence came from: its own override, or a segment's."""

    CONTACT = "contact", _("Contact's own cadence")
    ORGANIZATION = "organization", _("Organization")
    TAG = "tag", _("Tag")
    STAGE = "stage", _("Lifecycle stage")


class NextAction(models.TextChoices):
    """The next best action for a contact (scoring.next_action.RULES says when each applies)."""

    CALL_NOW = "call_now", _("Call now")
    FOLLOW_UP = "follow_up", _("Follow up")
    INVITE = "invite", _("Invite")
    RE_ENGAGE = "re_engage", _("Re-engage")
    NURTURE = "nurture", _("Nurture")
    CHECK_IN = "check_in", _("Check in")
    REST = "rest", _("Rest")
    WAIT = "wait", _("Not due yet")
    DO_NOTHING = "do_nothing", _("Do nothing")
