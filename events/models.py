from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from events.choices import (
    AttendanceRole,
    AttendanceStatus,
    EventFormat,
    EventKind,
    EventStatus,
    ImportStatus,
    InteractionKind,
)
from ror_crm.db import SET_NULL_TOUCHED, TimeStampedModel, stored_value
from ror_crm.validators import FREE_TEXT_MAX_LENGTH, validate_free_text_length, validate_happened


class EventSeries(TimeStampedModel):
    """Recurring events; editions are ordered by `starts_at`."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True,
                                  max_length=FREE_TEXT_MAX_LENGTH, validators=[validate_free_text_length])

    class Meta:
        ordering = ["name"]
        verbose_name = _("event series")
        # Its own message: the same English word is two words in German (Reihe, Reihen).
        verbose_name_plural = pgettext_lazy("plural", "event series")
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="series_name_not_blank",
                violation_error_message=_("The series needs a name."))]

    def __str__(self) -> str:
        return self.name


class Event(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    series = models.ForeignKey(
        EventSeries, verbose_name=_("series"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="events",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices, default=EventKind.CONFERENCE)
    format = models.CharField(_("format"), max_length=20, choices=EventFormat.choices, default=EventFormat.IN_PERSON)
    venue = models.CharField(_("venue"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(_("status"), max_length=20, choices=EventStatus.choices, default=EventStatus.PLANNED)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # Empty: settings.FOLLOW_UP_DEADLINE_MINUTES (contacts.deadlines.follow_up_deadline()).
    follow_up_deadline_minutes = models.PositiveIntegerField(
        _("follow-up deadline (minutes)"), null=True, blank=True,
        validators=[MinValueValidator(1, message=_("A follow-up deadline is at least one minute."))],
        help_text=_("Minutes after the end of the event by which each attendee with an owner should have been "
                    "followed up. Empty: the site's default (48 hours unless the site sets another). For hot leads: "
                    "60."),
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gte=F("starts_at")), name="event_ends_after_start",
                violation_error_message=_("The event cannot end before it starts.")),
            models.CheckConstraint(condition=Q(status__in=EventStatus.values), name="event_status_valid",
                violation_error_message=_("Unknown event status.")),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="event_kind_valid",
                violation_error_message=_("Unknown event kind.")),
            models.CheckConstraint(condition=Q(format__in=EventFormat.values), name="event_format_valid",
                violation_error_message=_("Unknown event format.")),
            models.CheckConstraint(condition=Q(cost__isnull=True) | Q(cost__gte=0), name="event_cost_not_negative",
                violation_error_message=_("The cost cannot be negative.")),
            models.CheckConstraint(
                condition=~Q(status=EventStatus.COMPLETED) | Q(completed_at__isnull=False),
                name="event_completed_has_completed_at",
                violation_error_message=_("A completed event needs its completion time."),
            ),
            models.CheckConstraint(condition=~Q(name=""), name="event_name_not_blank",
                violation_error_message=_("The event needs a name.")),
            models.CheckConstraint(
                condition=Q(follow_up_deadline_minutes__isnull=True) | Q(follow_up_deadline_minutes__gt=0),
                name="event_follow_up_deadline_positive",
                violation_error_message=_("A follow-up deadline is at least one minute."),
            ),
        ]
        indexes = [
            models.Index(fields=["series", "starts_at"], name="event_series_starts_idx"),
            models.Index(fields=["status", "starts_at"], name="event_status_starts_idx"),
        ]

    def __str__(self) -> str:
        if not self.starts_at:
            return self.name
        return f"{self.name} ({date_format(timezone.localtime(self.starts_at), 'SHORT_DATE_FORMAT')})"

    def clean(self) -> None:
        # Every error at its field at once (a form shows them all; the constraints' checks that
        # follow would put a second one above the form).
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            errors["ends_at"] = _("The event cannot end before it starts.")
        if self.cost is not None and self.cost < 0:
            errors["cost"] = _("The cost cannot be negative.")
        if self.status == EventStatus.COMPLETED and self.completed_at is None:
            errors["status"] = _("Complete the event with the “complete” action.")
        if errors:
            raise ValidationError(errors)
        self.currency = (self.currency or "EUR").upper()

    def too_early_to_attend(self, now=None) -> bool:
        """Whether it is too early for anyone to have attended (or missed) the event: it starts
        more than CHECK_IN_LEAD from now. (Check-in desks open early, badges are picked up the
        day before; a week ahead nobody has come yet.)"""
        return self.starts_at is not None and self.starts_at > (now or timezone.now()) + CHECK_IN_LEAD

    def is_over(self, now) -> bool:
        """Completed, or ended by `now` and not cancelled (contacts.deadlines.events_over() in SQL)."""
        return self.status == EventStatus.COMPLETED or (self.ends_at <= now and self.status != EventStatus.CANCELLED)


CHECK_IN_LEAD = timedelta(days=1)
NOT_STARTED_MESSAGE = _("This event has not started yet: nobody can have attended or missed it.")
CHECKED_IN_BEFORE_MESSAGE = _("This check-in time is more than a day before the event starts.")
CANCELLED_MESSAGE = _("This event was cancelled: nobody can have attended or missed it.")
ONLY_ATTENDED_CHECKED_IN_MESSAGE = _(
    "Only someone who attended has a check-in time: clear it for a no-show, a cancellation or a place on the "
    "waiting list.")
FEEDBACK_NOT_STARTED_MESSAGE = _("This event has not started yet: nobody can give feedback on it.")
FEEDBACK_CANCELLED_MESSAGE = _("This event was cancelled: nobody can give feedback on it.")
HAPPENED_STATUSES = (AttendanceStatus.ATTENDED, AttendanceStatus.NO_SHOW)
# Who registered for an event, whether they came or not (DOMAIN.md's `registered`).
REGISTERED_STATUSES = (AttendanceStatus.REGISTERED, *HAPPENED_STATUSES)


def checked_in_status(status: str | None, checked_in_at: datetime | None) -> str:
    """The status of a row given a check-in time in the same write: the person came, so a status
    not given, `registered` or `invited` is `attended`. A no-show, a cancellation or a place on
    the waiting list given with a check-in time stays what it says, and Attendance.clean()
    refuses the pair (only an attended row has a check-in time)."""
    if checked_in_at is not None and status in (None, "", AttendanceStatus.REGISTERED, AttendanceStatus.INVITED):
        return AttendanceStatus.ATTENDED
    return status or AttendanceStatus.REGISTERED


def registration_time(status: str, now: datetime) -> datetime | None:
    """When a row written without `registered_at` registered: now, unless the person is only
    invited (any other status registered once: attended, no-show, cancelled, waiting list)."""
    return None if status == AttendanceStatus.INVITED else now


class Attendance(TimeStampedModel):
    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="attendances")
    contact = models.ForeignKey(
        "contacts.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="attendances"
    )
    role = models.CharField(_("role"), max_length=20, choices=AttendanceRole.choices, default=AttendanceRole.ATTENDEE)
    status = models.CharField(
        _("status"), max_length=20, choices=AttendanceStatus.choices, default=AttendanceStatus.REGISTERED
    )
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    # Null, not blank, when unset: the partial unique constraint ignores nulls.
    external_id = models.CharField(_("external id"), max_length=200, null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [
            models.UniqueConstraint(fields=["event", "contact"], name="attendance_event_contact_unique",
                violation_error_message=_("This contact already has an attendance for this event.")),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="attendance_source_external_id_unique",
                violation_error_message=_("This external id is already used by another attendance from this source."),
            ),
            models.CheckConstraint(condition=Q(role__in=AttendanceRole.values), name="attendance_role_valid",
                violation_error_message=_("Unknown attendance role.")),
            models.CheckConstraint(condition=Q(status__in=AttendanceStatus.values), name="attendance_status_valid",
                violation_error_message=_("Unknown attendance status.")),
            # A check-in says the person came (scoring, the event's check-in rule and show rate read it so).
            models.CheckConstraint(
                condition=Q(checked_in_at__isnull=True) | Q(status=AttendanceStatus.ATTENDED),
                name="attendance_checked_in_attended", violation_error_message=ONLY_ATTENDED_CHECKED_IN_MESSAGE),
        ]
        indexes = [
            # INCLUDE (PostgreSQL; elsewhere a plain index): the scoring aggregation reads a
            # chunk's attendances from the index alone, without visiting the table.
            models.Index(fields=["contact", "status"], include=["event", "role"], name="attendance_contact_status_idx"),
            models.Index(fields=["event", "status"], name="attendance_event_status_idx"),
            # Contact fatigue (contacts.fatigue) counts open invitations per contact.
            models.Index(fields=["contact", "created_at"], condition=Q(status=AttendanceStatus.INVITED),
                         name="attendance_contact_invited_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} @ {self.event} ({self.get_status_display()})"

    def clean(self) -> None:
        if self.external_id == "":
            self.external_id = None
        validate_happened(self, "checked_in_at")
        if self.checked_in_at is not None and self.status != AttendanceStatus.ATTENDED:
            # Here, not only in the services: the admin's forms validate the row before calling them.
            stored = self._stored()
            if stored is not None and stored["checked_in_at"] is not None:  # a checked-in row's status moved
                raise ValidationError({"status": ONLY_ATTENDED_CHECKED_IN_MESSAGE})
            # A check-in time given with a registration: the person came. (A check-in time given alone, the
            # status not given, is `attended` before this: the services, the admin's form.)
            self.status = checked_in_status(self.status, self.checked_in_at)
            if self.status != AttendanceStatus.ATTENDED:
                raise ValidationError({"checked_in_at": ONLY_ATTENDED_CHECKED_IN_MESSAGE})
        happened = self.status in HAPPENED_STATUSES or self.checked_in_at is not None
        field = "checked_in_at" if self.checked_in_at is not None else "status"
        if happened and self.event_id is not None and self.event.too_early_to_attend():
            raise ValidationError({field: NOT_STARTED_MESSAGE})
        if happened and self.event_id is not None and self.event.status == EventStatus.CANCELLED \
                and self._changes_what_happened():
            raise ValidationError({field: CANCELLED_MESSAGE})
        if self.checked_in_at is not None and self.event_id is not None \
                and self.event.too_early_to_attend(self.checked_in_at) and self._check_in_changes():
            raise ValidationError({"checked_in_at": CHECKED_IN_BEFORE_MESSAGE})

    def _changes_what_happened(self) -> bool:
        """Whether this write makes the row say more happened than it stored (a new row that says
        so, a status moved to attended or no_show, a check-in time set): rows that said so before
        their event was cancelled keep taking other changes."""
        stored = self._stored()
        if stored is None or stored["event_id"] != self.event_id:  # new here (a row moved from another event too)
            return True
        return (self.status in HAPPENED_STATUSES and stored["status"] not in HAPPENED_STATUSES) or (
            self.checked_in_at is not None and stored["checked_in_at"] is None)

    def _check_in_changes(self) -> bool:
        """Whether this write sets the check-in time or moves the row: a row stored with an early
        time before the rule keeps taking other changes."""
        stored = self._stored()
        return stored is None or stored["event_id"] != self.event_id or stored["checked_in_at"] != self.checked_in_at

    def _stored(self) -> dict | None:
        """The row as stored (None for a new one); read only for the rare rules above."""
        if self.pk is None:
            return None
        return Attendance.objects.filter(pk=self.pk).values("event_id", "status", "checked_in_at").first()


class Interaction(TimeStampedModel):
    """A networking touch at an event; it counts for both contact and counterpart."""

    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="interactions")
    # No index of their own: interaction_contact_idx and interaction_counterpart_idx lead with them.
    contact = models.ForeignKey(
        "contacts.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="interactions",
        db_index=False,
    )
    counterpart = models.ForeignKey(
        "contacts.Contact", verbose_name=_("counterpart"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="counterpart_interactions", db_index=False,
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff member"), null=True, blank=True,
        on_delete=SET_NULL_TOUCHED, related_name="interactions",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=InteractionKind.choices, default=InteractionKind.CONVERSATION)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    quality = models.PositiveSmallIntegerField(_("quality (1–5)"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=FREE_TEXT_MAX_LENGTH, validators=[validate_free_text_length])
    source = models.CharField(_("source"), max_length=100, blank=True)
    external_id = models.CharField(_("external id"), max_length=200, null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.CheckConstraint(
                condition=Q(quality__isnull=True) | Q(quality__gte=1, quality__lte=5), name="interaction_quality_range",
                violation_error_message=_("Quality is rated from 1 to 5.")
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True) | Q(duration_minutes__gte=0),
                name="interaction_duration_not_negative",
                violation_error_message=_("The duration cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(counterpart__isnull=True) | ~Q(counterpart=F("contact")),
                name="interaction_counterpart_not_self",
                violation_error_message=_("A contact cannot interact with themselves."),
            ),
            models.CheckConstraint(condition=Q(kind__in=InteractionKind.values), name="interaction_kind_valid",
                violation_error_message=_("Unknown interaction kind.")),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="interaction_source_external_id_unique",
                violation_error_message=_("This external id is already used by another interaction from this source."),
            ),
        ]
        indexes = [
            # INCLUDE: the scoring aggregation reads both sides from the indexes alone, the
            # relationship lift's counterfactual (without one event's rows) too.
            models.Index(fields=["contact", "occurred_at"], include=["quality", "duration_minutes", "event"],
                         name="interaction_contact_idx"),
            models.Index(fields=["counterpart", "occurred_at"], include=["quality", "duration_minutes", "event"],
                         name="interaction_counterpart_idx"),
            models.Index(fields=["event", "occurred_at"], name="interaction_event_idx"),
            # Contact fatigue (contacts.fatigue) counts the agency's staff interactions per side.
            models.Index(fields=["contact", "occurred_at"], condition=Q(staff_user__isnull=False),
                         name="interaction_staff_contact_idx"),
            models.Index(fields=["counterpart", "occurred_at"], condition=Q(staff_user__isnull=False),
                         name="interaction_staff_cpart_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.contact} ↔ {self.counterpart or '—'}"

    def clean(self) -> None:
        if self.external_id == "":
            self.external_id = None
        validate_happened(self, "occurred_at")
        errors = {}  # every error at its field at once (see Event.clean())
        if self.quality is not None and not 1 <= self.quality <= 5:
            errors["quality"] = _("Quality is rated from 1 to 5.")
        if self.counterpart_id is not None and self.counterpart_id == self.contact_id:
            errors["counterpart"] = _("A contact cannot interact with themselves.")
        if errors:
            raise ValidationError(errors)


class Feedback(TimeStampedModel):
    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="feedback")
    # No index of its own: feedback_contact_latest_idx leads with it.
    contact = models.ForeignKey(
        "contacts.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="feedback", db_index=False,
    )
    nps = models.PositiveSmallIntegerField(_("NPS (0–10)"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–10)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, max_length=FREE_TEXT_MAX_LENGTH, validators=[validate_free_text_length])
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.UniqueConstraint(fields=["event", "contact"], name="feedback_event_contact_unique",
                violation_error_message=_("This contact already gave feedback for this event.")),
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__gte=0, nps__lte=10), name="feedback_nps_range",
                violation_error_message=_("NPS is answered from 0 to 10.")),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=10),
                name="feedback_satisfaction_range",
                violation_error_message=_("Satisfaction is rated from 1 to 10."),
            ),
        ]
        indexes = [
            # INCLUDE: the scoring aggregation reads a contact's latest NPS (newest first, the
            # higher id first among equal moments) from the index alone, in index order; the
            # event for the relationship lift's counterfactual (without one event's rows).
            models.Index(fields=["contact", "-submitted_at", "-id"], include=["nps", "event"],
                         name="feedback_contact_latest_idx"),
        ]

    def __str__(self) -> str:
        return _("Feedback of %(contact)s on %(event)s") % {"contact": self.contact, "event": self.event}

    def clean(self) -> None:
        validate_happened(self, "submitted_at")
        errors = {}  # every error at its field at once (see Event.clean())
        # Checked when the feedback is given or moved to another event: an event moved or cancelled
        # afterwards (or answers stored before the rule) keep their feedback editable.
        if self.event_id is not None and (self._state.adding or self.event_id != stored_value(self, "event_id")):
            if self.event.too_early_to_attend():
                errors["event"] = FEEDBACK_NOT_STARTED_MESSAGE
            elif self.event.status == EventStatus.CANCELLED:
                errors["event"] = FEEDBACK_CANCELLED_MESSAGE
        if self.nps is not None and not 0 <= self.nps <= 10:
            errors["nps"] = _("NPS is answered from 0 to 10.")
        if self.satisfaction is not None and not 1 <= self.satisfaction <= 10:
            errors["satisfaction"] = _("Satisfaction is rated from 1 to 10.")
        if errors:
            raise ValidationError(errors)


class ImportColumnMapping(models.Model):
    """The column mapping a user last confirmed for an attendee list with these headers
    (events.import_mapping): suggested to that user when the same headers come again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    # sha256 of the normalized header list (import_mapping.headers_key).
    headers_key = models.CharField(_("headers"), max_length=64)
    preset = models.CharField(_("preset"), max_length=20)
    # The target field of each column, by position ("email", "first_name", …, "ignore").
    mapping = models.JSONField(_("mapping"), default=list)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("import column mapping")
        verbose_name_plural = _("import column mappings")
        constraints = [
            models.UniqueConstraint(fields=["user", "headers_key"], name="import_column_mapping_user_headers_unique",
                violation_error_message=_("This user already has a mapping for these headers.")),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.headers_key[:12]} ({self.preset})"


