import binascii
import json
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import UTC, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from contacts import selectors, services
from contacts.api.filtersets import ContactFilterSet, FollowUpFilterSet, OrganizationFilterSet, ReferralFilterSet
from contacts.api.serializers import (
    ContactSerializer,
    FollowUpPerformanceQuerySerializer,
    FollowUpPerformanceSerializer,
    FollowUpSerializer,
    MissedDeadlineQuerySerializer,
    MissedDeadlineSerializer,
    OrganizationSerializer,
    ReferralSerializer,
    TimelineItemSerializer,
)
from contacts.deadlines import (
    changed_since,
    default_follow_up_deadline_minutes,
    follow_up_performance,
    missed_deadline_queue,
)
from contacts.models import Contact, FollowUp, Organization, Referral
from events.models import Event
from partners.filters import UPDATED_SINCE_HELP, updated_since
from partners.pagination import CURSOR_PARAMETER, PAGE_SIZE_PARAMETER, CursorPagination, KeysetCursorPagination, NullableSortKey
from partners.parsers import check_ignored_body
from partners.serializers import MomentField
from partners.viewsets import ServiceModelViewSet
from ror_crm.validators import MAX_ID, parse_id, validate_plausible_moment
from scoring.api.filtersets import NEXT_ACTION_PARAMETERS
from scoring.api.serializers import ContactScoreSerializer, ScoreSnapshotSerializer
from scoring.models import ContactScore, ScoreSnapshot

UPDATED_SINCE = OpenApiParameter(
    "updated_since", OpenApiTypes.DATETIME, description=UPDATED_SINCE_HELP
)


# Sort keys for nullable columns: contacts without a score sort as the lowest.
NO_SCORE = Value(-1.0)
NEVER = Value(datetime(1900, 1, 1, tzinfo=UTC))
NOT_DUE = Value(datetime(9999, 1, 1, tzinfo=UTC))  # no next touch due (do not contact, erased, unscored)
# The score's columns the contact's summary shows (ContactSerializer.get_score); the others are
# not fetched: a row of every column cost a page more in loading than in SQL.
SCORE_SHOWN = {"contact", "score", "stage", "churn_risk", "computed_at", "next_touch_due", "next_action",
               "next_action_reason"}
SCORE_NOT_SHOWN = [f"score__{field.name}" for field in ContactScore._meta.concrete_fields if field.name not in SCORE_SHOWN]


class OrganizationViewSet(ServiceModelViewSet):
    """Organizations contacts belong to. `name` is unique case-insensitively: a second organization
    with the same name is a 409 with the existing `id`."""

    queryset = Organization.objects.all()
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilterSet
    search_fields = ["name", "domain", "industry"]
    create_service = staticmethod(services.create_organization)
    update_service = staticmethod(services.update_organization)
    delete_service = staticmethod(services.delete_organization)


class SnapshotPagination(KeysetCursorPagination):
    ordering = ("-computed_at", "-id")
    sort_keys = {"computed_at": NullableSortKey("computed_at")}  # one recompute writes many at one moment


