from django.db.models import Q
from django_filters import rest_framework as filters

from events.choices import AttendanceRole, AttendanceStatus, EventKind, EventStatus, InteractionKind
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from partners.filters import IdFilter, MomentFilter, UpdatedSinceFilterSet


class SeriesFilterSet(UpdatedSinceFilterSet):
    class Meta:
        model = EventSeries
        fields: list[str] = []


class EventFilterSet(UpdatedSinceFilterSet):
    series = IdFilter(field_name="series_id")
    status = filters.ChoiceFilter(choices=EventStatus.choices)
    kind = filters.ChoiceFilter(choices=EventKind.choices)
    starts_after = MomentFilter(field_name="starts_at", lookup_expr="gte", help_text="Starting at or after this time.")
    starts_before = MomentFilter(field_name="starts_at", lookup_expr="lt",
                                 help_text="Starting before this time (not at it).")

    class Meta:
        model = Event
        fields: list[str] = []


class AttendanceFilterSet(UpdatedSinceFilterSet):
    event = IdFilter(field_name="event_id")
    contact = IdFilter(field_name="contact_id")
    status = filters.ChoiceFilter(choices=AttendanceStatus.choices)
    role = filters.ChoiceFilter(choices=AttendanceRole.choices)
    source = filters.CharFilter()

    class Meta:
        model = Attendance
        fields: list[str] = []


class InteractionFilterSet(UpdatedSinceFilterSet):
    event = IdFilter(field_name="event_id")
    contact = IdFilter(field_name="contact_id", help_text="The interaction's `contact` (one side; see `participant`).")
    participant = IdFilter(
        method="filter_participant",
        help_text="This contact on either side, as `contact` or as `counterpart`: every interaction that counts for "
                  "them (as the score and the timeline count them).",
    )
    kind = filters.ChoiceFilter(choices=InteractionKind.choices)
    occurred_after = MomentFilter(field_name="occurred_at", lookup_expr="gte", help_text="At or after this time.")
    occurred_before = MomentFilter(field_name="occurred_at", lookup_expr="lt",
                                   help_text="Before this time (not at it).")

    class Meta:
        model = Interaction
        fields: list[str] = []

    def filter_participant(self, queryset, name, value):
        return queryset.filter(Q(contact_id=value) | Q(counterpart_id=value))


class FeedbackFilterSet(UpdatedSinceFilterSet):
    event = IdFilter(field_name="event_id")
    contact = IdFilter(field_name="contact_id")

    class Meta:
        model = Feedback
        fields: list[str] = []
