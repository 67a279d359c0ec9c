import json
import math

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext_lazy as _

from contacts.choices import FollowUpOutcome
from events.choices import AttendanceRole
from scoring.choices import (
    CadenceSegment,
    CadenceSource,
    ChurnRisk,
    LifecycleStage,
    NextAction,
    NoShowRateReason,
    RecomputeKind,
    ScoreTrigger,
)
from scoring.formatting import localized

COMPONENTS = ("attendance", "networking", "dialogue", "care", "advocacy", "recency")


class ScoringProfile(models.Model):
    """The parameters of the relationship score; exactly one profile is active."""

    name = models.CharField(_("name"), max_length=100)
    version = models.PositiveIntegerField(_("version"), unique=True)
    weights = models.JSONField(_("component weights"), help_text=_("One weight per component, summing to 1."))
    half_life_days = models.FloatField(_("half-life (days)"), default=180)
    saturation = models.JSONField(
        _("saturation constants"), help_text=_(
            "How fast attendance, networking, dialogue and referrals fill their share of the score: the raw "
            "value k at which a component reaches about two thirds of its points (1 − e^(−x/k)). Larger: slower."
        ),
    )
    role_weights = models.JSONField(_("role weights"))
    outcome_weights = models.JSONField(_("follow-up outcome weights"))
    stage_thresholds = models.JSONField(_("stage and churn thresholds"))
    converted_referral_weight = models.FloatField(
        _("converted referral weight"), default=1.0,
        help_text=_("How much a converted referral counts in advocacy, against 1 for any other referral: the "
                    "referred contact attended an event that started after the referral."),
    )
    is_active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("scoring profile")
        verbose_name_plural = _("scoring profiles")
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_scoring_profile",
                violation_error_message=_("Another scoring profile is already active.")),
            models.CheckConstraint(condition=Q(half_life_days__gt=0), name="scoring_profile_half_life_positive",
                violation_error_message=_("The half-life must be positive.")),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def clean(self) -> None:
        """Every parameter scoring reads (services/profile.py, contact_scores.py), checked before
        it is saved: a profile that passes is one scoring can compute with. All errors at once."""
        errors: dict[str, list[str]] = {}
        for field, check in (
            ("weights", _weight_errors),
            ("half_life_days", _half_life_errors),
            ("saturation", _keyed_number_errors(SATURATION_KEYS, SATURATION_RANGE)),
            ("role_weights", _keyed_number_errors(ROLE_KEYS, RELATIVE_WEIGHT_RANGE)),
            ("outcome_weights", _keyed_number_errors(OUTCOME_KEYS, RELATIVE_WEIGHT_RANGE)),
            ("stage_thresholds", _threshold_errors),
            ("converted_referral_weight", _converted_referral_weight_errors),
        ):
            if messages := check(getattr(self, field)):
                errors[field] = messages
        # Activating a profile deactivates the active one (services.profile), so a profile stops
        # being the active one only that way: scoring always has exactly one (DOMAIN.md).
        if self.pk is not None and not self.is_active and (
            ScoringProfile.objects.filter(pk=self.pk, is_active=True).exists()
        ):
            errors["is_active"] = [_(
                "This is the active profile and scoring always uses exactly one: activate another profile "
                "instead, which deactivates this one."
            )]
        if errors:
            raise ValidationError(errors)


