from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower, Trim
from django_filters import rest_framework as filters

from contacts.choices import DealStatus, FollowUpOutcome, FollowUpStatus
from contacts.models import Contact, FollowUp, Organization, Referral, normalize_email, organization_key
from events.choices import AttendanceStatus
from events.models import Attendance
from partners.filters import BooleanFilter, BoundedNumberFilter, IdFilter, MomentFilter, UpdatedSinceFilterSet
from scoring.api.filtersets import filter_losing_touch
from scoring.choices import ChurnRisk, LifecycleStage, NextAction


class OrganizationFilterSet(UpdatedSinceFilterSet):
    name = filters.CharFilter(method="filter_name", help_text="The organization of this name, compared trimmed and "
                              "case-insensitively (as names are unique).")
    domain = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Organization
        fields = ["name", "domain"]

    def filter_name(self, queryset, name, value):
        return queryset.filter(name_key=organization_key(value))


class ContactFilterSet(UpdatedSinceFilterSet):
    # A contact counts as updated when its score was (ContactQuerySet.with_last_change()).
    updated_since = MomentFilter(field_name="last_change", lookup_expr="gte")
    email = filters.CharFilter(method="filter_email")
    organization = IdFilter(field_name="organization_id")
    owner = IdFilter(field_name="owner_id")
    tag = filters.CharFilter(method="filter_tag")
    stage = filters.ChoiceFilter(field_name="score__stage", choices=LifecycleStage.choices)
    churn_risk = filters.ChoiceFilter(field_name="score__churn_risk", choices=ChurnRisk.choices)
    score_min = BoundedNumberFilter(field_name="score__score", lookup_expr="gte")
    score_max = BoundedNumberFilter(field_name="score__score", lookup_expr="lte")
    attended_event = IdFilter(method="filter_attended_event")
    series = IdFilter(method="filter_series")
    last_attended_after = MomentFilter(field_name="score__last_attended_at", lookup_expr="gte",
                                      help_text="Last attended an event at or after this time.")
    last_attended_before = MomentFilter(field_name="score__last_attended_at", lookup_expr="lt",
                                       help_text="Last attended an event before this time (not at it).")
    losing_touch = BooleanFilter(
        method="filter_losing_touch",
        help_text="`true`: contacts past their keep-in-touch cadence now (`score.next_touch_due` before this "
                  "request), the most valuable (highest score) first unless `ordering` says otherwise, e.g. "
                  "`-days_overdue`; `false`: the others.",
    )
    next_action = filters.ChoiceFilter(
        field_name="score__next_action", choices=NextAction.choices,
        help_text="Contacts whose stored next best action is this one, e.g. `?next_action=invite`.",
    )

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_losing_touch(self, queryset, name, value):
        return filter_losing_touch(queryset, value, prefix="score__")

    def filter_email(self, queryset, name, value):
        return queryset.alias(email_key=Lower(Trim("email"))).filter(email_key=normalize_email(value))

    def filter_tag(self, queryset, name, value):
        return queryset.tagged(value)

    def filter_attended_event(self, queryset, name, value):
        attended = Attendance.objects.filter(contact=OuterRef("pk"), event_id=value, status=AttendanceStatus.ATTENDED)
        return queryset.filter(Exists(attended))

    def filter_series(self, queryset, name, value):
        attended = Attendance.objects.filter(contact=OuterRef("pk"), event__series_id=value, status=AttendanceStatus.ATTENDED)
        return queryset.filter(Exists(attended))


class FollowUpFilterSet(UpdatedSinceFilterSet):
    contact = IdFilter(field_name="contact_id")
    event = IdFilter(field_name="event_id")
    owner = IdFilter(field_name="owner_id")
    status = filters.ChoiceFilter(choices=FollowUpStatus.choices)
    outcome = filters.ChoiceFilter(choices=FollowUpOutcome.choices)
    deal_status = filters.ChoiceFilter(choices=DealStatus.choices)
    overdue = BooleanFilter(method="filter_overdue")
    due_before = MomentFilter(field_name="due_at", lookup_expr="lt", help_text="Due before this time (not at it).")
    due_after = MomentFilter(field_name="due_at", lookup_expr="gte", help_text="Due at or after this time.")

    class Meta:
        model = FollowUp
        fields: list[str] = []

    def filter_overdue(self, queryset, name, value):
        overdue = FollowUp.objects.overdue()
        return queryset.filter(pk__in=overdue.values("pk")) if value else queryset.exclude(pk__in=overdue.values("pk"))


class ReferralFilterSet(UpdatedSinceFilterSet):
    referrer = IdFilter(field_name="referrer_id")
    event = IdFilter(field_name="event_id")

    class Meta:
        model = Referral
        fields: list[str] = []
