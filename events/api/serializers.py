from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from contacts.api.serializers import ContactSerializer
from events.choices import (
    AttendanceRole,
    AttendanceStatus,
    EventFormat,
    EventKind,
    EventStatus,
    InteractionKind,
    MeetingReason,
)
from events.meeting_suggestions import PER_ATTENDEE_MAX
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from partners.serializers import (
    BooleanField,
    DecimalField,
    EmailField,
    IdRelatedField,
    IntegerField,
    MomentField,
    PartnerModelSerializer,
    TextField,
    WholeNumberField,
)
from ror_crm.validators import validate_not_future


class SeriesSerializer(PartnerModelSerializer):
    class Meta:
        model = EventSeries
        fields = ["id", "name", "description", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class EventSerializer(PartnerModelSerializer):
    kind = serializers.ChoiceField(choices=EventKind.choices, required=False)
    format = serializers.ChoiceField(choices=EventFormat.choices, required=False)
    status = serializers.ChoiceField(
        choices=EventStatus.choices, required=False,
        help_text="`completed` completes the event as `complete/` does, without force: 409 `event_not_ended` "
                  "before `ends_at`. A completed event is not moved back: 409 `event_completed`.",
    )
    completed_at = MomentField(
        required=False, allow_null=True, validators=[validate_not_future],
        help_text="Set when the event is completed (now). With `status: completed` in the same request it may date "
                  "the completion in the past, for a backfill of past events (their relationship lift is a figure as "
                  "of the completion): not before `ends_at`, not in the future. Otherwise it changes nothing: "
                  "the stored value (or null before the completion) is taken as it is; another time, or null on a "
                  "completed event, is a 400 on `completed_at`.",
    )
    cost = DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True, coerce_to_string=False
    )
    # Not trimmed: the schema's pattern and maxLength hold for the text as sent.
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", max_length=3, required=False, trim_whitespace=False,
                                      error_messages={"invalid": _("A three-letter currency code, e.g. EUR.")})
    capacity = IntegerField(min_value=0, max_value=10_000_000, required=False, allow_null=True)
    follow_up_deadline_minutes = IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, allow_null=True,
        help_text="Minutes after `ends_at` by which every attendee with an owner should have been followed up "
                  "(`follow-ups/missed/`, `reports/follow-up-performance/`). Null: the site's default, 2,880 "
                  "(48 h) unless configured otherwise. For hot leads: 60.",
    )

    class Meta:
        model = Event
        fields = [
            "id", "name", "series", "kind", "format", "venue", "city", "starts_at", "ends_at", "status", "capacity",
            "cost", "currency", "follow_up_deadline_minutes", "completed_at", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class CompleteEventSerializer(serializers.Serializer):
    """The body of `events/{id}/complete/`; an empty body is `{"force": false}`."""

    force = BooleanField(
        required=False, default=False,
        help_text="Complete the event although its `ends_at` is still ahead (otherwise 409 `event_not_ended`).",
    )
    completed_at = MomentField(
        required=False, validators=[validate_not_future],
        help_text="When the event was completed (default: now), for a backfill of past events: their relationship "
                  "lift is a figure as of the completion. Not before `ends_at` (not before "
                  "`starts_at` when forced), not in the future: a 400 on `completed_at`. Ignored when the event is "
                  "already completed.",
    )


CHECKED_IN_ONLY_ATTENDED = (
    "Only an attended row has a check-in time. Given with `registered` or `invited`, or without a status (a no-show "
    "scanned late came after all), a check-in time makes the row `attended`; given with `no_show`, `cancelled` or "
    "`waitlisted` it is a 400 on `checked_in_at`, and one of those statuses for a checked-in row is a 400 on "
    "`status` unless `checked_in_at` is cleared (`null`) with it.")


class AttendanceSerializer(PartnerModelSerializer):
    role = serializers.ChoiceField(choices=AttendanceRole.choices, required=False)
    status = serializers.ChoiceField(choices=AttendanceStatus.choices, required=False,
                                     help_text=CHECKED_IN_ONLY_ATTENDED)
    external_id = TextField(max_length=200, required=False, allow_null=True, allow_blank=True)

    class Meta:
        model = Attendance
        fields = [
            "id", "event", "contact", "role", "status", "registered_at", "checked_in_at", "source", "external_id",
            "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []  # duplicates are the service's 409 with the existing id


class InteractionSerializer(PartnerModelSerializer):
    kind = serializers.ChoiceField(choices=InteractionKind.choices, required=False)
    quality = IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    duration_minutes = IntegerField(min_value=0, max_value=100_000, required=False, allow_null=True)
    staff_user = IdRelatedField(queryset=get_user_model().objects.all(), required=False, allow_null=True)
    external_id = TextField(max_length=200, required=False, allow_null=True, allow_blank=True)

    class Meta:
        model = Interaction
        fields = [
            "id", "event", "contact", "counterpart", "staff_user", "kind", "occurred_at", "duration_minutes", "quality",
            "notes", "source", "external_id", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []  # the model's rules (not with oneself, …) are checked by the service


class FeedbackSerializer(PartnerModelSerializer):
    nps = IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    satisfaction = IntegerField(min_value=1, max_value=10, required=False, allow_null=True)

    class Meta:
        model = Feedback
        fields = ["id", "event", "contact", "nps", "satisfaction", "comment", "submitted_at", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []


class AttendeeRowSerializer(serializers.Serializer):
    """One row of `attendances/bulk/` (documentation: rows are validated one by one by the
    service, with events.forms.AttendeeRowForm). Blank or null optional values leave what is stored."""

    email = EmailField(max_length=254)
    first_name = TextField(max_length=100, required=False, allow_blank=True, allow_null=True)
    last_name = TextField(max_length=100, required=False, allow_blank=True, allow_null=True)
    organization = TextField(max_length=200, required=False, allow_blank=True, allow_null=True)
    job_title = TextField(max_length=200, required=False, allow_blank=True, allow_null=True)
    role = serializers.ChoiceField(choices=AttendanceRole.choices, required=False, allow_blank=True, allow_null=True)
    status = serializers.ChoiceField(choices=AttendanceStatus.choices, required=False, allow_blank=True, allow_null=True,
                                     help_text="A status never moves back: `invited`, then `registered`, `waitlisted` "
                                               "or `cancelled`, then `no_show`, then `attended`.")
    checked_in_at = MomentField(required=False, allow_null=True, help_text=CHECKED_IN_ONLY_ATTENDED
                                + " A stored check-in time stays.")
    external_id = TextField(max_length=200, required=False, allow_blank=True, allow_null=True)
    source = TextField(max_length=100, required=False, allow_blank=True, allow_null=True)


class BulkAttendancesSerializer(serializers.Serializer):
    # Any JSON value per row (null too): what is no row object is reported by its position.
    rows = serializers.ListField(child=serializers.JSONField(allow_null=True), allow_empty=True)


class BulkRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = BulkRowErrorSerializer(many=True)


class CheckInSerializer(serializers.Serializer):
    # A blank entry (an empty cell of a scanner's list) is reported as unknown, as any other that
    # matches nobody: it does not cost the list's other check-ins.
    emails = serializers.ListField(child=TextField(max_length=254, allow_blank=True), required=False, max_length=1000)
    external_ids = serializers.ListField(child=TextField(max_length=200, allow_blank=True), required=False,
                                         max_length=1000)
    source = TextField(
        max_length=100, required=False, allow_blank=True, trim_whitespace=False,
        help_text="With `external_ids`: only attendances of this source (`external_id` is unique per source, so two "
                  "systems may use the same id); `\"\"` is the attendances stored without a source. Without it, an id "
                  "matches the event's attendances of every source.",
    )
    checked_in_at = MomentField(
        required=False, validators=[validate_not_future],
        help_text="The check-in time of every attendance checked in now (default: now, or the event's start once the "
                  "event has ended: a check-in sent afterwards says who came, not when); not in the future, nor more "
                  "than a day before the event's start (a 400 on `checked_in_at`). A stored check-in time stays.",
    )

    def validate(self, attrs: dict) -> dict:
        if ("emails" in attrs) == ("external_ids" in attrs):
            raise serializers.ValidationError(_("Send either `emails` or `external_ids`."))
        if "source" in attrs and "emails" in attrs:
            raise serializers.ValidationError({"source": [_("`source` goes with `external_ids`, not with `emails`.")]})
        return attrs


class CheckInResultSerializer(serializers.Serializer):
    checked_in = serializers.IntegerField()
    already_checked_in = serializers.IntegerField()
    unknown = serializers.ListField(child=serializers.CharField())


class SeriesEditionSerializer(serializers.Serializer):
    event = serializers.IntegerField()
    name = serializers.CharField()
    starts_at = serializers.DateTimeField()
    status = serializers.CharField()
    attended = serializers.IntegerField(allow_null=True)
    new = serializers.IntegerField(allow_null=True)
    returning_share = serializers.FloatField(allow_null=True)
    series_retention_rate = serializers.FloatField(allow_null=True)
    nps = serializers.FloatField(allow_null=True)
    ror_percent = serializers.FloatField(allow_null=True)


class SeriesReportSerializer(serializers.Serializer):
    series = serializers.IntegerField()
    name = serializers.CharField()
    editions = SeriesEditionSerializer(many=True)


class BulkAttendancesRequestSerializer(serializers.Serializer):
    """The documented request shape; invalid rows are reported per row, not refused whole."""

    rows = AttendeeRowSerializer(many=True, max_length=1000)


class LapsedContactSerializer(ContactSerializer):
    """A contact as `contacts/` shows it, with its last touch and last attendance (from its score)."""

    last_touch_at = serializers.DateTimeField(
        source="score.last_touch_at", read_only=True, allow_null=True, default=None,
        help_text="The contact's latest touchpoint, as of its score's `computed_at`.",
    )
    last_attended_at = serializers.DateTimeField(
        source="score.last_attended_at", read_only=True, allow_null=True, default=None,
        help_text="Start of the last event the contact attended, as of its score's `computed_at`.",
    )

    attendance_status = serializers.ChoiceField(
        choices=AttendanceStatus.choices, read_only=True, allow_null=True,
        help_text="The contact's attendance status at this event (registered, waitlisted, …); null: none.",
    )

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "last_touch_at", "last_attended_at", "attendance_status"]
        read_only_fields = fields


class MeetingSuggestionsQuerySerializer(serializers.Serializer):
    per_attendee = WholeNumberField(
        min_value=1, max_value=PER_ATTENDEE_MAX, required=False,
        help_text="At most this many suggestions per attendee, 1–50 (default 5, the `MEETING_SUGGESTIONS_PER_ATTENDEE` setting).",
    )


class MeetingPartySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="contact_id", help_text="The contact's id.")
    name = serializers.CharField(help_text="Full name, else the e-mail.")
    organization = serializers.CharField(allow_null=True, help_text="The organization's name, or null.")


class MeetingSuggestionSerializer(serializers.Serializer):
    contact = MeetingPartySerializer(source="attendee_a", help_text="The side with the lower contact id.")
    counterpart = MeetingPartySerializer(source="attendee_b", help_text="The side with the higher contact id.")
    value = serializers.FloatField(help_text="The sum of the reasons' weights: follow-up pending 3, same industry 2, "
                                             "1 per shared tag, both high-score 1.")
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=MeetingReason.choices),
                                    help_text="Machine codes, strongest first.")
    reason = serializers.CharField(help_text="The reasons in words.")


