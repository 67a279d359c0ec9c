from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts import services
from contacts.choices import DealStatus, FollowUpChannel, FollowUpOutcome, FollowUpStatus
from contacts.models import TAG_MAX_LENGTH, TAGS_MAX, Contact, FollowUp, Organization, Referral, normalize_email
from contacts.selectors import TimelineEntry
from partners.serializers import (
    BooleanField,
    DecimalField,
    EmailField,
    IdRelatedField,
    MomentField,
    OptionalEmailField,
    PartnerModelSerializer,
    QueryBooleanField,
    TextField,
    WholeNumberField,
    moment_text,
)
from ror_crm.validators import MAX_ID
from scoring.choices import ChurnRisk, LifecycleStage
from scoring.services.next_action import days_overdue

# Personal data that GDPR erasure removes; erased contacts show these as null (API.md).
PERSONAL_FIELDS = ("email", "first_name", "last_name", "job_title", "phone", "tags")


class OrganizationSerializer(PartnerModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "domain", "industry", "country", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []  # duplicates are the service's 409, not a 400


class ContactScoreSummarySerializer(serializers.Serializer):
    value = serializers.FloatField()
    stage = serializers.ChoiceField(choices=LifecycleStage.choices)
    churn_risk = serializers.ChoiceField(choices=ChurnRisk.choices)
    computed_at = serializers.DateTimeField()
    next_touch_due = serializers.DateTimeField(
        allow_null=True, help_text="When the keep-in-touch cadence asks for the next touch (see `scores/`)."
    )
    days_overdue = serializers.IntegerField(
        allow_null=True, help_text="Whole days since `next_touch_due`, as of this response; 0 while not yet due, null "
        "without one (as on `scores/`).",
    )
    next_action = serializers.CharField(help_text="The next best action (see `scores/` for the rules).")
    next_action_reason = serializers.CharField()


class ContactSerializer(PartnerModelSerializer):
    email = EmailField(max_length=254)
    tags = serializers.ListField(
        child=TextField(max_length=TAG_MAX_LENGTH), required=False, max_length=TAGS_MAX,
        help_text="Trimmed; blanks dropped; repeats in any case are one tag, the first spelling kept (the `tag` "
                  "filter matches any case).",
    )
    owner = IdRelatedField(queryset=get_user_model().objects.all(), required=False, allow_null=True)
    score = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id", "email", "first_name", "last_name", "organization", "job_title", "phone", "owner", "tags",
            "marketing_consent", "do_not_contact", "cadence_days", "score", "erased_at", "created_at", "updated_at",
        ]
        read_only_fields = ["erased_at", "created_at", "updated_at"]
        extra_kwargs = {"cadence_days": {"help_text": (
            "The contact's own keep-in-touch cadence (days between touches, 1–3,650); null: its organization's, "
            "tags' or lifecycle stage's (see `scores/`)."
        )}}
        validators: list = []

    @extend_schema_field(ContactScoreSummarySerializer(allow_null=True))
    def get_score(self, contact: Contact) -> dict | None:
        # Built directly, not by a ContactScoreSummarySerializer per row: that cost most of a
        # page's serialization (its fields are deep-copied for every instance).
        score = getattr(contact, "score", None)  # RelatedObjectDoesNotExist is an AttributeError
        if score is None:
            return None
        return {
            "value": score.score, "stage": score.stage, "churn_risk": score.churn_risk,
            "computed_at": moment_text(score.computed_at, self.zone),
            "next_touch_due": moment_text(score.next_touch_due, self.zone) if score.next_touch_due else None,
            "days_overdue": days_overdue(score.next_touch_due, timezone.now()),
            "next_action": score.next_action, "next_action_reason": score.next_action_reason,
        }

    @extend_schema_field(serializers.DateTimeField(read_only=True))
    def get_updated_at(self, contact: Contact) -> str:
        # The later of the contact's and its score's last write (ContactQuerySet.with_last_change());
        # a contact written by this request has its own, newer updated_at.
        last_change = max(contact.updated_at, getattr(contact, "last_change", None) or contact.updated_at)
        return moment_text(last_change, self.zone)

    def validate_email(self, value: str) -> str:
        return normalize_email(value)

    def validate_tags(self, value: list[str]) -> list[str]:
        return services.clean_tags(value)

    def to_representation(self, contact: Contact) -> dict:
        data = super().to_representation(contact)
        if contact.erased_at is not None:
            data.update(dict.fromkeys(PERSONAL_FIELDS))
        return data


