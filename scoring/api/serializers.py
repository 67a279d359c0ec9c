from django.utils import timezone
from rest_framework import serializers

from partners.serializers import PartnerModelSerializer, WholeNumberField
from ror_crm.validators import MAX_ID
from scoring.models import ContactScore, EventMetrics, ScoreSnapshot
from scoring.services.contact_scores import decayed_score
from scoring.services.next_action import days_overdue
from scoring.services.profile import active_parameters

# What each figure means (docs/scoring.md, default profile): the schema's descriptions.
SCORE_HELP = {
    "contact": "The contact.",
    "score": "Relationship score 0–100 as of `computed_at`: round(100 × Σ weight × component, 1) with the weights "
             "attendance 0.30, networking 0.20, dialogue 0.20, care 0.10, advocacy 0.10, recency 0.10 (default "
             "profile).",
    "components": "Each component 0–1 (`attendance`, `networking`, `dialogue`, `care`, `advocacy`, `recency`). "
                  "decay(t) = 0.5 ** (days from t to T / 180); sat(x, k) = 1 − exp(−x / k). attendance = "
                  "sat(Σ decay × role weight over attended events (speaker 1.5; vip, sponsor, exhibitor 1.25; "
                  "attendee 1) − 0.5 × Σ decay over no-shows, floored at 0; 2); networking = sat(Σ decay × quality/3 "
                  "× min(minutes, 60)/30 (each 1 if unset) over interactions on either side; 4); "
                  "dialogue = sat(Σ decay × outcome weight over done follow-ups (positive 1.5, neutral 1, "
                  "negative 0.5, no_response 0.25, unset 1); 3); care = "
                  "decay-weighted share of attended events followed up within 48 h (1) or 7 days (0.5); advocacy = "
                  "0.5 × p (latest NPS ≥ 9: 1, 7–8: 0.5, else 0) + 0.5 × sat(Σ decay over referrals made; 1); "
                  "recency = decay(last_touch_at).",
    "stage": "Lifecycle stage, the first rule that holds: no attended event → initiation; more than 270 days since "
             "last_touch_at → at_risk; one attended event → socialization; 3+ attended events and score ≥ 60 → "
             "maturity; otherwise growth.",
    "churn_risk": "high: more than 365 days since the last touch; medium: more than 180 days, or the score fell by "
                  "10+ points against the latest snapshot at least 90 days older; else low.",
    "events_invited": "Attendance rows of the contact known as of T (any status).",
    "events_registered": "Attendances registered, attended or no_show.",
    "events_attended": "Attendances attended.",
    "no_shows": "Attendances no_show.",
    "show_rate": "attended / (attended + no_shows) (0–1); null when both are 0.",
    "series_attended": "Distinct series of the events attended.",
    "is_returning": "Attended 2 or more events.",
    "first_attended_at": "Start of the first event attended; null without one.",
    "last_attended_at": "Start of the latest event attended; null without one.",
    "current_streak": "Per series, the consecutive completed editions attended counted back from the series' "
                      "latest completed edition (0 if the contact missed that one); the maximum over series.",
    "longest_streak": "The longest run of consecutive completed editions attended in any series.",
    "avg_days_between_attendances": "Mean days between consecutive attended events (by start); null with fewer "
                                    "than two.",
    "last_touch_at": "The latest touchpoint: attended event (its end), interaction on either side, done follow-up, "
                     "feedback, referral made; never later than `computed_at`. Null without any.",
    "computed_at": "The moment T every figure is computed as of (data known by then).",
    "profile_version": "Version of the scoring profile the score was computed with.",
}


