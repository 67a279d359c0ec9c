"""Admin for scoring: profiles are edited; scores, snapshots and event metrics are computed, read-only."""

from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.models import EventSeries
from ror_crm.admin_tools import ReadOnlyAdminMixin, ServiceAdminMixin, badge, short_date
from scoring.formatting import localized, signed
from scoring.forms import ScoringProfileForm, keyed_parameter_labels
from scoring.models import (
    ClvModel,
    ContactScore,
    EventMetrics,
    KeepInTouchCadence,
    PendingRecompute,
    RecomputeRequest,
    ScoreSnapshot,
    ScoringProfile,
)
from scoring.services import cadences as cadence_services
from scoring.services import profile as profile_services
from scoring.views import component_labels

KEYED_PARAMETERS = ("weights", "saturation", "role_weights", "outcome_weights", "stage_thresholds")


def _in_words_display(name: str):
    """An admin column of the profile's keyed parameter `name`: each number beside its label."""

    @admin.display(description=ScoringProfile._meta.get_field(name).verbose_name)
    def display(model_admin, profile: ScoringProfile) -> str:
        labels = keyed_parameter_labels()[name]
        return format_html_join(mark_safe("<br>"), "{}: {}", (
            (labels.get(key, key), number_format(value)) for key, value in (getattr(profile, name) or {}).items()))

    return display


def _number(value: float | None, digits: int, suffix: str = "") -> str:
    return "—" if value is None else localized(value, digits) + suffix


@admin.register(ScoringProfile)
class ScoringProfileAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Saved through services.profile: versions are numbered there, never typed in."""

    form = ScoringProfileForm
    create_service = staticmethod(profile_services.create_profile)
    update_service = staticmethod(profile_services.update_profile)
    delete_service = staticmethod(profile_services.delete_profile)
    list_display = ("name", "version", "is_active", "half_life_days", "weights_display", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = (
        "name", "version", "is_active", "weights", "half_life_days", "saturation", "role_weights", "outcome_weights",
        "stage_thresholds", "converted_referral_weight", "created_at", "updated_at",
    )
    readonly_fields = ("version", "created_at", "updated_at", *(f"{name}_in_words" for name in KEYED_PARAMETERS))

    @admin.display(description=gettext_lazy("weights"))
    def weights_display(self, profile):
        labels = component_labels()
        return " · ".join(f"{labels.get(name, name)} {localized(weight, 2)}" for name, weight in profile.weights.items())

    def get_changeform_initial_data(self, request):
        """A new profile starts from the active one's parameters: a variant to try, not 30 blanks."""
        initial = super().get_changeform_initial_data(request)
        active = ScoringProfile.objects.filter(is_active=True).first()
        if active is not None:
            for name in profile_services.PARAMETER_FIELDS:
                initial.setdefault(name, getattr(active, name))
        return initial

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # Who may only look reads each number beside its label, not the stored JSON.
            return [f"{name}_in_words" if name in KEYED_PARAMETERS else name for name in fields]
        return fields

    weights_in_words = _in_words_display("weights")
    saturation_in_words = _in_words_display("saturation")
    role_weights_in_words = _in_words_display("role_weights")
    outcome_weights_in_words = _in_words_display("outcome_weights")
    stage_thresholds_in_words = _in_words_display("stage_thresholds")

    def save_model(self, request, obj, form, change):
        edited_pk, edited_version = obj.pk, obj.version
        active_before = profile_services.active_version()
        super().save_model(request, obj, form, change)
        if change and obj.pk != edited_pk:
            self.message_user(request, _(
                "The new parameters were saved as version %(new)d, now the profile to edit. Version %(old)d "
                "stays as it was: the record of the parameters its scores were computed with."
            ) % {"new": obj.version, "old": edited_version}, messages.INFO)
        if obj.is_active and obj.version != active_before:
            self.message_user(request, _(
                "Version %(version)d is the active profile: every contact is being re-scored with it. To try "
                "parameters before they count, save them in a profile that is not active and use What if…"
            ) % {"version": obj.version}, messages.INFO)

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        if "_continue" in request.POST and request.resolver_match.kwargs.get("object_id") != str(obj.pk):
            # A new version is a new row: go on editing it, not the record it left behind.
            return HttpResponseRedirect(reverse("admin:scoring_scoringprofile_change", args=[obj.pk]))
        return response