class FollowUpSerializer(PartnerModelSerializer):
    channel = serializers.ChoiceField(choices=FollowUpChannel.choices, required=False)
    status = serializers.ChoiceField(choices=FollowUpStatus.choices, required=False)
    outcome = serializers.ChoiceField(choices=FollowUpOutcome.choices, required=False, allow_blank=True)
    deal_status = serializers.ChoiceField(
        choices=DealStatus.choices, required=False,
        help_text="Default `none`. A `deal_value` sent without a status to a follow-up with no deal makes it `open`; "
                  "`none` sent together with a value is a 400 on `deal_status` (the value would count nowhere: "
                  "pipeline and won value read open and won deals).",
    )
    deal_value = DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True, coerce_to_string=False
    )
    owner = IdRelatedField(queryset=get_user_model().objects.all(), required=False, allow_null=True)
    override = BooleanField(
        write_only=True, default=False,
        help_text="Plan the follow-up although the contact reached a contact-fatigue cap (the agency's own touches "
        "in a rolling window). Without it, planning one for such a contact is a 409 `contact_fatigue`; "
        "a done follow-up is never refused.",
    )

    class Meta:
        model = FollowUp
        fields = [
            "id", "contact", "event", "owner", "channel", "status", "due_at", "completed_at", "outcome", "summary",
            "next_step", "deal_value", "deal_status", "override", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"completed_at": {"help_text": (
            "When the conversation happened: set with status `done` (now when omitted or null as it becomes done), "
            "cleared otherwise; not before its event's start. `null` for a follow-up already done is a 400: it "
            "keeps the time it was done (send a time, or another status).")}}
        validators: list = []


class ReferralSerializer(PartnerModelSerializer):
    referred_email = OptionalEmailField()
    created_at = MomentField(
        required=False,
        help_text="When the referral was made (default: now), not in the future: a backfill gives the time it "
                  "happened. The referrer's advocacy and recency count it from then.",
    )

    class Meta:
        model = Referral
        fields = ["id", "referrer", "referred", "referred_email", "event", "created_at", "updated_at"]
        read_only_fields = ["updated_at"]
        validators: list = []  # the model's rules (not oneself, someone named) are checked by the service


class TimelineItemSerializer(serializers.Serializer):
    # Shows an entry of selectors.contact_timeline() as seen from context["contact"].
    type = serializers.ChoiceField(choices=["attendance", "interaction", "follow_up", "feedback", "referral"])
    at = serializers.DateTimeField()
    id = serializers.IntegerField()
    event = serializers.IntegerField(allow_null=True)
    summary = serializers.CharField()
    details = serializers.DictField()

    def to_representation(self, instance: TimelineEntry) -> dict:
        row = instance.record
        match instance.type:
            case "attendance":
                summary = f"{row.get_status_display()} as {row.get_role_display()}: {row.event.name}"
                details = {"role": row.role, "status": row.status, "checked_in_at": row.checked_in_at}
            case "interaction":
                contact = self.context["contact"]
                summary = row.get_kind_display()
                other = row.counterpart_id if row.contact_id == contact.pk else row.contact_id
                details = {"kind": row.kind, "with_contact": other, "quality": row.quality,
                           "duration_minutes": row.duration_minutes}
            case "follow_up":
                summary = f"{row.get_channel_display()} ({row.get_status_display()})"
                details = {"status": row.status, "outcome": row.outcome, "deal_status": row.deal_status,
                           "deal_value": row.deal_value, "due_at": row.due_at}
            case "feedback":
                summary = f"NPS {row.nps}" if row.nps is not None else "Feedback"
                details = {"nps": row.nps, "satisfaction": row.satisfaction}
            case _:
                received = row.referred_id == self.context["contact"].pk
                summary = "Referred by a contact" if received else "Referral"
                details = {"referrer": row.referrer_id, "referred": row.referred_id}
        zone = timezone.get_current_timezone()  # moments in details written as every API time is
        details = {name: moment_text(value, zone) if isinstance(value, datetime) else value for name, value in details.items()}
        return super().to_representation({
            "type": instance.type, "at": instance.at, "id": instance.id, "event": row.event_id,
            "summary": summary, "details": details,
        })


# Follow-up deadlines (contacts.deadlines) -------------------------------------------------------


class MissedDeadlineQuerySerializer(serializers.Serializer):
    owner = WholeNumberField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only attendees of contacts this user (id) owns.",
    )
    event = WholeNumberField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only attendees of this event (id).",
    )
    open = QueryBooleanField(
        required=False, allow_null=True, default=None,
        help_text="`true`: only those still without a done follow-up for the event (the action is open); "
                  "`false`: only those followed up late since.",
    )