class ContactScoreSerializer(PartnerModelSerializer):
    """A contact's relationship score and repeat-attendance figures, as of `computed_at`."""

    score_now = serializers.SerializerMethodField(
        help_text="The score decayed from `computed_at` to the moment of this response (docs/scoring.md: while no "
                  "data changes, every decaying sum shrinks by 0.5 ** (days / half-life)); null when the scoring "
                  "profile changed since the score was computed. Decay alone moves neither `updated_at` nor the "
                  "score history, so a score read later can differ from the one last synced by decay only.",
    )
    updated_at = serializers.DateTimeField(
        read_only=True,
        help_text="When the score last changed in substance: through data, the scoring profile, the stage or the "
                  "churn risk; decay alone does not move it.",
    )

    cadence_days = serializers.IntegerField(
        read_only=True, allow_null=True,
        help_text="Keep-in-touch cadence: days between touches. The contact's own if set, else the shortest of its "
                  "organization's and its tags' cadences, else its lifecycle stage's (out of the box: maturity 60, "
                  "growth 90, socialization 120, initiation 120, at risk 180).",
    )
    cadence_source = serializers.CharField(
        read_only=True, help_text="Where the cadence came from: `contact`, `organization`, `tag` or `stage`."
    )
    next_touch_due = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="The last touch (any touchpoint: attended event, interaction, done follow-up, feedback, referral; "
                  "with none, when the contact was created) plus the cadence. Null for do-not-contact and erased "
                  "contacts. Every touch moves it at once (touches at an event that has ended but is not completed yet: at its "
                  "completion).",
    )
    days_overdue = serializers.SerializerMethodField(
        help_text="Whole days since `next_touch_due`, as of this response; 0 while not yet due, null without one. "
                  "A contact with days_overdue above 0 is *losing touch*.",
    )
    next_action = serializers.CharField(
        read_only=True,
        help_text="The next best action, the first rule that holds, in this order: `do_nothing` (do-not-contact or "
                  "erased), `rest` (agency touches reached the contact-fatigue cap), `call_now` (last follow-up "
                  "positive and a planned one overdue), `follow_up` (a planned follow-up overdue), `invite` (attended 2+ "
                  "events, a later edition of a series "
                  "they attended is planned, not on its list, marketing consent), `re_engage` (past the cadence and "
                  "the score fell by 1+ point in 90 days), `nurture` (one event, no follow-up conversation yet), "
                  "`check_in` (past the cadence), `wait` (nothing due). As of `computed_at`.",
    )
    next_action_reason = serializers.CharField(read_only=True, help_text="Why, in words (English).")
    clv = serializers.DecimalField(
        source="lifetime_value.clv", max_digits=16, decimal_places=2, coerce_to_string=False, read_only=True,
        allow_null=True,
        help_text="Customer lifetime value (docs/clv.md): the attendances the contact is expected to make at the "
                  "editions of their series over the horizon (default 3 years; BG/BB model fitted on the agency's "
                  "attendance history) × the value per attendance (won deal value ÷ attendances of completed events), "
                  "discounted if the agency sets a rate. In `clv_currency`. As of the latest CLV fit (nightly and "
                  "after each completed event); it moves without moving `updated_at`. Null before the first fit and "
                  "for contacts who attended no edition of a series.",
    )
    clv_currency = serializers.CharField(
        source="lifetime_value.clv_currency", read_only=True, allow_null=True,
        help_text="Currency of `clv`: the currency of most attendances; empty (or null before the first fit) "
                  "without a CLV.",
    )
    expected_attendances = serializers.FloatField(
        source="lifetime_value.expected_attendances", read_only=True, allow_null=True,
        help_text="Attendances expected over the CLV horizon, summed over the series the contact attended "
                  "(undiscounted). Null like `clv`.",
    )
    next_action_figures = serializers.JSONField(
        read_only=True, help_text="The figures the rule used (cadence_days, days_overdue, and the rule's own)."
    )

    class Meta:
        model = ContactScore
        extra_kwargs = {name: {"help_text": text} for name, text in SCORE_HELP.items()}
        fields = [
            "contact", "score", "score_now", "components", "stage", "churn_risk", "events_invited", "events_registered",
            "events_attended", "no_shows", "show_rate", "series_attended", "is_returning", "first_attended_at",
            "last_attended_at", "current_streak", "longest_streak", "avg_days_between_attendances", "last_touch_at",
            "cadence_days", "cadence_source", "next_touch_due", "days_overdue", "next_action", "next_action_reason",
            "next_action_figures", "clv", "clv_currency", "expected_attendances", "computed_at", "profile_version",
            "updated_at",
        ]
        read_only_fields = fields

    def get_days_overdue(self, score: ContactScore) -> int | None:
        return days_overdue(score.next_touch_due, timezone.now())

    def get_score_now(self, score: ContactScore) -> float | None:
        if "scoring_parameters" not in self.context:  # one profile read per response, whatever the rows
            self.context["scoring_parameters"] = active_parameters()
        params = self.context["scoring_parameters"]
        if params.version != score.profile_version:
            return None
        return decayed_score(score, max(timezone.now(), score.computed_at), params).score