@extend_schema_view(list=extend_schema(parameters=NEXT_ACTION_PARAMETERS))
class ContactViewSet(ServiceModelViewSet):
    """People the agency has relationships with. `email` is matched trimmed and case-insensitively:
    creating a second contact with the same e-mail is a 409 `{"detail", "code": "contact_exists", "id"}`.
    `score` is the read-only summary of the relationship score. Erased contacts (GDPR) are shown with
    their personal fields null and cannot be written (409)."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    search_fields = ["email", "first_name", "last_name", "organization__name", "job_title"]
    ordering_map = {
        "score": "score_sort", "last_attended_at": "last_attended_sort", "created_at": "created_at",
        "days_overdue": "-touch_due_sort",  # more days overdue: an earlier next touch due
    }
    # The keys live on the score row: its indexes on (column, contact) serve the pages.
    pagination_class = KeysetCursorPagination
    nullable_sort_keys = {
        # a contact without a score row was never scored (Contact.never_scored)
        "score_sort": NullableSortKey("score__score", tiebreak="score__contact_id", nulls_within=Q(never_scored=True)),
        "last_attended_sort": NullableSortKey("score__last_attended_at", tiebreak="score__contact_id"),
        "touch_due_sort": NullableSortKey("score__next_touch_due", nulls_lowest=False, tiebreak="score__contact_id"),
        "created_at": NullableSortKey("created_at"),  # not null, but equal for a list imported at once
    }
    create_service = staticmethod(services.create_contact)
    update_service = staticmethod(services.update_contact)
    delete_service = staticmethod(services.delete_contact)

    def get_queryset(self):
        # The sort keys are aliases, not selected: pages of them are read by the keyset paginator.
        return Contact.objects.select_related("score").defer(*SCORE_NOT_SHOWN).with_last_change().alias(
            score_sort=Coalesce("score__score", NO_SCORE),
            last_attended_sort=Coalesce("score__last_attended_at", NEVER),
            touch_due_sort=Coalesce("score__next_touch_due", NOT_DUE),
        )

    def default_ordering(self, request) -> list[str]:
        # The losing-touch list: the most valuable relationships first.
        if request.query_params.get("losing_touch", "").lower() in ("true", "1"):
            return ["-score_sort", "-pk"]
        return ["-pk"]

    @extend_schema(responses={200: ContactScoreSerializer})
    @action(detail=True, methods=["get"])
    def score(self, request, pk=None):
        """The contact's relationship score and repeat-attendance figures (as in `scores/`); 404 before the
        first computation."""
        contact = self.get_object()
        score = ContactScore.objects.filter(contact=contact).select_related("lifetime_value").first()
        if score is None:
            raise NotFound("No score has been computed for this contact yet.")
        return Response(ContactScoreSerializer(score).data)

    @extend_schema(parameters=[UPDATED_SINCE], responses={200: ScoreSnapshotSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="score-history", filter_backends=[])
    def score_history(self, request, pk=None):
        """The contact's score history, newest first, in pages: a snapshot per change of substance (data,
        scoring profile, stage or churn risk), with the trigger and the score it replaced."""
        contact = self.get_object()
        snapshots = ScoreSnapshot.objects.filter(contact=contact)
        since = updated_since(request)
        if since is not None:
            snapshots = snapshots.filter(updated_at__gte=since)
        paginator = SnapshotPagination()
        page = paginator.paginate_queryset(snapshots, request, view=None)
        return paginator.get_paginated_response(ScoreSnapshotSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            CURSOR_PARAMETER,
            PAGE_SIZE_PARAMETER,
            OpenApiParameter("before", OpenApiTypes.DATETIME, description="Only items older than this time."),
            OpenApiParameter(
                "before_item", OpenApiTypes.STR,
                description="With `before`: also the items at exactly that time that sort after this one "
                "(`type:id`), so no item is skipped or repeated.",
            ),
            UPDATED_SINCE,
        ],
        responses={200: inline_serializer("TimelinePage", {
            "next": serializers.CharField(allow_null=True), "previous": serializers.CharField(allow_null=True),
            "results": TimelineItemSerializer(many=True),
        })},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def timeline(self, request, pk=None):
        """Everything that happened with the contact, newest first: attendances, interactions (either
        side), follow-ups, feedback, the referrals it made and those naming it. Cursor pages: follow
        `next` (older items) or `previous` (newer ones); an invalid `cursor` is a 400. `before` (with
        `before_item`) starts a page at a time of your choosing."""
        contact = self.get_object()
        limit = CursorPagination().get_page_size(request)
        since = updated_since(request)
        backwards, position = _timeline_cursor(request)
        if position is None and request.query_params.get("before"):
            position = (_datetime_param(request, "before"), *_timeline_item_param(request))
        elif request.query_params.get("before_item") and position is None:  # it would be ignored
            raise ValidationError({"before_item": ["Goes with `before` (the time of that item)."]})
        items = selectors.contact_timeline(
            contact, limit=limit + 1, updated_since=since, referrals_received=True,
            **({"after": position} if backwards else {"before": position}),
        )
        more = len(items) > limit
        if more:
            items = items[1:] if backwards else items[:limit]  # the extra one is the farthest from the position
        next_url = previous_url = None
        if backwards:
            # Older items follow the page; with none newer than the position, the position itself
            # is on the first page.
            next_url = _timeline_link(request, items[-1], backwards=False) if items else _timeline_link(request, None)
            previous_url = _timeline_link(request, items[0], backwards=True) if more else None
        else:
            next_url = _timeline_link(request, items[-1], backwards=False) if more else None
            if position is not None:  # newer items precede the page (from the first page when it is empty)
                previous_url = _timeline_link(request, items[0], backwards=True) if items else _timeline_link(
                    request, None)
        results = TimelineItemSerializer(items, many=True, context={"contact": contact}).data
        return Response({"next": next_url, "previous": previous_url, "results": results})

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def erase(self, request, pk=None):
        """GDPR erasure: removes the contact's personal data and keeps its rows, anonymous, for the figures;
        204. Scope `write`. An erased contact cannot be written again."""
        check_ignored_body(request)
        services.erase_contact(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """Everything held about the contact, as JSON (GDPR access): its fields, attendances, interactions,
        follow-ups, feedback, referrals, its score with every stored figure (components, stage, churn risk,
        cadence, next best action and reason), the score's history and the lifetime value."""
        return Response(services.export_contact(self.get_object()))


