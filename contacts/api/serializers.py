from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.choices import DealStatus, FollowUpChannel, FollowUpOutcome, FollowUpStatus
from contacts.models import TAG_MAX_LENGTH, TAGS_MAX, Contact, FollowUp, Organization, Referral, normalize_email
from contacts.selectors import TimelineEntry
from partners.serializers import (
    DecimalField,
    EmailField,
    IdRelatedField,
    OptionalEmailField,
    PartnerModelSerializer,
    TextField,
)
from scoring.choices import ChurnRisk, LifecycleStage

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


class ContactSerializer(PartnerModelSerializer):
    email = EmailField(max_length=254)
    tags = serializers.ListField(child=TextField(max_length=TAG_MAX_LENGTH), required=False, max_length=TAGS_MAX)
    owner = IdRelatedField(queryset=get_user_model().objects.all(), required=False, allow_null=True)
    score = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id", "email", "first_name", "last_name", "organization", "job_title", "phone", "owner", "tags",
            "marketing_consent", "do_not_contact", "score", "erased_at", "created_at", "updated_at",
        ]
        read_only_fields = ["erased_at", "created_at", "updated_at"]
        validators: list = []

    @extend_schema_field(ContactScoreSummarySerializer(allow_null=True))
    def get_score(self, contact: Contact) -> dict | None:
        try:
            score = contact.score
        except Contact.score.RelatedObjectDoesNotExist:
            return None
        if score is None:
            return None
        return ContactScoreSummarySerializer(
            {"value": score.score, "stage": score.stage, "churn_risk": score.churn_risk, "computed_at": score.computed_at}
        ).data

    @extend_schema_field(serializers.DateTimeField(read_only=True))
    def get_updated_at(self, contact: Contact) -> str:
        # The later of the contact's and its score's last write (ContactQuerySet.with_last_change());
        # a contact written by this request has its own, newer updated_at.
        last_change = max(contact.updated_at, getattr(contact, "last_change", None) or contact.updated_at)
        return serializers.DateTimeField().to_representation(last_change)

    def validate_email(self, value: str) -> str:
        return normalize_email(value)

    def validate_tags(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))

    def to_representation(self, contact: Contact) -> dict:
        data = super().to_representation(contact)
        if contact.erased_at is not None:
            data.update(dict.fromkeys(PERSONAL_FIELDS))
        return data


class FollowUpSerializer(PartnerModelSerializer):
    channel = serializers.ChoiceField(choices=FollowUpChannel.choices, required=False)
    status = serializers.ChoiceField(choices=FollowUpStatus.choices, required=False)
    outcome = serializers.ChoiceField(choices=FollowUpOutcome.choices, required=False, allow_blank=True)
    deal_status = serializers.ChoiceField(choices=DealStatus.choices, required=False)
    deal_value = DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True, coerce_to_string=False
    )
    owner = IdRelatedField(queryset=get_user_model().objects.all(), required=False, allow_null=True)

    class Meta:
        model = FollowUp
        fields = [
            "id", "contact", "event", "owner", "channel", "status", "due_at", "completed_at", "outcome", "summary",
            "next_step", "deal_value", "deal_status", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []


class ReferralSerializer(PartnerModelSerializer):
    referred_email = OptionalEmailField()

    class Meta:
        model = Referral
        fields = ["id", "referrer", "referred", "referred_email", "event", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []

    def validate(self, attrs: dict) -> dict:
        referrer = attrs.get("referrer", getattr(self.instance, "referrer", None))
        referred = attrs.get("referred", getattr(self.instance, "referred", None))
        if referrer is not None and referred is not None and referrer.pk == referred.pk:
            raise serializers.ValidationError({"referred": ["A contact cannot refer themselves."]})
        return attrs


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
                summary, details = "Referral", {"referred": row.referred_id}
        return super().to_representation({
            "type": instance.type, "at": instance.at, "id": instance.id, "event": row.event_id,
            "summary": summary, "details": details,
        })