class AttendeeImport(models.Model):
    """An attendee list uploaded in the admin, previewed and imported by Celery tasks (events.imports).

    The file is kept here, not on a disk, because the web process and the worker share none;
    it (and what the preview made of its rows) is emptied once the import has run or was cancelled. `run` counts the starts of a
    preview or an import: a task carries the number of its start and stops as soon as the row
    says another one began (a changed mapping, a cancel). `rows_done` moves in the transaction
    of each batch of rows, so an import whose worker died resumes after the last committed batch.
    """

    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.SET_NULL, null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)
    # Moves with every batch: a task that stopped moving it for a while is sent again (the sweep).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    filename = models.CharField(_("file name"), max_length=255)
    source = models.CharField(_("source"), max_length=100, blank=True)
    data = models.BinaryField(_("file"), default=bytes, editable=False)
    description = models.CharField(_("format"), max_length=100, blank=True)
    headers = models.JSONField(_("headers"), default=list)
    # The first rows' cells (events.imports.FIRST_ROWS): the mapping form's suggestions and examples.
    first_rows = models.JSONField(_("first rows"), default=list)
    preset = models.CharField(_("preset"), max_length=20, blank=True)
    mapping = models.JSONField(_("mapping"), default=list)  # a target per column (events.import_mapping)
    remembered = models.BooleanField(_("mapping remembered"), default=False)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices,
                              default=ImportStatus.PREVIEWING)
    run = models.PositiveIntegerField(_("run"), default=1)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)  # starts of the run's task
    # Written by the task at work, at its start and with every batch: a stale one means it died.
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)  # of the uploader: the preview's texts
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    # The preview's counts and the rows it shows (events.imports.Preview as JSON).
    preview = models.JSONField(_("preview"), null=True, blank=True)
    # What the preview found each row says (events.imports.CheckedRowsWriter): the import reads it
    # instead of reading and cleaning the file again. Emptied with the file.
    checked_rows = models.BinaryField(_("checked rows"), default=bytes, editable=False)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    duplicate_count = models.PositiveIntegerField(_("repeated e-mails"), default=0)
    errors = models.JSONField(_("errors"), default=list)  # the first rows skipped: [line, {field: [message]}]
    duplicates = models.JSONField(_("repeated"), default=list)  # the first rows left out: [line, first line]
    failure = models.TextField(_("failure"), blank=True)

    class Meta:
        verbose_name = _("attendee import")
        verbose_name_plural = _("attendee imports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_total__isnull=True) | Q(rows_done__lte=F("rows_total")),
                name="attendee_import_rows_done_within_total",
                violation_error_message=_("More rows done than the file has."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} → {self.event}"

    @property
    def running(self) -> bool:
        return self.status in (ImportStatus.PREVIEWING, ImportStatus.IMPORTING)

    @property
    def percent(self) -> int:
        return min(100, self.rows_done * 100 // self.rows_total) if self.rows_total else 0