def _datetime_param(request, name: str) -> datetime:
    try:
        # A `+` of an offset arrives as a space when the client did not encode it.
        return MomentField(require_offset=False).run_validation(request.query_params[name].replace(" ", "+"))
    except serializers.ValidationError as error:
        raise ValidationError({name: error.detail}) from None


def _timeline_cursor(request) -> tuple[bool, tuple[datetime, str, int] | None]:
    """(backwards, the position) of the timeline's `cursor`: the item a page starts after."""
    raw = request.query_params.get("cursor")
    if raw is None:
        return False, None
    try:
        data = json.loads(urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)))
        moment = datetime.fromisoformat(data["t"])
        kind, item_id, backwards = data["k"], data["i"], data["r"]
        if moment.tzinfo is None or kind not in selectors.TIMELINE_TYPES or type(item_id) is not int \
                or not 0 < item_id <= MAX_ID or type(backwards) is not bool:
            raise ValueError("cursor out of range")
        validate_plausible_moment(moment)
    except (ValueError, TypeError, KeyError, UnicodeError, DjangoValidationError, binascii.Error):
        raise ValidationError({"cursor": [gettext("Invalid cursor.")]}) from None
    return backwards, (moment, kind, item_id)


def _timeline_link(request, item: "selectors.TimelineEntry | None", *, backwards: bool = False) -> str:
    """The link to the page after (or, backwards, before) the entry `item`; None: the first page."""
    params = request.query_params.copy()
    for name in ("before", "before_item", "cursor"):
        params.pop(name, None)
    if item is not None:
        token = json.dumps({"t": item.at.isoformat(), "k": item.type, "i": item.id, "r": backwards},
                           separators=(",", ":"))
        params["cursor"] = urlsafe_b64encode(token.encode()).decode().rstrip("=")
    query = params.urlencode()
    return request.build_absolute_uri(request.path) + (f"?{query}" if query else "")


def _timeline_item_param(request) -> tuple[str, int] | tuple[()]:
    raw = request.query_params.get("before_item")
    if not raw:
        return ()
    kind, _, item_id = raw.partition(":")
    if kind not in selectors.TIMELINE_TYPES or parse_id(item_id) is None:
        raise ValidationError({"before_item": ["Expected `type:id`, as the `next` link gives it."]})
    return kind, parse_id(item_id)


class MissedDeadlinePagination(KeysetCursorPagination):
    ordering = ("deadline_at", "pk")
    sort_keys = {"deadline_at": NullableSortKey("deadline_at")}  # an event's attendees share its deadline


MISSED_EXAMPLE = OpenApiExample(
    "An attendee waiting since the deadline passed", response_only=True,
    value={
        "id": 812, "event": 42, "event_name": "Hamburg Summit 2026", "contact": 1337, "contact_name": "Anna Müller",
        "owner": 7, "ends_at": "2026-05-20T18:00:00+02:00", "deadline_at": "2026-05-20T19:00:00+02:00",
        "hours_overdue": 26.5, "followed_up_at": None, "planned_follow_up": None,
    },
)


# The answer to planning a follow-up for a contact at a contact-fatigue cap (contacts.fatigue).
CONTACT_FATIGUE_EXAMPLE = OpenApiExample(
    "Contact fatigue",
    value={
        "detail": "Contact fatigue: 3 agency touches in the last 7 days, planned follow-ups included (cap 3). "
        "Another follow-up now may feel intrusive.",
        "code": "contact_fatigue",
    },
    description="The contact reached a contact-fatigue cap; send `\"override\": true` to plan the follow-up anyway.",
    response_only=True,
    status_codes=["409"],
)