class ScoreSnapshotSerializer(PartnerModelSerializer):
    class Meta:
        model = ScoreSnapshot
        fields = [
            "id", "contact", "score", "previous_score", "components", "stage", "computed_at", "trigger",
            "trigger_event", "profile_version", "created_at", "updated_at",
        ]
        read_only_fields = fields


# What each figure means (docs/scoring.md "Event metrics"): the schema's descriptions.
EVENT_METRICS_HELP = {
    "event": "The event, completed. Every figure is as of `computed_at`.",
    "registered": "Attendances registered, attended or no_show.",
    "attended": "Attendances with status attended.",
    "no_shows": "Attendances with status no_show (registrations without check-in become no_show on completion "
                "when the event used check-in).",
    "new_attendees": "Attendees who had attended no earlier event of the agency (by start) before this one.",
    "returning_attendees": "attended − new_attendees: attendees who came to an earlier event before.",
    "returning_share": "returning_attendees / attended (0–1); null without attendees.",
    "previous_edition": "The latest event of the same series completed by `computed_at` that starts before this "
                        "one; null without one (then the retention figures are null).",
    "series_retention_rate": "Series retention rate (CRR, %) = ((E − N) / S) × 100: S attended the previous "
                             "edition, E this one, N this one but not the previous one. Worked check: S = 120, "
                             "E = 150, N = 60 → 75. Null without a previous edition or without its attendees.",
    "interactions_total": "Networking interactions at this event that occurred by `computed_at`.",
    "interactions_per_attendee": "interactions_total / attended; null without attendees.",
    "avg_interaction_quality": "Mean quality (1–5) of the interactions that have one; null without any.",
    "followups_total": "Follow-ups of this event (its origin) known by `computed_at`: planned, done and "
                       "cancelled.",
    "followup_coverage": "Share of attendees (0–1) with a done follow-up for this event; null without attendees.",
    "followed_up_within_48h_share": "Share of attendees (0–1) whose first done follow-up for this event was "
                                    "done at most 48 hours after the event's end; null without attendees.",
    "median_first_followup_hours": "Median, over the attendees with a done follow-up for this event, of the "
                                   "hours from the event's end to the first one (one done before the end counts "
                                   "as 0); null when none has one.",
    "nps": "Net promoter score = % promoters (9–10) − % detractors (0–6) among the feedback answers with an NPS "
           "(−100 to 100); null without any.",
    "feedback_count": "Feedback answers submitted for this event by `computed_at`.",
    "avg_satisfaction": "Mean satisfaction (1–10) of the feedback answers that have one; null without any.",
    "ror_percent": "Return on relationship, % = (won_value − cost) / cost × 100; null without a cost (or a cost "
                   "of 0).",
    "referrals": "Referrals made at this event by `computed_at`.",
    "advocacy_index": "referrals / attended; null without attendees.",
    "computed_at": "The moment every figure is as of (T).",
    "updated_at": "When these figures were last written.",
}