class MeetingSuggestionsSerializer(serializers.Serializer):
    event = serializers.IntegerField()
    per_attendee = serializers.IntegerField(help_text="At most this many suggestions name one attendee.")
    count = serializers.IntegerField(help_text="Suggestions in the whole list, on every page.")
    next = serializers.CharField(allow_null=True, help_text="The next page, or null on the last.")
    previous = serializers.CharField(allow_null=True, help_text="The page before, or null on the first.")
    results = MeetingSuggestionSerializer(many=True, help_text="Most valuable first.")


def _party_data(attendee) -> dict:
    return {"id": attendee.contact_id, "name": attendee.name, "organization": attendee.organization}


def meeting_suggestions_data(event_id: int, per_attendee: int, suggestions, *, count: int, next_url: str | None,
                             previous_url: str | None) -> dict:
    """MeetingSuggestionsSerializer's shape for a page of suggestions, built directly: DRF's field
    machinery takes about a second for the 12,500 suggestions of a 5,000-attendee event."""
    return {"event": event_id, "per_attendee": per_attendee, "count": count, "next": next_url,
            "previous": previous_url, "results": [
        {"contact": _party_data(suggestion.attendee_a), "counterpart": _party_data(suggestion.attendee_b),
         "value": suggestion.value, "reasons": suggestion.reasons, "reason": suggestion.reason}
        for suggestion in suggestions
    ]}