@extend_schema_view(
    create=extend_schema(examples=[CONTACT_FATIGUE_EXAMPLE]),
    partial_update=extend_schema(examples=[CONTACT_FATIGUE_EXAMPLE]),
)
class FollowUpViewSet(ServiceModelViewSet):
    """Follow-up conversations after events, the sales team's work. A follow-up with status `done`
    needs `completed_at` (now if omitted), at or after its event's start when it has an `event` (a 400 at
    `completed_at` otherwise: it would count as followed up within 48 hours); `overdue=true` lists
    planned follow-ups past their due time.
    Planning one (status `planned`) for a contact the agency already reached out to often enough lately
    (contact fatigue: follow-ups, invitations and staff interactions over rolling windows) is a 409
    `{"detail", "code": "contact_fatigue"}` unless the body has `"override": true`; a done follow-up
    is never refused for fatigue."""

    queryset = FollowUp.objects.all()
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilterSet
    search_fields = ["summary", "next_step"]
    create_service = staticmethod(services.create_follow_up)
    update_service = staticmethod(services.update_follow_up)
    delete_service = staticmethod(services.delete_follow_up)

    @extend_schema(
        parameters=[MissedDeadlineQuerySerializer, OpenApiParameter(
            "updated_since", OpenApiTypes.DATETIME, description=UPDATED_SINCE_HELP + " Here: the deadline "
            "passed, or the attendance, its contact or a follow-up of it for the event changed, since then.")],
        responses={200: MissedDeadlineSerializer(many=True)},
        examples=[MISSED_EXAMPLE],
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=MissedDeadlinePagination)
    def missed(self, request):
        """The "Missed deadline" queue: attendees with an owner who had no done follow-up for the event
        within its follow-up deadline; oldest deadline first, in pages.

        An event's deadline is its `follow_up_deadline_minutes` after `ends_at` (the site's default,
        48 h, when null); `deadline_at` = `ends_at` + deadline. Listed: attendances with status
        `attended` of events that are over (completed, or ended and not cancelled) whose deadline
        passed within the last 30 days (configurable), whose contact has an owner, is not erased
        and not do-not-contact, and has no done follow-up whose `event` is this event completed by
        `deadline_at`. One followed up late stays listed with `followed_up_at` (when; null while the action
        is open). A follow-up merely planned for it does not take the attendee off the list:
        `planned_follow_up` names it.

        Filters: `owner` (user id), `event` (id), `open` (`true`: the actions still open, without a done
        follow-up; `false`: those followed up late), `updated_since` (rows whose deadline passed, or whose
        attendance, contact or follow-up for the event changed, since then); an invalid value is a 400
        naming the parameter.

        Example: `GET /api/v1/follow-ups/missed/?owner=7&page_size=100`
        """
        query = MissedDeadlineQuerySerializer(data=_non_empty(request.query_params))
        query.is_valid(raise_exception=True)
        now = timezone.now()
        queue = missed_deadline_queue(
            owner=query.validated_data.get("owner"), event_id=query.validated_data.get("event"), now=now
        )
        if query.validated_data.get("open") is not None:
            queue = queue.filter(followed_up_at__isnull=query.validated_data["open"])
        since = updated_since(request)
        if since is not None:
            queue = changed_since(queue, since)
        page = self.paginate_queryset(queue)
        return self.get_paginated_response(MissedDeadlineSerializer(page, many=True, context={"now": now}).data)


class ReferralViewSet(ServiceModelViewSet):
    """Referrals: a contact recommending someone (`referred`, or `referred_email` for a person not yet
    a contact), dated by `created_at` (default now). They count for the referrer's advocacy. A referral
    names someone other than its referrer: neither `referred` nor `referred_email`, or the referrer's own
    e-mail, is a 400 on `referred_email`."""

    queryset = Referral.objects.all()
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilterSet
    search_fields = ["referred_email"]
    create_service = staticmethod(services.create_referral)
    update_service = staticmethod(services.update_referral)
    delete_service = staticmethod(services.delete_referral)