@admin.register(KeepInTouchCadence)
class KeepInTouchCadenceAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Days between touches per stage, tag or organization; saving re-scores every contact."""

    create_service = staticmethod(cadence_services.create_cadence)
    update_service = staticmethod(cadence_services.update_cadence)
    delete_service = staticmethod(cadence_services.delete_cadence)
    list_display = ("segment", "segment_display", "days")
    list_filter = ("segment",)
    search_fields = ("tag", "organization__name")
    autocomplete_fields = ("organization",)
    fields = ("segment", "stage", "tag", "organization", "days")

    @admin.display(description=gettext_lazy("stage, tag or organization"))
    def segment_display(self, cadence):
        if cadence.segment == "stage":
            return cadence.get_stage_display()
        return cadence.tag or str(cadence.organization or "")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.message_user(request, _("Every contact's next touch and next best action are being recomputed."),
                          messages.INFO)


@admin.register(ContactScore)
class ContactScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "contact", "score", "stage_badge", "churn_badge", "events_attended", "current_streak", "last_touch", "computed",
    )
    list_select_related = ("contact",)
    list_filter = ("stage", "churn_risk", "is_returning", "profile_version")
    search_fields = ("contact__email", "contact__first_name", "contact__last_name")
    ordering = ("-score",)
    # The detail page: the figures people read, formatted; the stored inputs of the arithmetic
    # nightly update (raw sums, churn reference) stay out of it. The contact's page explains them.
    fieldsets = (
        (None, {"fields": ("contact", "score_value", "stage_badge", "churn_badge", "computed", "profile_version")}),
        (gettext_lazy("Attendance"), {"fields": (
            ("events_invited", "events_registered", "events_attended", "no_shows"), "show_rate_pct",
            ("series_attended", "is_returning"), ("first_attended", "last_attended"),
            ("current_streak", "longest_streak"), "average_gap", "last_touch",
        )}),
        (gettext_lazy("Next best action"), {"fields": ("cadence", "next_touch", "next_action", "reason")}),
    )
    readonly_fields = (
        "score_value", "stage_badge", "churn_badge", "computed", "show_rate_pct", "first_attended", "last_attended",
        "average_gap", "last_touch", "cadence", "next_touch", "reason",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contact")  # the page's title names the contact

    @admin.display(description=gettext_lazy("score"))
    def score_value(self, score):
        return localized(score.score, 1)

    @admin.display(description=gettext_lazy("show rate"))
    def show_rate_pct(self, score):
        return "—" if score.show_rate is None else f"{localized(score.show_rate * 100)} %"

    @admin.display(description=gettext_lazy("first attended"))
    def first_attended(self, score):
        return short_date(score.first_attended_at)

    @admin.display(description=gettext_lazy("last attended"))
    def last_attended(self, score):
        return short_date(score.last_attended_at)

    @admin.display(description=gettext_lazy("average days between attendances"))
    def average_gap(self, score):
        return _number(score.avg_days_between_attendances, 0)

    @admin.display(description=gettext_lazy("keep-in-touch cadence (days)"))
    def cadence(self, score):
        if score.cadence_days is None:
            return "—"
        return f"{localized(score.cadence_days)} ({score.get_cadence_source_display()})" if score.cadence_source \
            else localized(score.cadence_days)

    @admin.display(description=gettext_lazy("next touch due"))
    def next_touch(self, score):
        return short_date(score.next_touch_due)

    @admin.display(description=gettext_lazy("why"))
    def reason(self, score):
        from scoring.services.next_action import reason_text

        return reason_text(score.next_action, score.next_action_figures or {}) if score.next_action else "—"

    @admin.display(description=gettext_lazy("stage"), ordering="stage")
    def stage_badge(self, score):
        return badge(score.stage, score.get_stage_display())

    @admin.display(description=gettext_lazy("churn risk"), ordering="churn_risk")
    def churn_badge(self, score):
        return badge(score.churn_risk, score.get_churn_risk_display())

    @admin.display(description=gettext_lazy("last touch"), ordering="last_touch_at")
    def last_touch(self, score):
        return short_date(score.last_touch_at)

    @admin.display(description=gettext_lazy("computed as of"), ordering="computed_at")
    def computed(self, score):
        return short_date(score.computed_at)


@admin.register(ScoreSnapshot)
class ScoreSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("contact", "score", "stage", "trigger", "trigger_event", "computed_at", "profile_version")
    list_filter = ("trigger", "stage")
    date_hierarchy = "computed_at"
    search_fields = ("contact__email", "contact__last_name")

    def get_queryset(self, request):
        # The page's title names the contact; the list shows it and the triggering event.
        return super().get_queryset(request).select_related("contact", "trigger_event")


@admin.register(EventMetrics)
class EventMetricsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "event", "attended", "returning_share_pct", "retention", "nps_value", "followup_coverage_pct", "ror",
        "lift", "computed",
    )
    list_select_related = ("event", "event__series")
    list_filter = ("event__series",)
    search_fields = ("event__name",)
    ordering = ("-event__starts_at",)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The figures are read on their event's page, formatted and explained (the metrics panel):
        # this row's own page would show them raw.
        metrics = self.get_object(request, unquote(object_id))
        if metrics is None or not self.has_view_or_change_permission(request, metrics):
            return super().change_view(request, object_id, form_url, extra_context)  # its 404 or 403
        return HttpResponseRedirect(reverse("admin:events_event_change", args=[metrics.event_id]) + "#ror-event-metrics")

    @admin.display(description=gettext_lazy("returning share"), ordering="returning_share")
    def returning_share_pct(self, metrics):
        return "—" if metrics.returning_share is None else f"{localized(metrics.returning_share * 100)} %"

    @admin.display(description=gettext_lazy("follow-up coverage"), ordering="followup_coverage")
    def followup_coverage_pct(self, metrics):
        return "—" if metrics.followup_coverage is None else f"{localized(metrics.followup_coverage * 100)} %"

    @admin.display(description=gettext_lazy("CRR"), ordering="series_retention_rate")
    def retention(self, metrics):
        return _number(metrics.series_retention_rate, 0, " %")

    @admin.display(description=gettext_lazy("NPS"), ordering="nps")
    def nps_value(self, metrics):
        return "—" if metrics.nps is None else signed(metrics.nps)  # a net score: +57, as the event list writes it

    @admin.display(description=gettext_lazy("RoR %"), ordering="ror_percent")
    def ror(self, metrics):
        return _number(metrics.ror_percent, 0, " %")

    @admin.display(description=gettext_lazy("lift"), ordering="relationship_lift")
    def lift(self, metrics):  # a change in points: +9.1, as the event page writes it
        return "—" if metrics.relationship_lift is None else signed(metrics.relationship_lift, 1)

    @admin.display(description=gettext_lazy("computed as of"), ordering="computed_at")
    def computed(self, metrics):
        return short_date(metrics.computed_at)


@admin.register(RecomputeRequest)
class RecomputeRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The scoring outbox: work asked for and not yet done (README "When something fails")."""

    list_display = ("__str__", "kind", "event", "trigger", "created_at", "sent_at", "send_count", "taken_up_by")
    list_filter = ("kind", "trigger")
    list_select_related = ("event",)
    ordering = ("created_at", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("claims")

    @admin.display(description=gettext_lazy("taken up by"))
    def taken_up_by(self, row: RecomputeRequest) -> str | None:
        """The workers whose tasks took up the work (scoring.outbox.claim()); none: waiting in the queue."""
        return ", ".join(sorted({claim.worker for claim in row.claims.all()})) or None


@admin.register(ClvModel)
class ClvModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The customer-lifetime-value fits (docs/clv.md), newest first: computed, read-only."""

    # The parameters and what the fit gives a contact; the rest (histories, likelihood, when it ran)
    # on the row's page, so the list fits a laptop screen. Figures rounded, money with its currency:
    # a fit's floats (0.00009999999999999991) and raw JSON read as noise to staff.
    list_display = ("as_of", "parameters", "value", "contacts")
    fields = ("as_of", "fitted_at", "parameters", "log_likelihood_shown", "pairs", "contacts", "series", "value",
              "won", "attendances", "value_by_currency_shown", "future_editions_shown", "horizon_years",
              "annual_discount_rate")
    readonly_fields = ("parameters", "log_likelihood_shown", "value", "won", "value_by_currency_shown",
                       "future_editions_shown")
    ordering = ("-as_of", "-id")

    @admin.display(description="α · β · γ · δ")
    def parameters(self, model: ClvModel) -> str:
        return " · ".join(_significant(value) for value in (model.alpha, model.beta, model.gamma, model.delta))

    @admin.display(description=gettext_lazy("log-likelihood"))
    def log_likelihood_shown(self, model: ClvModel) -> str:
        return localized(model.log_likelihood, 1)

    @admin.display(description=gettext_lazy("value per attendance"), ordering="value_per_attendance")
    def value(self, model: ClvModel) -> str:
        return f"{localized(model.value_per_attendance, 2)} {model.currency}".strip()

    @admin.display(description=gettext_lazy("won value"))
    def won(self, model: ClvModel) -> str:
        return f"{localized(model.won_value, 2)} {model.currency}".strip()

    @admin.display(description=gettext_lazy("value per attendance by currency"))
    def value_by_currency_shown(self, model: ClvModel) -> str:
        # None for a currency with won deals and no attendances at completed events (scoring.services.clv)
        return "; ".join(
            f"{localized(Decimal(figures['value_per_attendance']), 2)} {currency}"
            if figures.get("value_per_attendance") is not None else f"— {currency}"
            for currency, figures in sorted(model.value_by_currency.items())) or "—"

    @admin.display(description=gettext_lazy("editions expected in the horizon, by series"))
    def future_editions_shown(self, model: ClvModel) -> str:
        names = dict(EventSeries.objects.filter(pk__in=[int(pk) for pk in model.future_editions]).values_list("pk", "name"))
        return "; ".join(f"{names.get(int(pk), f'#{pk}')}: {localized(count)}"
                         for pk, count in sorted(model.future_editions.items(), key=lambda item: int(item[0]))) or "—"


def _significant(value: float) -> str:
    """A fitted parameter to four significant digits, as the admin's language writes numbers."""
    return number_format(float(f"{value:.4g}"))


@admin.register(PendingRecompute)
class PendingRecomputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Late data waiting for its debounced recompute."""

    list_display = ("event", "contact", "created_at", "claimed_at", "worker")
    list_select_related = ("event", "contact")
    ordering = ("created_at", "id")