# What each parameter of a profile may be: the keys scoring reads, and ranges it can compute
# with. (minimum, maximum, whether the minimum itself is allowed)
NumberRange = tuple[float, float, bool]
WEIGHT_RANGE: NumberRange = (0, 1, True)
# Below 30 days the decay of an old touchpoint underflows PostgreSQL's POWER() (an error, not 0)
# for data a few decades old; 30 days keeps it working for 88 years of history.
HALF_LIFE_RANGE: NumberRange = (30, 3650, True)
SATURATION_KEYS = ("attendance", "networking", "dialogue", "referrals")
SATURATION_RANGE: NumberRange = (0, 1000, False)  # k of sat(x, k) = 1 − exp(−x / k): k > 0
ROLE_KEYS = tuple(AttendanceRole.values)
OUTCOME_KEYS = (*FollowUpOutcome.values, "")  # "": a done follow-up without an outcome
RELATIVE_WEIGHT_RANGE: NumberRange = (0, 10, True)
DAYS: NumberRange = (0, 3650, True)
STAGE_THRESHOLDS: dict[str, NumberRange] = {
    "at_risk_days": DAYS,
    "maturity_min_events": (1, 1000, True),
    "maturity_min_score": (0, 100, True),
    "churn_high_days": DAYS,
    "churn_medium_days": DAYS,
    "churn_drop_points": (0, 100, True),
    "churn_drop_lookback_days": DAYS,
    "care_full_hours": (0, 24 * 365, True),
    "care_half_days": (0, 365, True),
    "no_show_penalty": (0, 10, True),
}
WHOLE_NUMBER_THRESHOLDS = ("maturity_min_events",)


def _is_number(value) -> bool:
    # JSON numbers only: "0.3" or true would be read as numbers by float(), but are typos here.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _in_range(value: float, number_range: NumberRange) -> bool:
    minimum, maximum, minimum_allowed = number_range
    return (minimum <= value if minimum_allowed else minimum < value) and value <= maximum


def _range_text(number_range: NumberRange) -> str:
    minimum, maximum, minimum_allowed = number_range
    if minimum_allowed:
        return _("a number from %(minimum)s to %(maximum)s") % {"minimum": minimum, "maximum": maximum}
    return _("a number above %(minimum)s, at most %(maximum)s") % {"minimum": minimum, "maximum": maximum}


def _number_errors(name: str, value, number_range: NumberRange) -> list[str]:
    if _is_number(value) and _in_range(value, number_range):
        return []
    return [_("“%(name)s” must be %(range)s (it is %(value)s).") % {
        "name": name, "range": _range_text(number_range), "value": json.dumps(value, default=str)}]


def _key_errors(value, keys: tuple[str, ...]) -> list[str]:
    """The mapping has exactly these keys."""
    names = ", ".join(f"“{key}”" for key in keys)
    if not isinstance(value, dict):
        return [_("Give an object with the keys %(keys)s.") % {"keys": names}]
    errors = []
    if missing := [key for key in keys if key not in value]:
        errors.append(_("Missing: %(keys)s.") % {"keys": ", ".join(f"“{key}”" for key in missing)})
    if unknown := [key for key in value if key not in keys]:
        errors.append(_("Unknown: %(keys)s; the keys are %(expected)s.") % {
            "keys": ", ".join(f"“{key}”" for key in unknown), "expected": names})
    return errors


def _keyed_number_errors(keys: tuple[str, ...], number_range: NumberRange | dict[str, NumberRange]):
    """A check of a mapping with exactly these keys, each a number in its range."""
    def check(value) -> list[str]:
        errors = _key_errors(value, keys)
        if isinstance(value, dict):
            for key in keys:
                if key in value:
                    key_range = number_range[key] if isinstance(number_range, dict) else number_range
                    errors += _number_errors(key, value[key], key_range)
        return errors

    return check


def _weight_errors(weights) -> list[str]:
    if not isinstance(weights, dict) or set(weights) != set(COMPONENTS):
        return [_("Give one weight for each of: %s.") % ", ".join(COMPONENTS)]
    if errors := _keyed_number_errors(COMPONENTS, WEIGHT_RANGE)(weights):
        return errors
    total = math.fsum(weights.values())
    if abs(total - 1.0) > 1e-9:
        shown = number_format(float(f"{total:.10g}"))  # as many digits as the check sees (not "1.0")
        return [_("The weights must sum to 1 (they sum to %(total)s).") % {"total": shown}]
    return []