def _non_empty(params) -> dict[str, str]:
    """An empty filter in a query string means no filter (partners.schema.allow_empty_query_values)."""
    return {key: value for key, value in params.items() if value}


FOLLOW_UP_PERFORMANCE_DESCRIPTION = """\
Per rep and event, per rep and overall: how many attendees each rep was assigned, how many they
followed up within the event's follow-up deadline, the median hours to the first follow-up, and
how many they missed.

- **Deadline** of an event: its `follow_up_deadline_minutes`, or the site's default (2,880 = 48 h)
  when null; `deadline_at` = `ends_at` + deadline. Only events that are over count: completed,
  or ended and not cancelled.
- **Assigned**: the event's attendances with status `attended` whose contact has an owner (the
  rep: the contact's current owner) and is not erased.
- **Followed up in time**: a done follow-up of the contact whose `event` is this event, with
  `completed_at` ≤ `deadline_at`. `in_time_share` = followed_up_in_time / assigned (0–1).
- **Median hours to first follow-up**: from `ends_at` to the earliest done follow-up for the event
  (0 when before the end), over the attendees who have one, in time or late.
- **Missed**: `deadline_at` has passed and there was no done follow-up for the event by then.
  **Pending**: the deadline has not passed yet and there is no done follow-up yet.
  assigned = followed_up_in_time + missed + pending.

Filters: `event` (id; an unknown event is a 400), `owner` (user id; a user without assigned
attendees gives an empty report), `from` and `to` (days, YYYY-MM-DD, inclusive, on the day the
event ended in the site's time zone; `from` after `to` is a 400). Empty values mean no filter.

Example: `GET /api/v1/reports/follow-up-performance/?owner=7&from=2026-01-01&to=2026-06-30`
"""

FOLLOW_UP_PERFORMANCE_EXAMPLE = OpenApiExample(
    "One rep at one event with a 60-minute deadline", response_only=True,
    value={
        "overall": {"assigned": 3, "followed_up_in_time": 2, "in_time_share": 0.6667,
                    "median_hours_to_first_follow_up": 1.0, "missed": 1, "pending": 0},
        "owners": [{"owner": 7, "owner_name": "Sven Sales", "assigned": 3, "followed_up_in_time": 2,
                    "in_time_share": 0.6667, "median_hours_to_first_follow_up": 1.0, "missed": 1, "pending": 0}],
        "rows": [{"owner": 7, "owner_name": "Sven Sales", "event": 42, "event_name": "Hot leads dinner",
                  "ends_at": "2026-05-20T22:00:00+02:00", "deadline_minutes": 60,
                  "deadline_at": "2026-05-20T23:00:00+02:00", "assigned": 3, "followed_up_in_time": 2,
                  "in_time_share": 0.6667, "median_hours_to_first_follow_up": 1.0, "missed": 1, "pending": 0}],
        "default_deadline_minutes": 2880,
        "computed_at": "2026-05-22T09:00:00+02:00",
    },
)


class FollowUpPerformanceView(generics.GenericAPIView):
    """The follow-up performance report (issue "Follow-up deadlines per event and per rep")."""

    # Staff sessions need view permission on follow-ups; the queryset only names the model.
    queryset = FollowUp.objects.none()
    serializer_class = FollowUpPerformanceSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        operation_id="reports_follow_up_performance",
        summary="Follow-up performance per rep and event",
        description=FOLLOW_UP_PERFORMANCE_DESCRIPTION,
        parameters=[FollowUpPerformanceQuerySerializer],
        responses={200: FollowUpPerformanceSerializer},
        examples=[FOLLOW_UP_PERFORMANCE_EXAMPLE],
    )
    def get(self, request):
        query = FollowUpPerformanceQuerySerializer(data=_non_empty(request.query_params))
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        event_id = filters.get("event")
        if event_id is not None and not Event.objects.filter(pk=event_id).exists():
            raise ValidationError({"event": [gettext("No event with id %(id)s.") % {"id": event_id}]})
        report = follow_up_performance(
            event_id=event_id, owner_id=filters.get("owner"), date_from=filters.get("date_from"),
            date_to=filters.get("date_to"), now=timezone.now(),
        )
        data = {"overall": report.overall, "owners": report.owners, "rows": report.rows, "now": report.now,
                "default_deadline_minutes": default_follow_up_deadline_minutes()}
        return Response(self.get_serializer(data).data)
