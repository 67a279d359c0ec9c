"""Admin for scoring: profiles are edited; scores, snapshots and event metrics are computed, read-only."""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy

from ror_crm.admin_tools import ReadOnlyAdminMixin
from scoring.models import ContactScore, EventMetrics, ScoreSnapshot, ScoringProfile


def _date(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


@admin.register(ScoringProfile)
class ScoringProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "is_active", "half_life_days", "weights", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(ContactScore)
class ContactScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "contact", "score", "stage", "churn_risk", "events_attended", "no_shows", "is_returning", "current_streak",
        "last_touch", "computed", "profile_version",
    )
    list_select_related = ("contact",)
    list_filter = ("stage", "churn_risk", "is_returning", "profile_version")
    search_fields = ("contact__email", "contact__first_name", "contact__last_name")
    ordering = ("-score",)

    @admin.display(description=gettext_lazy("last touch"), ordering="last_touch_at")
    def last_touch(self, score):
        return _date(score.last_touch_at)

    @admin.display(description=gettext_lazy("computed as of"), ordering="computed_at")
    def computed(self, score):
        return _date(score.computed_at)


@admin.register(ScoreSnapshot)
class ScoreSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("contact", "score", "stage", "trigger", "trigger_event", "computed_at", "profile_version")
    list_select_related = ("contact", "trigger_event")
    list_filter = ("trigger", "stage")
    date_hierarchy = "computed_at"
    search_fields = ("contact__email", "contact__last_name")


@admin.register(EventMetrics)
class EventMetricsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "event", "attended", "returning_share_pct", "series_retention_rate", "nps", "followup_coverage_pct",
        "ror_percent", "relationship_lift", "computed_at",
    )
    list_select_related = ("event", "event__series")
    list_filter = ("event__series",)
    search_fields = ("event__name",)
    ordering = ("-event__starts_at",)

    @admin.display(description=gettext_lazy("returning share"), ordering="returning_share")
    def returning_share_pct(self, metrics):
        return "—" if metrics.returning_share is None else f"{metrics.returning_share * 100:.0f} %"

    @admin.display(description=gettext_lazy("follow-up coverage"), ordering="followup_coverage")
    def followup_coverage_pct(self, metrics):
        return "—" if metrics.followup_coverage is None else f"{metrics.followup_coverage * 100:.0f} %"