def _half_life_errors(half_life_days) -> list[str]:
    if not isinstance(half_life_days, int | float):
        return []  # missing or not a number: clean_fields() says so
    if half_life_days <= 0:
        return [_("The half-life must be positive.")]
    if not math.isfinite(half_life_days) or not _in_range(half_life_days, HALF_LIFE_RANGE):
        return [_("The half-life must be from %(minimum)s to %(maximum)s days.") % {
            "minimum": HALF_LIFE_RANGE[0], "maximum": HALF_LIFE_RANGE[1]}]
    return []


def _converted_referral_weight_errors(weight) -> list[str]:
    if weight is None:
        return []  # missing: clean_fields() says so
    return _number_errors("converted_referral_weight", weight, RELATIVE_WEIGHT_RANGE)


def _threshold_errors(thresholds) -> list[str]:
    if errors := _keyed_number_errors(tuple(STAGE_THRESHOLDS), STAGE_THRESHOLDS)(thresholds):
        return errors
    errors = [
        _("“%(name)s” must be a whole number.") % {"name": key}
        for key in WHOLE_NUMBER_THRESHOLDS if thresholds[key] != int(thresholds[key])
    ]
    # DOMAIN.md's rules read in order: medium churn before high, care within 48 h before 7 days.
    if thresholds["churn_medium_days"] > thresholds["churn_high_days"]:
        errors.append(_("“churn_medium_days” cannot be above “churn_high_days”."))
    if thresholds["care_full_hours"] > 24 * thresholds["care_half_days"]:
        errors.append(_("“care_full_hours” cannot be longer than “care_half_days”."))
    return errors