class EventMetricsSerializer(PartnerModelSerializer):
    """The RoR figures of a completed event, exactly as of `computed_at` (README "Event metrics")."""

    no_show_rate = serializers.FloatField(
        read_only=True, allow_null=True,
        help_text="no_shows / registered (0–1); null without registrations, or when the event used no check-in "
                  "(then no_show_rate_reason says so).",
    )
    no_show_rate_reason = serializers.CharField(
        read_only=True,
        help_text="Why no_show_rate is null: `no_check_in` (no attendee was checked in, so registrations say "
                  "nothing about who came); empty otherwise.",
    )
    relationship_lift = serializers.FloatField(
        read_only=True, allow_null=True,
        help_text="What the event did to its attendees' relationships: per attendee, the score as of the event's "
                  "completion with all data minus the score as of the same moment without this event's attendance, "
                  "interactions, follow-ups and feedback; the mean over attendees (score points). Null without "
                  "attendees. Does not depend on when it was computed.",
    )
    relationship_lift_median = serializers.FloatField(
        read_only=True, allow_null=True, help_text="The median of the attendees' lifts (score points)."
    )
    relationship_lift_positive_share = serializers.FloatField(
        read_only=True, allow_null=True, help_text="The share of attendees (0–1) whose lift is above 0."
    )
    pipeline_value = serializers.DecimalField(
        max_digits=16, decimal_places=2, coerce_to_string=False, read_only=True,
        help_text="Sum of the deal values of this event's follow-ups whose deal is open, in the event's currency.",
    )
    won_value = serializers.DecimalField(
        max_digits=16, decimal_places=2, coerce_to_string=False, read_only=True,
        help_text="Sum of the deal values of this event's follow-ups whose deal is won, in the event's currency.",
    )
    cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, coerce_to_string=False, read_only=True, allow_null=True,
        help_text="The event's cost, in its currency (as stored on the event); null without one.",
    )
    retained_attendees = serializers.IntegerField(
        read_only=True, allow_null=True,
        help_text="Attendees who also attended the previous edition (E − N of `series_retention_rate`); null "
                  "without a previous edition.",
    )
    retained_clv = serializers.DecimalField(
        max_digits=16, decimal_places=2, coerce_to_string=False, read_only=True, allow_null=True,
        help_text="The mean customer lifetime value of the retained attendees as of `computed_at`, in the event's "
                  "currency (docs/clv.md: BG/BB model fitted on the history known then × the value per attendance "
                  "in that currency). Null without retained attendees or without a model. After an event "
                  "recompute the metrics come first and this figure follows with the CLV fit chained after them "
                  "(seconds at 100,000 contacts, under a minute at a million): until then it is null, and a second "
                  "`event.metrics_updated` webhook tells when it is filled.",
    )
    clv_ror_percent = serializers.FloatField(
        read_only=True, allow_null=True,
        help_text="The seed's ROI: ((retained_clv × retained_attendees) − cost) / cost × 100, beside `ror_percent` "
                  "(won value). Worked check: CLV 2,500, 200 retained, cost 50,000 → 900. Null without a cost or "
                  "without `retained_clv`.",
    )

    class Meta:
        model = EventMetrics
        extra_kwargs = {name: {"help_text": text} for name, text in EVENT_METRICS_HELP.items()}
        fields = [
            "event", "registered", "attended", "no_shows", "no_show_rate", "no_show_rate_reason", "new_attendees",
            "returning_attendees",
            "returning_share", "previous_edition", "series_retention_rate", "interactions_total",
            "interactions_per_attendee", "avg_interaction_quality", "followups_total", "followup_coverage",
            "followed_up_within_48h_share", "median_first_followup_hours", "nps", "feedback_count", "avg_satisfaction",
            "pipeline_value", "won_value", "cost", "ror_percent", "retained_attendees", "retained_clv",
            "clv_ror_percent", "referrals", "advocacy_index", "relationship_lift",
            "relationship_lift_median", "relationship_lift_positive_share", "computed_at", "updated_at",
        ]
        read_only_fields = fields


# The score validity report (scoring.services.validity): read from its dataclasses. -------

AUC_HELP = "AUC (0–1; 0.5 is chance), null when everyone or no one of these pairs came back."