class MissedDeadlineSerializer(serializers.Serializer):
    """An attendee with an owner and no follow-up within the event's deadline: one row of the missed
    queue, as of the moment of the request."""

    # (built from contacts.deadlines.missed_deadline_queue(); the view's context["now"] is that moment)

    id = serializers.IntegerField(help_text="The attendance's id.")
    event = serializers.IntegerField(source="event_id")
    event_name = serializers.CharField(source="event.name")
    contact = serializers.IntegerField(source="contact_id")
    contact_name = serializers.SerializerMethodField(help_text="First and last name, or the e-mail without a name.")
    owner = serializers.IntegerField(source="contact.owner_id", help_text="The contact's owner (user id): the rep.")
    ends_at = serializers.DateTimeField(source="event.ends_at")
    deadline_at = serializers.DateTimeField(help_text="`ends_at` + the event's follow-up deadline.")
    hours_overdue = serializers.SerializerMethodField(help_text="Hours since `deadline_at`, to one decimal.")
    followed_up_at = serializers.DateTimeField(
        allow_null=True, help_text="When the contact was followed up for this event after all (late), or null: "
        "the action is still open.",
    )
    planned_follow_up = serializers.IntegerField(
        source="planned_follow_up_id", allow_null=True,
        help_text="A planned follow-up of the contact for this event (the first due), or null when none is planned.",
    )

    def get_contact_name(self, attendance) -> str:
        return attendance.contact.full_name or attendance.contact.email or ""

    def get_hours_overdue(self, attendance) -> float:
        return round((self.context["now"] - attendance.deadline_at).total_seconds() / 3600, 1)


class FollowUpFiguresSerializer(serializers.Serializer):
    assigned = serializers.IntegerField(help_text="Attendees (status attended) whose contact has an owner, not erased.")
    followed_up_in_time = serializers.IntegerField(
        help_text="Assigned attendees with a done follow-up for the event completed by `deadline_at`."
    )
    in_time_share = serializers.FloatField(
        allow_null=True, help_text="followed_up_in_time / assigned (0–1, to 4 decimals); null without assigned attendees."
    )
    median_hours_to_first_follow_up = serializers.FloatField(
        allow_null=True, help_text="Median hours from `ends_at` to the first done follow-up for the event (0 when "
        "it came before the end), over the attendees who have one, to 2 decimals; null when none has.",
    )
    missed = serializers.IntegerField(help_text="Deadline passed without a done follow-up by then.")
    pending = serializers.IntegerField(help_text="Deadline not passed yet and no done follow-up yet.")


class OwnerFollowUpFiguresSerializer(FollowUpFiguresSerializer):
    owner = serializers.IntegerField(source="owner_id", help_text="The rep (user id).")
    owner_name = serializers.CharField(help_text="The rep's full name, or user name.")


class EventOwnerFollowUpFiguresSerializer(OwnerFollowUpFiguresSerializer):
    event = serializers.IntegerField(source="event_id")
    event_name = serializers.CharField()
    ends_at = serializers.DateTimeField()
    deadline_minutes = serializers.IntegerField(help_text="The event's follow-up deadline, or the default.")
    deadline_at = serializers.DateTimeField()


class FollowUpPerformanceQuerySerializer(serializers.Serializer):
    """The report's query string: `event`, `owner`, `from`, `to` (the last two are Python keywords,
    so their fields are named `date_from` and `date_to` and renamed in get_fields())."""

    event = WholeNumberField(required=False, min_value=1, max_value=MAX_ID, help_text="Only this event (id).")
    owner = WholeNumberField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only this rep (user id)."
    )

    def get_fields(self):
        fields = super().get_fields()
        bounds = [MinValueValidator(date(1900, 1, 1)), MaxValueValidator(date(2199, 12, 31))]
        fields["from"] = serializers.DateField(
            required=False, source="date_from", validators=bounds,
            help_text="Only events that ended on or after this day (YYYY-MM-DD, site time zone).",
        )
        fields["to"] = serializers.DateField(
            required=False, source="date_to", validators=bounds,
            help_text="Only events that ended on or before this day (YYYY-MM-DD, site time zone).",
        )
        return fields

    def validate(self, attrs: dict) -> dict:
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise serializers.ValidationError({"to": [_("The end of the period cannot lie before its start.")]})
        return attrs


class FollowUpPerformanceSerializer(serializers.Serializer):
    overall = FollowUpFiguresSerializer(help_text="All assigned attendees of the events in the report.")
    owners = OwnerFollowUpFiguresSerializer(many=True, help_text="Per rep over all events of the report, by name.")
    rows = EventOwnerFollowUpFiguresSerializer(many=True, help_text="Per event and rep: newest event first.")
    default_deadline_minutes = serializers.IntegerField(
        help_text="The deadline of events that set none (`follow_up_deadline_minutes` null)."
    )
    computed_at = serializers.DateTimeField(source="now", help_text="The moment deadlines were compared with.")