class ContactScore(models.Model):
    """The current relationship state of a contact, as of `computed_at`. Computed, read-only."""

    contact = models.OneToOneField(
        "contacts.Contact", verbose_name=_("contact"), primary_key=True,
        on_delete=models.CASCADE, related_name="score",
    )
    score = models.FloatField(_("score"))
    components = models.JSONField(_("components"))
    stage = models.CharField(_("stage"), max_length=20, choices=LifecycleStage.choices)
    churn_risk = models.CharField(_("churn risk"), max_length=10, choices=ChurnRisk.choices)
    events_invited = models.PositiveIntegerField(_("events invited"), default=0)
    events_registered = models.PositiveIntegerField(_("events registered"), default=0)
    events_attended = models.PositiveIntegerField(_("events attended"), default=0)
    no_shows = models.PositiveIntegerField(_("no-shows"), default=0)
    show_rate = models.FloatField(_("show rate"), null=True, blank=True)
    series_attended = models.PositiveIntegerField(_("series attended"), default=0)
    is_returning = models.BooleanField(_("returning"), default=False)
    first_attended_at = models.DateTimeField(_("first attended"), null=True, blank=True)
    last_attended_at = models.DateTimeField(_("last attended"), null=True, blank=True)
    current_streak = models.PositiveIntegerField(_("current streak"), default=0)
    longest_streak = models.PositiveIntegerField(_("longest streak"), default=0)
    avg_days_between_attendances = models.FloatField(_("average days between attendances"), null=True, blank=True)
    last_touch_at = models.DateTimeField(_("last touch"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed as of"))
    profile_version = models.PositiveIntegerField(_("profile version"))
    # The raw values as of computed_at (docs/scoring.md): decay-weighted sums and the latest NPS
    # answer. A later score of unchanged data follows from them by arithmetic (score_now).
    attended_raw = models.FloatField(default=0)
    no_show_raw = models.FloatField(default=0)
    care_weight = models.FloatField(default=0)
    care_hits = models.FloatField(default=0)
    networking_raw = models.FloatField(default=0)
    dialogue_raw = models.FloatField(default=0)
    referral_raw = models.FloatField(default=0)
    latest_nps = models.PositiveSmallIntegerField(null=True, blank=True)
    # The churn rule's reference as of computed_at: the score of the latest snapshot at least 90
    # days older, and when the first snapshot after that reference was written (none: NULL).
    # While that moment is not 90 days past, the reference stays: the nightly run reads no history.
    churn_reference_score = models.FloatField(null=True, blank=True)
    churn_reference_until = models.DateTimeField(null=True, blank=True)
    # Keep-in-touch cadence and next best action (scoring.next_action), as of computed_at.
    cadence_days = models.PositiveIntegerField(_("keep-in-touch cadence (days)"), null=True, blank=True)
    cadence_source = models.CharField(_("cadence from"), max_length=20, blank=True, choices=CadenceSource.choices)
    next_touch_due = models.DateTimeField(
        _("next touch due"), null=True, blank=True,
        help_text=_("The last touch (or, with none, when the contact was created) plus the cadence. "
                    "Empty for do-not-contact and erased contacts."),
    )
    next_action = models.CharField(_("next best action"), max_length=20, choices=NextAction.choices, blank=True)
    next_action_reason = models.CharField(_("why"), max_length=300, blank=True)
    next_action_figures = models.JSONField(_("figures the action used"), default=dict, blank=True)
    # Scoring's writes move it only when something other than decay changed: data, the profile,
    # stage, churn risk, cadence or next action (scoring.services.writes).
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("contact score")
        verbose_name_plural = _("contact scores")
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="contact_score_range",
                violation_error_message=_("A score lies between 0 and 100.")),
            models.CheckConstraint(condition=Q(stage__in=LifecycleStage.values), name="contact_score_stage_valid",
                violation_error_message=_("Unknown lifecycle stage.")),
            models.CheckConstraint(condition=Q(churn_risk__in=ChurnRisk.values), name="contact_score_churn_valid",
                violation_error_message=_("Unknown churn risk.")),
            models.CheckConstraint(
                condition=Q(next_action__in=[*NextAction.values, ""]), name="contact_score_next_action_valid",
                violation_error_message=_("Unknown next best action."),
            ),
            models.CheckConstraint(
                condition=Q(show_rate__isnull=True) | Q(show_rate__gte=0, show_rate__lte=1),
                name="contact_score_show_rate_range",
                violation_error_message=_("The show rate lies between 0 and 1."),
            ),
        ]
        indexes = [
            # (key, contact): cursor pages read from the index whatever their depth (KeysetCursorPagination)
            models.Index(fields=["score", "contact"], name="contact_score_score_idx"),
            models.Index(fields=["stage", "score", "contact"], name="contact_score_stage_idx"),
            models.Index(fields=["churn_risk"], name="contact_score_churn_idx"),
            models.Index(fields=["last_attended_at", "contact"], name="contact_score_last_att_idx"),
            models.Index(fields=["last_touch_at", "contact"], name="contact_score_last_touch_idx"),
            models.Index(fields=["next_touch_due", "contact"], name="contact_score_touch_due_idx"),
            models.Index(fields=["next_action", "-score"], name="contact_score_action_idx"),
            # Who is invited to an edition (next_action.invited_to(): an event completed, started or
            # deleted rescores them), without reading every invitation's figures.
            models.Index(KeyTransform("id", KeyTransform("next_edition", "next_action_figures")),
                         condition=Q(next_action="invite"), name="contact_score_invited_to_idx"),
        ]

    def __str__(self) -> str:
        # The contact's name when it was loaded with the score; by id otherwise, without a query
        # per score (deleting many contacts lists their scores by str()).
        score = localized(self.score, 1)
        if ContactScore.contact.is_cached(self):
            return _("Score of %(contact)s: %(score)s") % {"contact": self.contact, "score": score}
        return _("Score of contact #%(contact)s: %(score)s") % {"contact": self.contact_id, "score": score}


# Out of the box every stage has a cadence, so the "losing touch" list works on day one.
DEFAULT_STAGE_CADENCE_DAYS = {
    LifecycleStage.MATURITY: 60,
    LifecycleStage.GROWTH: 90,
    LifecycleStage.SOCIALIZATION: 120,
    LifecycleStage.INITIATION: 120,
    LifecycleStage.AT_RISK: 180,
}


