"""GET /api/v1/events/{id}/lift/?days=: the event's relationship lift against matched non-attendees
(scoring.services.matched_lift)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from events.models import Event
from partners.schema import Conflict
from partners.serializers import WholeNumberField
from ror_crm.validators import MAX_ID
from scoring.choices import LifecycleStage
from scoring.services.matched_lift import (
    CALIPER_POINTS,
    DEFAULT_DAYS,
    DEFAULT_RESAMPLES,
    MAX_DAYS,
    MIN_DAYS,
    ORG_SIZE_NAMES,
    STAGES,
    matched_lift,
    require_ready,
)


class LiftQuerySerializer(serializers.Serializer):
    days = WholeNumberField(
        required=False, default=DEFAULT_DAYS, min_value=MIN_DAYS, max_value=MAX_DAYS,
        help_text=f"The window after the event's end, in days ({MIN_DAYS}–{MAX_DAYS}, default {DEFAULT_DAYS}).",
    )


def _shares(names, what: str) -> serializers.DictField:
    return serializers.DictField(
        child=serializers.FloatField(),
        help_text=f"Share (0–1) of the group per {what}: {', '.join(f'`{name}`' for name in names)}.",
    )


class GroupBalanceSerializer(serializers.Serializer):
    group = serializers.ChoiceField(
        choices=["attendees", "candidates", "matched_attendees", "matched_controls"],
        help_text="`attendees`: everyone who attended; `candidates`: every non-attendee who could be a control; "
        "`matched_attendees`: attendees with a match; `matched_controls`: their controls, one per pair (a control "
        "serving two attendees counts twice).",
    )
    contacts = serializers.IntegerField(help_text="Rows in the group (pairs for `matched_controls`).")
    mean_score_before = serializers.FloatField(allow_null=True, help_text="Mean score as of `before`; null if empty.")
    stage_shares = _shares(STAGES, "lifecycle stage as of `before`")
    org_size_shares = _shares(ORG_SIZE_NAMES, "organization-size bucket")


class BalanceSerializer(serializers.Serializer):
    groups = GroupBalanceSerializer(many=True, help_text="All attendees, all candidates, the matched attendees and "
                                    "the matched controls.")
    smd_before_matching = serializers.FloatField(
        allow_null=True, help_text="Standardized mean difference of the score before, attendees vs candidates: "
        "(mean_a − mean_c) / √((s_a² + s_c²) / 2), sample variances.",
    )
    smd_after_matching = serializers.FloatField(
        allow_null=True, help_text="The same for the matched attendees vs the matched controls (pair-weighted); "
        "below 0.1 in absolute value counts as well balanced. Null when a group is empty.",
    )


class UnmatchedAttendeeSerializer(serializers.Serializer):
    contact = serializers.IntegerField(source="contact_id", help_text="The attendee's contact id.")
    stage = serializers.ChoiceField(choices=LifecycleStage.choices, help_text="Lifecycle stage as of `before`.")
    org_size = serializers.ChoiceField(choices=list(ORG_SIZE_NAMES), help_text="Organization-size bucket.")
    score_before = serializers.FloatField(help_text="Score as of `before`.")
    reason = serializers.ChoiceField(
        choices=["no_candidate", "outside_caliper"],
        help_text="`no_candidate`: no non-attendee in the stratum; `outside_caliper`: the nearest one's score before "
        "differs by more than `caliper` points.",
    )


class MatchedLiftSerializer(serializers.Serializer):
    event = serializers.IntegerField(source="event_id", help_text="The event's id.")
    days = serializers.IntegerField(help_text="The window after the event's end, in days.")
    before = serializers.DateTimeField(help_text="Scores before: as of the event's `starts_at` minus 1 microsecond.")
    after = serializers.DateTimeField(help_text="Scores after: as of the event's `ends_at` plus `days`.")
    caliper = serializers.FloatField(help_text="The largest difference in score before of a matched pair (points).")
    attendees = serializers.IntegerField(help_text="Contacts with status `attended` at the event.")
    candidates = serializers.IntegerField(help_text="Non-attendees who could be matched: existing at `before`, "
                                          "not erased.")
    matched = serializers.IntegerField(help_text="Attendees with a matched control: the pairs.")
    unmatched = serializers.IntegerField(help_text="Attendees without one (see `unmatched_attendees`).")
    distinct_controls = serializers.IntegerField(help_text="Distinct controls: matching is with replacement.")
    effect = serializers.FloatField(
        allow_null=True, help_text="Difference in differences, score points: mean of (attendee's change − "
        "control's change) over the pairs; null without a pair.",
    )
    attendee_change = serializers.FloatField(allow_null=True, help_text="Mean score change of the matched attendees.")
    control_change = serializers.FloatField(allow_null=True, help_text="Mean score change of the matched controls "
                                            "(one per pair).")
    confidence = serializers.FloatField(help_text="The interval's confidence level (0.95).")
    ci_low = serializers.FloatField(allow_null=True, help_text="Lower end of the 95 % bootstrap interval of `effect`; "
                                    "null without one (no pairs, or fewer than 10 distinct controls).")
    ci_high = serializers.FloatField(allow_null=True, help_text="Upper end of the 95 % bootstrap interval of `effect`; "
                                     "null without one.")
    interval_includes_zero = serializers.BooleanField(
        allow_null=True, help_text="True when the interval includes 0: the data do not show an effect of attending. "
        "Null without an interval (then the data do not show one either: `summary` says why).",
    )
    summary = serializers.CharField(help_text="The result in a sentence, in the request's language.")
    resamples = serializers.IntegerField(help_text="Bootstrap resamples.")
    seed = serializers.IntegerField(help_text="Seed of the bootstrap's random generator: the same data give the "
                                    "same interval.")
    balance = BalanceSerializer(help_text="How alike the groups were before the event, before and after matching.")
    unmatched_attendees = UnmatchedAttendeeSerializer(many=True, help_text="The attendees without a match, by id.")
    profile_version = serializers.IntegerField(help_text="The active scoring profile the scores were computed with.")
    data_version = serializers.CharField(help_text="Fingerprint of the data read; results are cached per version.")
    computed_at = serializers.DateTimeField(help_text="When the result was computed (earlier when from the cache).")
    from_cache = serializers.BooleanField(help_text="Whether this answer came from the cache.")


LIFT_DESCRIPTION = f"""\
Relationship lift against matched non-attendees: how much more the relationship score of the
people who attended rose over the window after the event than that of people who did not attend
but stood the same before it, with a 95 % bootstrap interval.

