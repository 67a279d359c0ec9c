from rest_framework import serializers

from partners.serializers import PartnerModelSerializer
from scoring.models import ContactScore, EventMetrics, ScoreSnapshot


class ContactScoreSerializer(PartnerModelSerializer):
    class Meta:
        model = ContactScore
        fields = [
            "contact", "score", "components", "stage", "churn_risk", "events_invited", "events_registered",
            "events_attended", "no_shows", "show_rate", "series_attended", "is_returning", "first_attended_at",
            "last_attended_at", "current_streak", "longest_streak", "avg_days_between_attendances", "last_touch_at",
            "computed_at", "profile_version", "updated_at",
        ]
        read_only_fields = fields


class ScoreSnapshotSerializer(PartnerModelSerializer):
    class Meta:
        model = ScoreSnapshot
        fields = [
            "id", "contact", "score", "previous_score", "components", "stage", "computed_at", "trigger",
            "trigger_event", "profile_version", "created_at", "updated_at",
        ]
        read_only_fields = fields


class EventMetricsSerializer(PartnerModelSerializer):
    pipeline_value = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=False, read_only=True)
    won_value = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=False, read_only=True)
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False, read_only=True, allow_null=True)

    class Meta:
        model = EventMetrics
        fields = [
            "event", "registered", "attended", "no_shows", "no_show_rate", "new_attendees", "returning_attendees",
            "returning_share", "previous_edition", "series_retention_rate", "interactions_total",
            "interactions_per_attendee", "avg_interaction_quality", "followups_total", "followup_coverage",
            "followed_up_within_48h_share", "median_first_followup_hours", "nps", "feedback_count", "avg_satisfaction",
            "pipeline_value", "won_value", "cost", "ror_percent", "referrals", "advocacy_index", "relationship_lift",
            "computed_at", "updated_at",
        ]
        read_only_fields = fields