class KeepInTouchCadence(models.Model):
    """Days between touches for a segment of contacts: a lifecycle stage, a tag or an organization.

    A contact's cadence is its own (Contact.cadence_days) if set; else the shortest of the
    cadences of its organization and its tags; else its stage's (DEFAULT_STAGE_CADENCE_DAYS
    for a stage without a row). Every touchpoint resets the clock (docs/scoring.md).
    """

    segment = models.CharField(_("applies to"), max_length=20, choices=CadenceSegment.choices)
    stage = models.CharField(_("stage"), max_length=20, choices=LifecycleStage.choices, blank=True)
    tag = models.CharField(_("tag"), max_length=50, blank=True)
    organization = models.ForeignKey(
        "contacts.Organization", verbose_name=_("organization"), null=True, blank=True,
        on_delete=models.CASCADE, related_name="+",
    )
    days = models.PositiveIntegerField(
        _("days between touches"), validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["segment", "stage", "tag", "organization__name"]
        verbose_name = _("keep-in-touch cadence")
        verbose_name_plural = _("keep-in-touch cadences")
        constraints = [
            models.CheckConstraint(
                condition=(Q(segment=CadenceSegment.STAGE) & ~Q(stage="") & Q(tag="") & Q(organization__isnull=True))
                | (Q(segment=CadenceSegment.TAG) & ~Q(tag="") & Q(stage="") & Q(organization__isnull=True))
                | (Q(segment=CadenceSegment.ORGANIZATION) & Q(organization__isnull=False) & Q(stage="") & Q(tag="")),
                name="cadence_one_segment",
                violation_error_message=_("A cadence applies to exactly one stage, tag or organization."),
            ),
            models.CheckConstraint(condition=Q(days__gte=1, days__lte=3650), name="cadence_days_range",
                violation_error_message=_("A keep-in-touch cadence lies between 1 and 3,650 days.")),
            models.UniqueConstraint(fields=["stage"], condition=Q(segment=CadenceSegment.STAGE),
                name="cadence_stage_unique", violation_error_message=_("This stage already has a cadence.")),
            models.UniqueConstraint(Lower("tag"), condition=Q(segment=CadenceSegment.TAG),
                name="cadence_tag_unique", violation_error_message=_("This tag already has a cadence.")),
            models.UniqueConstraint(fields=["organization"], condition=Q(segment=CadenceSegment.ORGANIZATION),
                name="cadence_organization_unique",
                violation_error_message=_("This organization already has a cadence.")),
        ]

    def __str__(self) -> str:
        target = self.get_stage_display() if self.segment == CadenceSegment.STAGE else (
            self.tag if self.segment == CadenceSegment.TAG else str(self.organization))
        return _("%(target)s: every %(days)s days") % {"target": target, "days": self.days}

    def clean(self) -> None:
        self.tag = self.tag.strip().lower() if self.segment == CadenceSegment.TAG else ""
        if self.segment != CadenceSegment.STAGE:
            self.stage = ""
        if self.segment != CadenceSegment.ORGANIZATION:
            self.organization = None
        field = {CadenceSegment.STAGE: "stage", CadenceSegment.TAG: "tag",
                 CadenceSegment.ORGANIZATION: "organization"}.get(self.segment)
        if field and not getattr(self, field):
            raise ValidationError({field: _("Say which %(what)s this cadence applies to.") % {
                "what": self._meta.get_field(field).verbose_name}})


class ScoreSnapshot(models.Model):
    """History: one row per recompute that changed a contact's score or stage."""

    contact = models.ForeignKey(
        "contacts.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="score_snapshots"
    )
    score = models.FloatField(_("score"))
    # The score this recompute replaced (null: none before); relationship lift adds these up.
    previous_score = models.FloatField(_("previous score"), null=True, blank=True)
    components = models.JSONField(_("components"))
    stage = models.CharField(_("stage"), max_length=20, choices=LifecycleStage.choices)
    computed_at = models.DateTimeField(_("computed as of"))
    trigger = models.CharField(_("trigger"), max_length=20, choices=ScoreTrigger.choices)
    trigger_event = models.ForeignKey(
        "events.Event", verbose_name=_("trigger event"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    profile_version = models.PositiveIntegerField(_("profile version"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["-computed_at", "-id"]
        verbose_name = _("score snapshot")
        verbose_name_plural = _("score snapshots")
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="score_snapshot_score_range",
                violation_error_message=_("A score lies between 0 and 100.")),
            models.CheckConstraint(condition=Q(trigger__in=ScoreTrigger.values), name="score_snapshot_trigger_valid",
                violation_error_message=_("Unknown trigger.")),
        ]
        indexes = [
            models.Index(fields=["contact", "-computed_at"], name="score_snapshot_contact_idx"),
            models.Index(fields=["trigger_event"], name="score_snapshot_event_idx"),
        ]

    def __str__(self) -> str:
        # The contact's name when it was loaded with the snapshot; by id otherwise (no query per
        # row: deleting a contact lists its snapshots).
        values = {"score": localized(self.score, 1),
                  "moment": date_format(timezone.localtime(self.computed_at), "SHORT_DATETIME_FORMAT")}
        if ScoreSnapshot.contact.is_cached(self):
            return _("Score of %(contact)s: %(score)s as of %(moment)s") % {"contact": self.contact, **values}
        return _("Score of contact #%(contact)s: %(score)s as of %(moment)s") % {"contact": self.contact_id, **values}


class EventMetrics(models.Model):
    """The RoR figures of one event (DOMAIN.md "Event metrics"). Computed, read-only."""

    event = models.OneToOneField(
        "events.Event", verbose_name=_("event"), primary_key=True, on_delete=models.CASCADE, related_name="metrics"
    )
    registered = models.PositiveIntegerField(_("registered"), default=0)
    attended = models.PositiveIntegerField(_("attended"), default=0)
    no_shows = models.PositiveIntegerField(_("no-shows"), default=0)
    no_show_rate = models.FloatField(_("no-show rate"), null=True, blank=True)
    no_show_rate_reason = models.CharField(
        _("why no no-show rate"), max_length=20, blank=True, choices=NoShowRateReason.choices,
        help_text=_("Set when the no-show rate is null: the event used no check-in."),
    )
    new_attendees = models.PositiveIntegerField(_("new attendees"), default=0)
    returning_attendees = models.PositiveIntegerField(_("returning attendees"), default=0)
    returning_share = models.FloatField(_("returning share"), null=True, blank=True)
    previous_edition = models.ForeignKey(
        "events.Event", verbose_name=_("previous edition"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    series_retention_rate = models.FloatField(_("series retention rate (CRR, %)"), null=True, blank=True)
    interactions_total = models.PositiveIntegerField(_("interactions"), default=0)
    interactions_per_attendee = models.FloatField(_("interactions per attendee"), null=True, blank=True)
    avg_interaction_quality = models.FloatField(_("average interaction quality"), null=True, blank=True)
    followups_total = models.PositiveIntegerField(_("follow-ups"), default=0)
    followup_coverage = models.FloatField(_("follow-up coverage"), null=True, blank=True)
    followed_up_within_48h_share = models.FloatField(_("followed up within 48 h"), null=True, blank=True)
    median_first_followup_hours = models.FloatField(_("median hours to first follow-up"), null=True, blank=True)
    nps = models.FloatField(_("NPS"), null=True, blank=True)
    feedback_count = models.PositiveIntegerField(_("feedback answers"), default=0)
    avg_satisfaction = models.FloatField(_("average satisfaction"), null=True, blank=True)
    pipeline_value = models.DecimalField(_("pipeline value"), max_digits=16, decimal_places=2, default=0)
    won_value = models.DecimalField(_("won value"), max_digits=16, decimal_places=2, default=0)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, null=True, blank=True)
    ror_percent = models.FloatField(_("RoR %"), null=True, blank=True)
    # The seed's ROI with customer lifetime value (scoring.services.clv, docs/clv.md).
    retained_attendees = models.PositiveIntegerField(
        _("retained attendees"), null=True, blank=True,
        help_text=_("Attended this event and the previous edition (E − N of the retention rate)."),
    )
    retained_clv = models.DecimalField(
        _("mean CLV of the retained attendees"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    clv_ror_percent = models.FloatField(
        _("CLV RoR %"), null=True, blank=True, help_text=_("((CLV × retained) − cost) / cost × 100")
    )
    referrals = models.PositiveIntegerField(_("referrals"), default=0)
    advocacy_index = models.FloatField(_("advocacy index"), null=True, blank=True)
    relationship_lift = models.FloatField(
        _("relationship lift"), null=True, blank=True,
        help_text=_("Mean over attendees of the score as of completion minus the score without this event's rows."),
    )
    relationship_lift_median = models.FloatField(_("relationship lift (median)"), null=True, blank=True)
    relationship_lift_positive_share = models.FloatField(
        _("share of attendees with a positive lift"), null=True, blank=True
    )
    computed_at = models.DateTimeField(_("computed at"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("event metrics")
        verbose_name_plural = _("event metrics")

    def __str__(self) -> str:
        return _("Metrics of %(event)s") % {"event": self.event}


class PendingRecompute(models.Model):
    """Late data waiting for its debounced recompute: one row per (event, contact).

    Written in the same transaction as the data, so nothing is lost if a worker dies;
    the late-data task claims the rows it recomputes and deletes them once recomputed. Data
    arriving meanwhile unclaims its row (scoring.triggers.data_changed), which then waits for
    the next run; the sweeper (scoring.outbox) sends a run for rows left waiting.
    """

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # The worker whose task claimed the row and which start of it (RecomputeClaim); blank when
    # claimed in-process: the sweep sends the run again as soon as that worker is gone.
    worker = models.CharField(_("worker"), max_length=255, blank=True, default="")
    worker_boot = models.CharField(_("worker start"), max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("pending recompute")
        verbose_name_plural = _("pending recomputes")
        constraints = [models.UniqueConstraint(fields=["event", "contact"], name="pending_recompute_unique",
                violation_error_message=_("This contact is already waiting for a recompute of this event."))]

    def __str__(self) -> str:
        return f"{self.event_id}/{self.contact_id}"


class RecomputeRequest(models.Model):
    """Scoring work asked for and not yet done: the transactional outbox of scoring.

    Written in the same transaction as the data that asks for it (an event completed, rows
    deleted, a recompute by hand), sent to Celery after commit and again by the sweeper while
    it stays (scoring.outbox). The task that does the work deletes it when the work ran, so a
    request lost with the broker, or with a worker killed midway, is sent again.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=RecomputeKind.choices)
    event = models.ForeignKey(
        "events.Event", verbose_name=_("event"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # contacts: their ids; a range: its first and last id
    contact_ids = models.JSONField(_("contacts"), default=list, blank=True)
    trigger = models.CharField(_("trigger"), max_length=20, choices=ScoreTrigger.choices, default=ScoreTrigger.MANUAL)
    # The moment to score at (a range of the nightly run, sent again: the same as-of as the rest
    # of the run); empty: when the work runs.
    as_of = models.DateTimeField(_("as of"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    send_count = models.PositiveIntegerField(_("times sent"), default=0)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("recompute request")
        verbose_name_plural = _("recompute requests")
        indexes = [models.Index(fields=["sent_at", "created_at"], name="recompute_request_due")]

    def __str__(self) -> str:
        if self.kind == RecomputeKind.RANGE:
            target = f"contacts {self.contact_ids[0]}–{self.contact_ids[-1]}"
        else:
            target = f"event {self.event_id}" if self.event_id else f"{len(self.contact_ids)} contacts"
        return f"{self.get_kind_display()}: {target}"


class RecomputeClaim(models.Model):
    """A task at work on a request: on which worker (its node name), which start of that worker (a
    boot id, new each time it starts) and which task. Written when the task starts and deleted when
    it ends (or with the request), so a claim left behind is a task whose process died: the sweep
    sends the request again as soon as that worker is gone (scoring.outbox.lost_claims()), where
    the broker would hand the task's message out again only after the visibility timeout. (A pool
    process killed alone, by the time limit or for memory, gives its task back at once; its claim
    stays until the request is done or that worker restarts.)"""

    request = models.ForeignKey(
        RecomputeRequest, verbose_name=_("recompute request"), on_delete=models.CASCADE, related_name="claims"
    )
    worker = models.CharField(_("worker"), max_length=255)
    boot = models.CharField(_("worker start"), max_length=32)
    task_id = models.CharField(_("task"), max_length=255)
    claimed_at = models.DateTimeField(_("claimed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("recompute claim")
        verbose_name_plural = _("recompute claims")

    def __str__(self) -> str:
        return f"{self.worker} ({self.boot[:8]})"


class ClvModel(models.Model):
    """One fit of the customer-lifetime-value model as of a time (scoring.services.clv,
    docs/clv.md): the BG/BB parameters over the agency's attendance history, the value per
    attendance, and what it was fitted on. Computed, read-only; every fit is kept."""

    fitted_at = models.DateTimeField(_("fitted at"))
    as_of = models.DateTimeField(_("as of"), db_index=True)
    alpha = models.FloatField("α")
    beta = models.FloatField("β")
    gamma = models.FloatField("γ")
    delta = models.FloatField("δ")
    log_likelihood = models.FloatField(_("log-likelihood"))
    pairs = models.PositiveIntegerField(_("(contact, series) histories fitted"))
    contacts = models.PositiveIntegerField(_("contacts with a CLV"))
    series = models.PositiveIntegerField(_("series"))
    currency = models.CharField(_("currency"), max_length=3)
    value_per_attendance = models.DecimalField(_("value per attendance"), max_digits=16, decimal_places=2)
    won_value = models.DecimalField(_("won value"), max_digits=16, decimal_places=2)
    attendances = models.PositiveIntegerField(_("attendances"))
    value_by_currency = models.JSONField(_("value per attendance by currency"), default=dict)
    future_editions = models.JSONField(_("editions expected in the horizon, by series"), default=dict)
    horizon_years = models.FloatField(_("horizon (years)"))
    annual_discount_rate = models.FloatField(_("annual discount rate"))

    class Meta:
        ordering = ["-as_of", "-id"]
        verbose_name = _("CLV model")
        verbose_name_plural = _("CLV models")

    def __str__(self) -> str:
        moment = date_format(timezone.localtime(self.as_of), "SHORT_DATETIME_FORMAT")
        return _("CLV model as of %(moment)s") % {"moment": moment}


class ContactLifetimeValue(models.Model):
    """A scored contact's customer lifetime value, as of the latest CLV fit (ClvModel.as_of).

    Beside ContactScore, not in it: every fit rewrites all of these, and a narrow row per contact
    takes a fraction of the time of rewriting the wide, much-indexed score rows (docs/clv.md)."""

    score = models.OneToOneField(
        ContactScore, verbose_name=_("contact"), primary_key=True, db_column="contact_id",
        on_delete=models.CASCADE, related_name="lifetime_value",
    )
    clv = models.DecimalField(_("customer lifetime value"), max_digits=16, decimal_places=2, null=True, blank=True)
    clv_currency = models.CharField(_("CLV currency"), max_length=3, blank=True, default="")
    expected_attendances = models.FloatField(_("expected attendances"), null=True, blank=True)
    as_of = models.DateTimeField(_("as of"))

    class Meta:
        verbose_name = _("contact lifetime value")
        verbose_name_plural = _("contact lifetime values")

    def __str__(self) -> str:
        if self.clv is None:
            return _("CLV of contact #%(contact)s: none") % {"contact": self.score_id}
        return _("CLV of contact #%(contact)s: %(clv)s %(currency)s") % {
            "contact": self.score_id, "clv": localized(self.clv, 2), "currency": self.clv_currency}