- **Window**: scores exactly as of `before` = the event's `starts_at` − 1 µs and as of
  `after` = `ends_at` + `days` (default {DEFAULT_DAYS}); a contact's change is after − before.
- **Attendees**: status `attended` at the event. **Candidates**: contacts that existed at `before`,
  did not attend the event (no-shows and invitees included) and are not erased.
- **Matching**: exact strata on the lifecycle stage as of `before` and the organization-size
  bucket (`none`, `1`, `2-9`, `10-49`, `50+` contacts of the organization existing at `before`),
  then the nearest score before within the stratum, with replacement, equally near candidates
  taking turns by contact id; a caliper of {CALIPER_POINTS:g} points: an attendee whose nearest candidate is farther is
  reported in `unmatched_attendees`.
- **Effect** (difference in differences) = mean attendee change − mean matched control change,
  over the pairs.
- **Interval**: percentile bootstrap of the mean over the pairs, clustered by control (the pairs
  sharing a control are drawn together), {DEFAULT_RESAMPLES:,} resamples drawn with a seeded
  generator (the same data give the same interval).
  `interval_includes_zero` and `summary` say plainly when 0 lies inside it.
- **Balance**: per group the mean score before and the shares of stages and organization-size
  buckets, and the standardized mean difference of the score before, before and after matching.

Computed on request and cached per data version (`from_cache`); at 100,000 contacts within
seconds. Definitions in full: docs/matched-lift.md.

Errors: 404 for an unknown event; 400 with `days` outside {MIN_DAYS}–{MAX_DAYS}; 409 with code
`event_not_completed` for an event not completed, or `lift_window_open` while `after` lies in the
future (the message says from when).

