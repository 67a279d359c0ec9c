"""Admin for event series, events, attendances, interactions and feedback (agency staff).

Writes go through events.services (ror_crm.admin_tools). Events are completed and
rescored by actions and buttons; completing one that has not ended asks first, on a page
like Django's delete confirmation. Attendee lists are imported from CSV/XLSX
(events.imports) through the bulk API's upsert.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.deadlines import default_follow_up_deadline_minutes, missed_deadline_queue
from events import admin_imports, admin_meeting_suggestions, services
from events.admin_panels import deadline_text, follow_up_deadline_panel, lapsed_panel, metrics_panel, series_chart
from events.choices import AttendanceStatus, EventStatus, ImportStatus
from events.exceptions import EventNotEnded
from events.models import (
    REGISTERED_STATUSES,
    Attendance,
    AttendeeImport,
    Event,
    EventSeries,
    Feedback,
    Interaction,
    checked_in_status,
)
from events.resources import AttendanceResource
from ror_crm import queue
from ror_crm.admin_tools import (
    SERVICE_ERRORS,
    ConstraintErrorsAtFieldsForm,
    ServiceAdminMixin,
    ServiceInlineMixin,
    SpreadsheetExportMixin,
    badge,
    event_column,
    person_name,
    related_or_none,
    short_date,
    short_datetime,
)
from ror_crm.validators import parse_id
from scoring.formatting import localized, signed
from scoring.pages import matched_lift as matched_lift_page

# An event page with more rows than this gets long (tens of thousands of pixels) and slow to
# save (and with a few hundred exceeds Django's limit of 1,000 POST fields); such events
# manage their rows in the attendance / interaction lists, linked from the page.
INLINE_MAX_ROWS = 30

# The field the completion confirmation page posts back: "yes, complete it although it has not ended".
CONFIRM_COMPLETION = "confirm_completion"
COMPLETION_CONFIRMATION_TEMPLATE = "admin/events/event/complete_confirmation.html"


class CompletionNeedsConfirmation(Exception):
    """The change form chose `completed` for an event that has not ended: ask before saving."""

    def __init__(self, event: Event):
        super().__init__(str(event))
        self.event = event


# Filters ------------------------------------------------------------------------------------


class EventFilter(admin.SimpleListFilter):
    """Filter rows by event: offers the latest events, accepts any (links from event pages)."""

    title = gettext_lazy("event")
    parameter_name = "event"
    recent = 15

    def lookups(self, request, model_admin):
        events = list(Event.objects.order_by("-starts_at")[: self.recent])
        selected = self.value()
        selected_id = parse_id(selected)
        if selected_id is not None and selected_id not in {event.pk for event in events}:
            events += list(Event.objects.filter(pk=selected_id))
        # The date stays on one line (a narrow sidebar broke "2026-05-" from "20").
        return [(str(event.pk), format_html('{} <span class="ror-nowrap">({})</span>', event.name, short_date(event.starts_at)))
                for event in events]

    def queryset(self, request, queryset):
        if (event_id := parse_id(self.value())) is not None:
            return queryset.filter(event_id=event_id)
        return queryset


class EventTimeFilter(admin.SimpleListFilter):
    title = gettext_lazy("time")
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [("upcoming", _("Upcoming")), ("past", _("Past"))]

    def queryset(self, request, queryset):
        if self.value() == "upcoming":
            return queryset.filter(ends_at__gte=timezone.now())
        if self.value() == "past":
            return queryset.filter(ends_at__lt=timezone.now())
        return queryset


class FollowUpDeadlineFilter(admin.SimpleListFilter):
    """The "Missed deadline" queue (contacts.deadlines.missed_deadline_queue): attendees whose
    follow-up deadline passed lately without a done follow-up for the event by then."""

    title = gettext_lazy("follow-up deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("missed", _("Missed"))]

    def queryset(self, request, queryset):
        if self.value() == "missed":
            return queryset.filter(pk__in=missed_deadline_queue(now=timezone.now()).values("pk"))
        return queryset


class NpsCategoryFilter(admin.SimpleListFilter):
    title = gettext_lazy("NPS category")
    parameter_name = "nps_category"

    def lookups(self, request, model_admin):
        return [("promoter", _("Promoters (9–10)")), ("passive", _("Passives (7–8)")), ("detractor", _("Detractors (0–6)"))]

    def queryset(self, request, queryset):
        ranges = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)}
        if self.value() in ranges:
            low, high = ranges[self.value()]
            return queryset.filter(nps__gte=low, nps__lte=high)
        return queryset


# Inlines on the event page ------------------------------------------------------------------


class AttendanceAdminForm(ConstraintErrorsAtFieldsForm):
    def clean(self):
        cleaned_data = super().clean()
        # A check-in time typed, the status left as it was: the person came (a no-show scanned late), as a
        # check-in time sent alone to the API. A status changed with it says what it says.
        if cleaned_data.get("checked_in_at") and "checked_in_at" in self.changed_data and "status" not in self.changed_data:
            cleaned_data["status"] = checked_in_status(None, cleaned_data["checked_in_at"])
        return cleaned_data


class EventAttendanceInline(ServiceInlineMixin, admin.TabularInline):
    model = Attendance
    form = AttendanceAdminForm
    fk_name = "event"
    fields = ("contact", "role", "status", "checked_in_at", "source", "external_id")
    autocomplete_fields = ("contact",)
    list_select_related = ("contact", "event")
    extra = 1
    show_change_link = True
    create_service = staticmethod(services.create_attendance)
    update_service = staticmethod(services.update_attendance)
    delete_service = staticmethod(services.delete_attendance)


class EventInteractionInline(ServiceInlineMixin, admin.TabularInline):
    model = Interaction
    fk_name = "event"
    # The staff member is on the interaction's own page (change link): the row fits 1,366 px.
    fields = ("contact", "counterpart", "kind", "occurred_at", "duration_minutes", "quality")
    autocomplete_fields = ("contact", "counterpart")
    list_select_related = ("contact", "counterpart", "staff_user", "event")
    extra = 0
    show_change_link = True
    create_service = staticmethod(services.record_interaction)
    update_service = staticmethod(services.update_interaction)
    delete_service = staticmethod(services.delete_interaction)


# Admins ---------------------------------------------------------------------------------------


@admin.register(EventSeries)
class EventSeriesAdmin(ServiceAdminMixin, admin.ModelAdmin):
    create_service = staticmethod(services.create_series)
    update_service = staticmethod(services.update_series)
    delete_service = staticmethod(services.delete_series)
    list_display = ("name", "edition_count", "latest_edition")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(edition_count=Count("events"), latest_edition=Max("events__starts_at"))

    @admin.display(description=gettext_lazy("editions"), ordering="edition_count")
    def edition_count(self, series):
        return series.edition_count

    @admin.display(description=gettext_lazy("latest edition"), ordering="latest_edition")
    def latest_edition(self, series):
        return short_date(series.latest_edition)


class EventAdminForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "follow_up_deadline_minutes" in self.fields:  # the site's default as configured, in words
            self.fields["follow_up_deadline_minutes"].help_text = _(
                "Minutes after the end of the event by which each attendee with an owner should have been followed "
                "up. Empty: the site's default, %(default)s. For hot leads: 60."
            ) % {"default": deadline_text(default_follow_up_deadline_minutes())}

    def clean(self):
        cleaned_data = super().clean()
        # Choosing "completed" here completes the event through complete_event() (in
        # create_event/update_event); the model's check "completed ⇒ completed_at" runs first.
        if cleaned_data.get("status") == EventStatus.COMPLETED and self.instance.completed_at is None:
            self.instance.completed_at = timezone.now()
        return cleaned_data


@admin.register(Event)
class EventAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = EventAdminForm
    create_service = staticmethod(services.create_event)
    update_service = staticmethod(services.update_event)
    delete_service = staticmethod(services.delete_event)

    list_display = ("name", "city", "starts", "status_badge", "registrations", "attended", "nps", "ror_percent")
    list_select_related = ("series", "metrics")
    list_filter = ("status", EventTimeFilter, "series", "kind", "format")
    date_hierarchy = "starts_at"
    search_fields = ("name", "city", "venue", "series__name")
    autocomplete_fields = ("series",)
    readonly_fields = ("completed_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "series", ("kind", "format"), ("venue", "city"), ("starts_at", "ends_at"))}),
        (gettext_lazy("Status"), {"fields": ("status", "completed_at", "follow_up_deadline_minutes")}),
        (gettext_lazy("Budget"), {"fields": ("capacity", ("cost", "currency"))}),
        (gettext_lazy("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = [EventAttendanceInline, EventInteractionInline]
    actions = ["complete_events", "recompute_scores"]
    list_per_page = 50

    class Media:
        css = {"all": ["admin-ror/admin.css"]}

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
            .select_related("series", "metrics")
            # As the event's RoR figures count them: registered, attended or no-show (not invited,
            # waitlisted or cancelled).
            .annotate(registration_count=Count("attendances", filter=Q(attendances__status__in=REGISTERED_STATUSES)))
        )

    @admin.display(description=gettext_lazy("starts"), ordering="starts_at")
    def starts(self, event):
        return short_date(event.starts_at)

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, event):
        return badge(event.status, event.get_status_display())

    @admin.display(description=gettext_lazy("registrations"), ordering="registration_count")
    def registrations(self, event):
        return event.registration_count

    @admin.display(description=gettext_lazy("attended"), ordering="metrics__attended")
    def attended(self, event):
        metrics = related_or_none(event, "metrics")
        return metrics.attended if metrics else "—"

    @admin.display(description=gettext_lazy("NPS"), ordering="metrics__nps")
    def nps(self, event):
        metrics = related_or_none(event, "metrics")
        return signed(metrics.nps) if metrics and metrics.nps is not None else "—"

    @admin.display(description=gettext_lazy("RoR %"), ordering="metrics__ror_percent")
    def ror_percent(self, event):
        metrics = related_or_none(event, "metrics")
        return f"{localized(metrics.ror_percent)} %" if metrics and metrics.ror_percent is not None else "—"

    # Inlines only while they stay small.

    def _row_counts(self, obj) -> dict[str, int]:
        if obj is None or obj.pk is None:
            return {"attendances": 0, "interactions": 0}
        if not hasattr(obj, "_admin_row_counts"):
            obj._admin_row_counts = {
                "attendances": obj.attendances.count(),
                "interactions": obj.interactions.count(),
            }
        return obj._admin_row_counts

    def get_inlines(self, request, obj):
        counts = self._row_counts(obj)
        inlines = []
        if counts["attendances"] <= INLINE_MAX_ROWS:
            inlines.append(EventAttendanceInline)
        if counts["interactions"] <= INLINE_MAX_ROWS:
            inlines.append(EventInteractionInline)
        return inlines

    # Change page: metrics panel and buttons.

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if event is not None:
            counts = self._row_counts(event)
            extra_context.update(metrics_panel(event))
            extra_context.update(lapsed_panel(event))
            extra_context.update(follow_up_deadline_panel(event))
            extra_context.update(matched_lift_page.lift_panel(event, request))
            extra_context.update({
                "series_chart": series_chart(event),
                "row_counts": counts,
                "inline_max_rows": INLINE_MAX_ROWS,
                "attendances_url": reverse("admin:events_attendance_changelist") + f"?event={event.pk}",
                "interactions_url": reverse("admin:events_interaction_changelist") + f"?event={event.pk}",
                "import_url": reverse("admin:events_event_import_attendees", args=[event.pk]),
                "complete_url": reverse("admin:events_event_complete", args=[event.pk]),
                "recompute_url": reverse("admin:events_event_recompute", args=[event.pk]),
                "meeting_suggestions_url": reverse("admin:events_event_meeting_suggestions", args=[event.pk]),
                "can_suggest_meetings": admin_meeting_suggestions.offered(self, request, event),
                "can_import": admin_imports.can_import(request.user),
                "can_complete": event.status in (EventStatus.PLANNED, EventStatus.LIVE)
                and self.has_change_permission(request, event),
                "can_recompute": event.status == EventStatus.COMPLETED and self.has_change_permission(request, event),
            })
        return super().change_view(request, object_id, form_url, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with queue.watch():  # the form's transaction commits inside: scoring was sent, or not
                response = super().changeform_view(request, object_id, form_url, extra_context)
            if getattr(request, "_event_completed_by_form", False) and (message := _scoring_message(1)):
                self.message_user(request, message, messages.INFO)
            return response
        except CompletionNeedsConfirmation as exc:
            # Nothing was saved (the view's transaction rolled back); the page posts the same
            # form again with the confirmation.
            carried = [
                (name, value) for name, values in request.POST.lists()
                if name not in ("csrfmiddlewaretoken", CONFIRM_COMPLETION) for value in values
            ]
            cancel_url = (reverse("admin:events_event_change", args=[exc.event.pk]) if exc.event.pk
                          else reverse("admin:events_event_changelist"))
            return self._completion_confirmation(request, [exc.event], hidden_fields=carried, cancel_url=cancel_url)

    def save_model(self, request, obj, form, change):
        was_completed = change and form.initial.get("status") == EventStatus.COMPLETED
        try:
            super().save_model(request, obj, form, change)
        except EventNotEnded as exc:
            raise CompletionNeedsConfirmation(obj) from exc
        if obj.status == EventStatus.COMPLETED and not was_completed:
            request._event_completed_by_form = True  # said by changeform_view, once scoring was sent after commit

    def extra_service_fields(self, request, obj, form, change):
        # The user confirmed completing an event that has not ended (the confirmation page).
        return {"force_completion": True} if _confirmed(request) else {}

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/import-attendees/", self.admin_site.admin_view(self.import_attendees_view),
                 name="{}_{}_import_attendees".format(*info)),
            path("<path:object_id>/complete/", self.admin_site.admin_view(self.complete_view),
                 name="{}_{}_complete".format(*info)),
            path("<path:object_id>/recompute/", self.admin_site.admin_view(self.recompute_view),
                 name="{}_{}_recompute".format(*info)),
            path("<path:object_id>/meeting-suggestions/", self.admin_site.admin_view(self.meeting_suggestions_view),
                 name="{}_{}_meeting_suggestions".format(*info)),
            path("<path:object_id>/meeting-suggestions/csv/",
                 self.admin_site.admin_view(self.meeting_suggestions_csv_view),
                 name="{}_{}_meeting_suggestions_csv".format(*info)),
            *super().get_urls(),
        ]

    def _event_or_404(self, request, object_id) -> Event:
        event = self.get_object(request, unquote(object_id))
        if event is None:
            raise Http404(_("No event with id %(id)s.") % {"id": object_id})
        return event

    def import_attendees_view(self, request, object_id):
        return admin_imports.import_attendees_view(self, request, self._event_or_404(request, object_id))

    def meeting_suggestions_view(self, request, object_id):
        event = self._event_or_404(request, object_id)
        return admin_meeting_suggestions.meeting_suggestions_view(self, request, event)

    def meeting_suggestions_csv_view(self, request, object_id):
        event = self._event_or_404(request, object_id)
        return admin_meeting_suggestions.meeting_suggestions_view(self, request, event, as_csv=True)

    def complete_view(self, request, object_id):
        event = self._event_or_404(request, object_id)
        if request.method != "POST":
            # A button's address opened by hand, or after a login redirect: the event's page.
            return HttpResponseRedirect(reverse("admin:events_event_change", args=[event.pk]))
        if not self.has_change_permission(request, event):
            raise PermissionDenied
        change_url = reverse("admin:events_event_change", args=[event.pk])
        not_ended = self._complete(request, [event], force=_confirmed(request))
        if not_ended:
            return self._completion_confirmation(request, not_ended, hidden_fields=[], cancel_url=change_url)
        return HttpResponseRedirect(change_url)

    def recompute_view(self, request, object_id):
        event = self._event_or_404(request, object_id)
        if request.method != "POST":
            # A button's address opened by hand, or after a login redirect: the event's page.
            return HttpResponseRedirect(reverse("admin:events_event_change", args=[event.pk]))
        if not self.has_change_permission(request, event):
            raise PermissionDenied
        self._recompute(request, [event])
        return HttpResponseRedirect(reverse("admin:events_event_change", args=[event.pk]))

    # Actions.

    @admin.action(description=gettext_lazy("Complete selected events (scores them)"), permissions=["change"])
    def complete_events(self, request, queryset):
        not_ended = self._complete(request, queryset, force=_confirmed(request))
        if not_ended:
            hidden_fields = [("action", "complete_events"), *((ACTION_CHECKBOX_NAME, event.pk) for event in not_ended)]
            return self._completion_confirmation(
                request, not_ended, hidden_fields=hidden_fields, cancel_url=reverse("admin:events_event_changelist"),
            )
        return None

    @admin.action(description=gettext_lazy("Recompute scores and metrics of selected events"), permissions=["change"])
    def recompute_scores(self, request, queryset):
        self._recompute(request, queryset)

    def _complete(self, request, events, *, force: bool = False) -> list[Event]:
        """Complete the events; return those refused because they have not ended (unless
        `force`), for the confirmation page. Events that have ended complete directly."""
        completed: list[Event] = []
        already = 0
        not_ended = []
        for event in events:
            if event.status == EventStatus.COMPLETED:
                already += 1
                continue
            try:
                services.complete_event(event, force=force)
            except EventNotEnded:
                not_ended.append(event)
            except SERVICE_ERRORS as exc:
                self.report_service_error(request, event, exc)
            else:
                completed.append(event)
        if completed:
            self.message_user(request, (ngettext(
                "Completed %(count)d event.", "Completed %(count)d events.", len(completed)
            ) % {"count": len(completed)} + " " + _scoring_message(len(completed))).strip(), messages.SUCCESS)
            self._warn_of_events_nobody_attended(request, completed)
        if already:
            self.message_user(request, ngettext(
                "%(count)d event was already completed.", "%(count)d events were already completed.", already
            ) % {"count": already}, messages.INFO)
        return not_ended

    def _warn_of_events_nobody_attended(self, request, events: list[Event]) -> None:
        """An event completed with registrations and not one attendee was most likely run without
        check-in in the CRM: its figures count no one (show rate 0, everyone lapsed). Said, with
        what to do; a check-in now is late data, which computes them again."""
        for event in Event.objects.filter(pk__in=[event.pk for event in events]).annotate(
            registered=Count("attendances", filter=Q(attendances__status__in=REGISTERED_STATUSES)),
            attended=Count("attendances", filter=Q(attendances__status=AttendanceStatus.ATTENDED)),
        ).filter(registered__gt=0, attended=0):
            self.message_user(request, format_html(
                _("Nobody is marked attended at {event}: its figures count no attendees. Check in who came "
                  "(its attendances, “Check in selected attendances”) and they are computed again."),
                event=event), messages.WARNING)

    def _completion_confirmation(self, request, events, *, hidden_fields, cancel_url: str) -> TemplateResponse:
        """Like Django's delete confirmation: the events that have not ended, and a form that
        posts the same request back with CONFIRM_COMPLETION."""
        context = {
            **self.admin_site.each_context(request),
            "title": ngettext(
                "Complete an event that has not ended yet?", "Complete events that have not ended yet?", len(events)
            ),
            "opts": self.opts,
            "events": [(event, short_datetime(event.ends_at))
                       for event in events],
            "hidden_fields": hidden_fields,
            "confirm_field": CONFIRM_COMPLETION,
            "form_action": request.get_full_path(),
            "cancel_url": cancel_url,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, COMPLETION_CONFIRMATION_TEMPLATE, context)

    def _recompute(self, request, events) -> None:
        scheduled = 0
        for event in events:
            if event.status != EventStatus.COMPLETED:
                self.message_user(request, _(
                    "%(event)s: only completed events are scored; complete it first."
                ) % {"event": event}, messages.ERROR)
                continue
            services.request_event_recompute(event)
            scheduled += 1
        if scheduled:
            self.message_user(request, (ngettext(
                # what was done, whether the scoring then ran in-process or was queued
                "Recompute requested for %(count)d event.", "Recompute requested for %(count)d events.", scheduled
            ) % {"count": scheduled} + " " + _scoring_message(scheduled)).strip(), messages.SUCCESS)


def _confirmed(request) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRM_COMPLETION) == "yes"


def _scoring_message(count: int) -> str:
    sends = queue.current()
    if sends is not None and sends.deferred:  # Redis down: QueueDownAdminMessageMiddleware says so
        return ""
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no broker: the task ran right after the commit
        return _("Scores and event metrics were computed.")
    return _("Scoring was queued: scores and event metrics are computed in the background.")


@admin.register(Attendance)
class AttendanceAdmin(ServiceAdminMixin, SpreadsheetExportMixin, admin.ModelAdmin):
    form = AttendanceAdminForm
    create_service = staticmethod(services.create_attendance)
    update_service = staticmethod(services.update_attendance)
    delete_service = staticmethod(services.delete_attendance)
    contact_fields = ("contact",)
    resource_classes = [AttendanceResource]
    change_list_template = "admin/events/attendance/change_list.html"

    list_display = ("contact_name", "organization", event_column, "role", "status_badge", "checked_in", "external_id")
    list_select_related = ("contact__organization", "event")
    list_filter = (EventFilter, FollowUpDeadlineFilter, "status", "role", "event__series", "source")
    search_fields = ("contact__email", "contact__first_name", "contact__last_name", "external_id", "event__name")
    autocomplete_fields = ("contact", "event")
    fields = ("event", "contact", "role", "status", "registered_at", "checked_in_at", "source", "external_id")
    actions = ["check_in_selected"]
    list_per_page = 100

    @admin.display(description=gettext_lazy("contact"), ordering="contact__last_name")
    def contact_name(self, attendance):
        return attendance.contact.display_name

    @admin.display(description=gettext_lazy("organization"), ordering="contact__organization__name")
    def organization(self, attendance):
        return attendance.contact.organization or "—"

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, attendance):
        return badge(attendance.status, attendance.get_status_display())

    @admin.display(description=gettext_lazy("checked in"), ordering="checked_in_at")
    def checked_in(self, attendance):
        return short_datetime(attendance.checked_in_at)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("import/", self.admin_site.admin_view(self.import_attendees_view),
                 name="{}_{}_import".format(*info)),
            *super().get_urls(),
        ]

    def import_attendees_view(self, request):
        return admin_imports.import_attendees_view(self, request, None)

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_import"] = admin_imports.can_import(request.user)
        return super().changelist_view(request, extra_context)

    @admin.action(description=gettext_lazy("Check in selected attendances"), permissions=["change"])
    def check_in_selected(self, request, queryset):
        selected = list(queryset.select_related("contact", "event"))
        result = services.check_in_attendances(selected)
        if result.checked_in:
            message = ngettext(
                "Checked in %(count)d attendance.", "Checked in %(count)d attendances.", result.checked_in
            ) % {"count": result.checked_in}
            now = timezone.now()
            if any(attendance.event.ends_at < now and attendance.checked_in_at is None for attendance in selected):
                message += " " + _("At an event that has ended, the check-in time is the event's start: a check-in "
                                   "afterwards says who came, not when.")
            self.message_user(request, message, messages.SUCCESS)
        if result.already_checked_in:
            self.message_user(request, ngettext(
                "%(count)d was already checked in.", "%(count)d were already checked in.", result.already_checked_in
            ) % {"count": result.already_checked_in}, messages.INFO)
        if result.unknown:
            # The service names the rows "#id"; people read who and where.
            names = {f"#{attendance.pk}": f"{self.contact_name(attendance)} @ {attendance.event}" for attendance in selected}
            left_out = _("Not checked in (contact erased, or the event has not started yet or was cancelled): %(rows)s")
            self.message_user(request, left_out % {
                "rows": "; ".join(names.get(row, row) for row in result.unknown)}, messages.WARNING)


@admin.register(Interaction)
class InteractionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    create_service = staticmethod(services.record_interaction)
    update_service = staticmethod(services.update_interaction)
    delete_service = staticmethod(services.delete_interaction)
    contact_fields = ("contact", "counterpart")

    list_display = ("contact", "counterpart", event_column, "kind", "occurred", "quality")
    list_select_related = ("contact", "counterpart", "event", "staff_user")
    list_filter = (EventFilter, "kind", "quality", "event__series")
    date_hierarchy = "occurred_at"
    search_fields = ("contact__email", "contact__last_name", "counterpart__email", "counterpart__last_name", "notes")
    autocomplete_fields = ("contact", "counterpart", "event", "staff_user")
    fields = ("event", "contact", "counterpart", "staff_user", "kind", "occurred_at", "duration_minutes", "quality",
              "notes", "source", "external_id")
    list_per_page = 100

    @admin.display(description=gettext_lazy("occurred"), ordering="occurred_at")
    def occurred(self, interaction):
        return short_datetime(interaction.occurred_at)


@admin.register(Feedback)
class FeedbackAdmin(ServiceAdminMixin, admin.ModelAdmin):
    create_service = staticmethod(services.record_feedback)
    update_service = staticmethod(services.update_feedback)
    delete_service = staticmethod(services.delete_feedback)
    contact_fields = ("contact",)

    list_display = ("contact", event_column, "nps", "satisfaction", "submitted")
    list_select_related = ("contact", "event")
    list_filter = (EventFilter, NpsCategoryFilter, "event__series")
    date_hierarchy = "submitted_at"
    search_fields = ("contact__email", "contact__last_name", "comment")
    autocomplete_fields = ("contact", "event")
    fields = ("event", "contact", "nps", "satisfaction", "comment", "submitted_at")
    list_per_page = 100

    @admin.display(description=gettext_lazy("submitted at"), ordering="submitted_at")
    def submitted(self, feedback):
        return short_datetime(feedback.submitted_at)


@admin.register(AttendeeImport)
class AttendeeImportAdmin(admin.ModelAdmin):
    """The attendee lists uploaded: each one's page follows it from the preview to the result
    (events.admin_imports). Made by the upload form, never edited; deleting one keeps what it imported."""

    list_display = ("filename", "event", "status_badge", "rows", "uploaded_by", "created_at")
    list_filter = ("status",)
    search_fields = ("filename", "event__name")
    list_select_related = ("event", "created_by")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # The file, the preview and its rows can be megabytes each: the list shows none of them.
        return super().get_queryset(request).defer("data", "checked_rows", "first_rows", "preview", "errors",
                                                   "duplicates")

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, attendee_import):
        return badge(attendee_import.status, attendee_import.get_status_display())

    @admin.display(description=gettext_lazy("uploaded by"), ordering="created_by__first_name")
    def uploaded_by(self, attendee_import):
        return person_name(attendee_import.created_by) if attendee_import.created_by else "—"

    @admin.display(description=gettext_lazy("rows"))
    def rows(self, attendee_import):
        if attendee_import.status == ImportStatus.IMPORTING:
            return f"{attendee_import.rows_done} / {attendee_import.rows_total}"
        return attendee_import.rows_total if attendee_import.rows_total is not None else attendee_import.rows_done

    def has_add_permission(self, request):
        return False  # imports start from the upload form

    def has_view_permission(self, request, obj=None):
        return admin_imports.can_import(request.user)

    def has_change_permission(self, request, obj=None):
        return admin_imports.can_import(request.user)

    def has_delete_permission(self, request, obj=None):
        return admin_imports.can_import(request.user)

    def has_module_permission(self, request):
        return admin_imports.can_import(request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The page shows the preview, first rows and skipped rows (deferred in the list), never the
        # file nor the preview's rows.
        try:
            attendee_import = (AttendeeImport.objects.select_related("event", "created_by").defer("data", "checked_rows")
                               .filter(pk=int(unquote(object_id))).first())
        except ValueError:  # not an id
            attendee_import = None
        if attendee_import is None:
            raise Http404(_("No attendee import with id %(id)s.") % {"id": object_id})
        return admin_imports.import_page_view(self, request, attendee_import)