def _auc_field(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=f"{help_text} {AUC_HELP}")


class BaselineAUCSerializer(serializers.Serializer):
    days_since_last_attendance = _auc_field(
        "Baseline: fewer days since the contact's last attendance of any event (known at T, from the event's end) "
        "rank higher."
    )
    editions_attended = _auc_field("Baseline: more earlier editions of this series attended (as of T) rank higher.")


class ComponentAUCSerializer(serializers.Serializer):
    attendance = _auc_field("The attendance component alone.")
    networking = _auc_field("The networking component alone.")
    dialogue = _auc_field("The dialogue component alone.")
    care = _auc_field("The care component alone.")
    advocacy = _auc_field("The advocacy component alone.")
    recency = _auc_field("The recency component alone.")


class CalibrationGroupSerializer(serializers.Serializer):
    decile = serializers.IntegerField(help_text="1 holds the lowest scores, 10 the highest.")
    pairs = serializers.IntegerField(help_text="(contact, edition) pairs in the decile.")
    min_score = serializers.FloatField(help_text="The lowest score in the decile.")
    max_score = serializers.FloatField(help_text="The highest score in the decile.")
    mean_score = serializers.FloatField(help_text="The mean score in the decile.")
    return_rate = serializers.FloatField(help_text="Share (0–1) of the decile's pairs whose contact attended.")


class ValidityGroupSerializer(serializers.Serializer):
    series = serializers.IntegerField(
        source="series_id", allow_null=True, help_text="The series' id; null for the figures over all series."
    )
    name = serializers.CharField(allow_null=True, help_text="The series' name; null for all series.")
    editions = serializers.IntegerField(help_text="Editions N+1 with at least one contact in their population.")
    contacts = serializers.IntegerField(help_text="Distinct contacts in the pairs.")
    pairs = serializers.IntegerField(help_text="(contact, edition N+1) pairs: a contact counts once per edition.")
    returned = serializers.IntegerField(help_text="Pairs whose contact attended the edition.")
    return_rate = serializers.FloatField(allow_null=True, help_text="returned / pairs; null without pairs.")
    score_auc = _auc_field("The relationship score as of T.")
    baseline_auc = BaselineAUCSerializer(help_text="The same AUC for the two baselines.")
    component_auc = ComponentAUCSerializer(help_text="The same AUC for each of the score's six components alone.")
    score_beaten_by = serializers.ListField(
        child=serializers.ChoiceField(choices=["days_since_last_attendance", "editions_attended"]),
        help_text="The baselines whose AUC is higher than the score's: on this data they predict a return better.",
    )
    calibration = CalibrationGroupSerializer(
        many=True,
        help_text="The pairs sorted by score, cut by rank into 10 groups as equal as possible (fewer with fewer "
        "than 10 pairs), lowest scores first.",
    )


class ScoreValidityReportSerializer(serializers.Serializer):
    overall = ValidityGroupSerializer(help_text="All editions' pairs pooled (only the filtered series with `series`).")
    series = ValidityGroupSerializer(many=True, help_text="Per series with pairs, by name; its editions' pairs pooled.")
    series_filter = serializers.IntegerField(allow_null=True, help_text="The `series` asked for, or null.")
    profile_version = serializers.IntegerField(help_text="The active scoring profile the scores were computed with.")
    data_version = serializers.CharField(
        help_text="Fingerprint of the data read (series, events, attendances, interactions, follow-ups, feedback, "
        "referrals, the active profile); the report is cached per data version."
    )
    computed_at = serializers.DateTimeField(help_text="When this report was computed (earlier when from the cache).")
    from_cache = serializers.BooleanField(help_text="Whether this answer came from the cache.")
    has_data = serializers.BooleanField(
        help_text="False when no completed edition of a series has attendees of an earlier edition yet."
    )


class ScoreValidityQuerySerializer(serializers.Serializer):
    series = WholeNumberField(
        required=False, min_value=1, max_value=MAX_ID,
        help_text="Only this series (its id); an empty value means all series.",
    )