Example: `GET /api/v1/events/42/lift/?days=90`
"""

LIFT_EXAMPLE = OpenApiExample(
    "A lift whose interval excludes 0", response_only=True, status_codes=["200"],
    value={
        "event": 42, "days": 90, "before": "2026-03-10T08:59:59.999999+01:00", "after": "2026-06-08T18:00:00+02:00",
        "caliper": 5.0, "attendees": 117, "candidates": 5840, "matched": 116, "unmatched": 1,
        "distinct_controls": 97, "effect": 6.3, "attendee_change": 8.1, "control_change": 1.8, "confidence": 0.95,
        "ci_low": 4.2, "ci_high": 8.5, "interval_includes_zero": False,
        "summary": "Over the 90 days after the event, attendees' scores changed by +6.3 points against matched "
        "non-attendees (95 % interval +4.2 to +8.5; 116 of 117 attendees matched). The interval does not include 0.",
        "resamples": 2000, "seed": 0,
        "balance": {
            "groups": [
                {"group": "attendees", "contacts": 117, "mean_score_before": 31.6,
                 "stage_shares": {"initiation": 0.2051, "socialization": 0.3077, "growth": 0.4103, "maturity": 0.0427,
                                  "at_risk": 0.0342},
                 "org_size_shares": {"none": 0.1026, "1": 0.2051, "2-9": 0.4786, "10-49": 0.2051, "50+": 0.0085}},
                {"group": "candidates", "contacts": 5840, "mean_score_before": 18.9,
                 "stage_shares": {"initiation": 0.52, "socialization": 0.21, "growth": 0.17, "maturity": 0.01,
                                  "at_risk": 0.09},
                 "org_size_shares": {"none": 0.31, "1": 0.22, "2-9": 0.3, "10-49": 0.15, "50+": 0.02}},
                {"group": "matched_attendees", "contacts": 116, "mean_score_before": 31.2,
                 "stage_shares": {"initiation": 0.2069, "socialization": 0.3103, "growth": 0.4138, "maturity": 0.0345,
                                  "at_risk": 0.0345},
                 "org_size_shares": {"none": 0.1034, "1": 0.2069, "2-9": 0.4828, "10-49": 0.2069, "50+": 0.0}},
                {"group": "matched_controls", "contacts": 116, "mean_score_before": 31.1,
                 "stage_shares": {"initiation": 0.2069, "socialization": 0.3103, "growth": 0.4138, "maturity": 0.0345,
                                  "at_risk": 0.0345},
                 "org_size_shares": {"none": 0.1034, "1": 0.2069, "2-9": 0.4828, "10-49": 0.2069, "50+": 0.0}},
            ],
            "smd_before_matching": 0.82, "smd_after_matching": 0.01,
        },
        "unmatched_attendees": [
            {"contact": 1877, "stage": "maturity", "org_size": "50+", "score_before": 88.4, "reason": "no_candidate"},
        ],
        "profile_version": 1, "data_version": "3f9a0c1b2d4e5f60", "computed_at": "2026-06-09T10:15:00+02:00",
        "from_cache": False,
    },
)


class MatchedLiftView(generics.GenericAPIView):
    """The lift of an event against matched non-attendees (issue "Prove the return on relationship", part 2)."""

    # Staff sessions need view permission on events, as for the event's other reports
    # (metrics/, lapsed/); the queryset only names the model (and the path's `id`).
    queryset = Event.objects.none()
    serializer_class = MatchedLiftSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        operation_id="events_lift",
        summary="Relationship lift against matched non-attendees",
        description=LIFT_DESCRIPTION,
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Event id"),
                    LiftQuerySerializer],
        responses={
            200: MatchedLiftSerializer,
            409: OpenApiResponse(Conflict, description=(
                "`event_not_completed`: the event is not completed. `lift_window_open`: the window after the "
                "event (`ends_at` + `days`) has not passed yet; the message says when it has."
            )),
        },
        examples=[LIFT_EXAMPLE],
    )
    def get(self, request, pk: int):
        if pk > MAX_ID:
            raise NotFound()
        # An empty value is no value (partners.schema.allow_empty_query_values): `?days=` is the default.
        query = LiftQuerySerializer(data={key: value for key, value in request.query_params.items() if value})
        query.is_valid(raise_exception=True)
        try:
            result = matched_lift(pk, days=query.validated_data["days"])
        except Event.DoesNotExist:
            raise NotFound() from None
        return Response(self.get_serializer(require_ready(result)).data)
