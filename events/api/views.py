from dataclasses import asdict

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.functions import Coalesce
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from contacts.api.views import NO_SCORE
from events import meeting_suggestions, selectors, services
from events.api.filtersets import (
    AttendanceFilterSet,
    EventFilterSet,
    FeedbackFilterSet,
    InteractionFilterSet,
    SeriesFilterSet,
)
from events.api.serializers import (
    AttendanceSerializer,
    BulkAttendancesRequestSerializer,
    BulkAttendancesSerializer,
    BulkResultSerializer,
    CheckInResultSerializer,
    CheckInSerializer,
    CompleteEventSerializer,
    EventSerializer,
    FeedbackSerializer,
    InteractionSerializer,
    LapsedContactSerializer,
    MeetingSuggestionsQuerySerializer,
    MeetingSuggestionsSerializer,
    SeriesReportSerializer,
    SeriesSerializer,
    meeting_suggestions_data,
)
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from partners.exceptions import PayloadTooLarge
from partners.filters import UPDATED_SINCE_HELP, StrictNullBooleanField, updated_since
from partners.pagination import (
    CURSOR_PARAMETER,
    PAGE_SIZE_PARAMETER,
    KeysetCursorPagination,
    NullableSortKey,
    paginate_computed_list,
)
from partners.parsers import check_ignored_body
from partners.schema import Conflict
from partners.viewsets import ServiceModelViewSet
from ror_crm.validators import MAX_ID, parse_id
from scoring.api.serializers import EventMetricsSerializer
from scoring.models import EventMetrics

Queued = inline_serializer("Queued", {"detail": serializers.CharField()})


class SeriesViewSet(ServiceModelViewSet):
    """Event series: an event belongs to at most one series, whose editions are ordered by `starts_at`."""

    queryset = EventSeries.objects.all()
    serializer_class = SeriesSerializer
    filterset_class = SeriesFilterSet
    search_fields = ["name", "description"]
    create_service = staticmethod(services.create_series)
    update_service = staticmethod(services.update_series)
    delete_service = staticmethod(services.delete_series)

    @extend_schema(responses={200: SeriesReportSerializer})
    @action(detail=True, methods=["get"], filter_backends=[])
    def report(self, request, pk=None):
        """The series' figures per edition (by start): attended, new, returning share, retention (CRR), NPS and
        RoR %, from each edition's metrics (null where none were computed)."""
        return Response(SeriesReportSerializer(selectors.series_report(self.get_object())).data)


class LapsedPagination(KeysetCursorPagination):
    ordering = ("-score_sort", "-pk")
    sort_keys = {"score_sort": NullableSortKey("score__score")}  # many score 0 (no-shows), some none


class EventViewSet(ServiceModelViewSet):
    """Events, editions of a series or one-offs. `ends_at` ≥ `starts_at`. Completing an event
    (`complete/`) says it happened and starts its scoring; a completed event is not moved back to
    another status (409 `event_completed`), its other fields stay editable."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    search_fields = ["name", "venue", "city"]
    create_service = staticmethod(services.create_event)
    update_service = staticmethod(services.update_event)
    delete_service = staticmethod(services.delete_event)

    @extend_schema(
        request=CompleteEventSerializer,
        responses={
            200: EventSerializer,
            409: OpenApiResponse(Conflict, description=(
                "`event_not_ended`: the event's `ends_at` is still ahead and the body did not say "
                '`{"force": true}`. `event_cancelled`: a cancelled event cannot be completed.'
            )),
        },
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Completes the event ("after the event"): status `completed` and `completed_at`; scoring
        runs after commit. Repeating is harmless.

        Completing says the event happened: before its `ends_at` it is refused with 409 and code
        `event_not_ended`, unless the body is `{"force": true}` (an empty body is `{"force": false}`).
        When the event used check-in (any attendance has `checked_in_at`), registrations still
        `registered` without a check-in become `no_show`. A `status: completed` sent with
        POST/PUT/PATCH of the event follows the same rules and cannot force. A backfill of past
        events dates their completion with `completed_at` (e.g. `{"completed_at": "<their end>"}`).
        """
        event = self.get_object()
        payload = CompleteEventSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        event = services.complete_event(event, force=payload.validated_data["force"],
                                        completed_at=payload.validated_data.get("completed_at"))
        return Response(EventSerializer(event).data)

    @extend_schema(responses={200: EventMetricsSerializer})
    @action(detail=True, methods=["get"], filter_backends=[])
    def metrics(self, request, pk=None):
        """The event's RoR figures as of `computed_at` (definitions: docs/scoring.md); 404 until first
        computed, which happens when the event is completed."""
        metrics = EventMetrics.objects.filter(event=self.get_object()).first()
        if metrics is None:
            raise NotFound("The metrics of this event have not been computed yet.")
        return Response(EventMetricsSerializer(metrics).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("owner", {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_ID},
                             description="Only contacts this user (id) owns."),
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME, description=UPDATED_SINCE_HELP),
            OpenApiParameter("to_win_back", OpenApiTypes.BOOL, description=(
                "`true`: the people to call, as the event's admin page lists them: before the event is over "
                "(neither completed, cancelled nor ended) only those not registered nor on its waiting list so far, "
                "and never "
                "erased contacts or those who asked not to be contacted. `attendance_status` says who is coming.")),
            PAGE_SIZE_PARAMETER,
            CURSOR_PARAMETER,
        ],
        responses={200: inline_serializer("LapsedContactPage", {
            "next": serializers.CharField(allow_null=True), "previous": serializers.CharField(allow_null=True),
            "results": LapsedContactSerializer(many=True),
        })},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def lapsed(self, request, pk=None):
        """The people who did not come back: contacts who attended the previous edition of the
        event's series (the latest completed event of the series that starts before this one) and
        did not attend this one, with their score, stage, owner and last touch; highest score
        first (contacts without a score last), cursor-paginated. Empty for an event without a
        previous edition. Erased contacts are listed as everywhere, with their personal fields
        null; `do_not_contact` says whom not to reach out to. Filters `owner` (a user id) and
        `updated_since` (contacts whose data or score changed since then, as on `contacts/`, or
        their attendance at this event, which `attendance_status` shows), and
        `to_win_back=true` (before the event, those not signed up so far and reachable). Each row says
        the contact's `attendance_status` at this event (registered, waitlisted, …; null: none)."""
        event = self.get_object()
        try:
            to_win_back = bool(StrictNullBooleanField(required=False).clean(request.query_params.get("to_win_back", "")))
        except DjangoValidationError as error:
            raise ValidationError({"to_win_back": error.messages}) from error
        contacts = selectors.lapsed_attendees(event, to_win_back=to_win_back).select_related("score").with_last_change()
        contacts = selectors.with_attendance_status(contacts, event).annotate(score_sort=Coalesce("score__score", NO_SCORE))
        since = updated_since(request)
        if since is not None:
            contacts = selectors.changed_at_event_since(contacts, event, since)
        owner = request.query_params.get("owner")
        if owner:  # empty: no filter, as the contact list's `owner`
            if parse_id(owner) is None:
                raise ValidationError({"owner": ["A user id (a whole number)."]})
            contacts = contacts.filter(owner_id=parse_id(owner))
        paginator = LapsedPagination()
        page = paginator.paginate_queryset(contacts, request, view=self)
        return paginator.get_paginated_response(LapsedContactSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            MeetingSuggestionsQuerySerializer, CURSOR_PARAMETER, PAGE_SIZE_PARAMETER,
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME, description=UPDATED_SINCE_HELP + (
                " Here: the suggestions naming a contact that changed (the contact, its score, or its attendance at "
                "this event).")),
        ],
        responses={
            200: MeetingSuggestionsSerializer,
            409: OpenApiResponse(Conflict, description=(
                "`event_closed`: the event is completed or cancelled; suggestions are made for planned and "
                "live events."
            )),
        },
        examples=[OpenApiExample("Two suggestions", response_only=True, status_codes=["200"], value={
            "event": 42, "per_attendee": 5, "count": 2, "next": None, "previous": None, "results": [
                {"contact": {"id": 7, "name": "Anna Müller", "organization": "Nordhafen Logistik"},
                 "counterpart": {"id": 19, "name": "Jan Berg", "organization": "Elbe Cargo"},
                 "value": 6.0, "reasons": ["followup_pending", "same_industry", "shared_tags"],
                 "reason": "Sven Sales, owner of Anna Müller, has a follow-up planned with Jan Berg; "
                           "same industry (Logistics); shared tag: cold chain"},
                {"contact": {"id": 7, "name": "Anna Müller", "organization": "Nordhafen Logistik"},
                 "counterpart": {"id": 23, "name": "Eva Lind", "organization": None},
                 "value": 2.0, "reasons": ["shared_tags", "both_high_score"],
                 "reason": "Shared tag: cold chain; both have a relationship score of 60 or more"},
            ],
        })],
    )
    @action(detail=True, methods=["get"], filter_backends=[], url_path="meeting-suggestions")
    def meeting_suggestions(self, request, pk=None):
        """Meeting suggestions: pairs of the event's attendees who should meet, each with its reasons,
        most valuable first, for the matchmaking of a planned or live event (completed or cancelled:
        409 `event_closed`).

        Attendees are the attendances `registered` or `attended`; do-not-contact and erased contacts
        never appear, colleagues (same organization) are never paired. A pair's `value` adds up its
        `reasons`: `followup_pending` 3 (one side's owner has a planned follow-up with the other),
        `same_industry` 2 (their organizations' industry), `shared_tags` 1 per shared tag,
        `both_high_score` 1 (both scores 60 or more; never a reason on its own). Pairs who met at an
        event before are left out unless a follow-up between them is pending. `per_attendee` (1–50,
        default 5) caps the suggestions naming one attendee: pairs are taken most valuable first
        while both sides are under the cap. In `results` the side with the lower contact id is
        `contact`, the other `counterpart`.

        A computed report of the whole event, in cursor pages as every list (`cursor`, `page_size`;
        `count` is the list's length); each page computes the report again, so a change meanwhile
        (a registration) can shift later pages. `updated_since` keeps the suggestions naming a
        contact that changed since then (the contact, its score, or its attendance at this event);
        a pair can also come or go without a change of its own people (others registered, an
        industry edited), so a full read now and then gives the whole list. Rules in full: docs/meeting-suggestions.md.

        Example: `GET /api/v1/events/42/meeting-suggestions/?per_attendee=3`"""
        event = self.get_object()
        raw = request.query_params.get("per_attendee", "")
        query = MeetingSuggestionsQuerySerializer(data={"per_attendee": raw} if raw != "" else {})
        query.is_valid(raise_exception=True)
        per_attendee = query.validated_data.get("per_attendee") or meeting_suggestions.default_per_attendee()
        suggestions = meeting_suggestions.meeting_suggestions(event, per_attendee=per_attendee)
        since = updated_since(request)
        if since is not None:
            suggestions = meeting_suggestions.changed_since(event, suggestions, since)
        page, next_url, previous_url = paginate_computed_list(suggestions, request)
        return Response(meeting_suggestions_data(
            event.pk, per_attendee, page, count=len(suggestions), next_url=next_url, previous_url=previous_url))

    @extend_schema(request=BulkAttendancesRequestSerializer, responses={200: BulkResultSerializer})
    @action(detail=True, methods=["post"], url_path="attendances/bulk")
    def bulk_attendances(self, request, pk=None):
        """Upsert up to 1,000 attendee rows; invalid rows are reported by position and skipped.

        Contacts are matched by e-mail (trimmed, in any case), attendances by (event, contact); valid rows
        are applied in one transaction. A blank or missing value keeps what is stored; a status never
        moves back (`invited`, then `registered`, `waitlisted` or `cancelled`, then `no_show`, then
        `attended`), and a stored check-in time stays, so replaying a registration list after the event
        changes nothing. A check-in time makes the row `attended`, unless it says `no_show`,
        `cancelled` or `waitlisted` (a row error: only an attended row has a check-in time). The first
        row of an e-mail wins (later ones are reported and left out); an external id another attendance
        of the same source holds is a row error, and a refused row writes nothing."""
        event = self.get_object()
        payload = BulkAttendancesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rows = payload.validated_data["rows"]
        if len(rows) > services.BULK_MAX_ROWS:
            raise PayloadTooLarge(f"At most {services.BULK_MAX_ROWS} rows per request; split the list.")
        result = services.bulk_upsert_attendances(event, rows, times_with_offset=True)  # API.md: times with offset
        return Response(BulkResultSerializer(result).data)

    @extend_schema(request=CheckInSerializer, responses={
        200: CheckInResultSerializer,
        409: OpenApiResponse(Conflict, description="`event_cancelled`: a cancelled event takes no check-ins."),
    })
    @action(detail=True, methods=["post"], url_path="check-ins")
    def check_ins(self, request, pk=None):
        """Mark attendees `attended`, by e-mail or external id; unknown ones are reported, not created.
        Refused for an event more than a day ahead (400) and for a cancelled one (409 `event_cancelled`)."""
        event = self.get_object()
        payload = CheckInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        result = services.check_in(
            event, emails=data.get("emails"), external_ids=data.get("external_ids"), source=data.get("source"),
            at=data.get("checked_in_at"),
        )
        return Response(CheckInResultSerializer(asdict(result)).data)

    @extend_schema(request=None, responses={202: Queued})
    @action(detail=True, methods=["post"])
    def recompute(self, request, pk=None):
        """Queues a recompute of the event's scores and metrics; 202. With a worker, poll `metrics/` until
        its `computed_at` moves. An event not completed yet has no metrics: its contacts are rescored, and
        its completion computes them."""
        check_ignored_body(request)
        services.request_event_recompute(self.get_object())
        return Response({"detail": "Recompute queued."}, status=status.HTTP_202_ACCEPTED)


class AttendanceViewSet(ServiceModelViewSet):
    """Registrations and check-ins, one per (event, contact): a second is a 409 with the existing `id`;
    a check-in time says the person came (created with one, or given one without a status, `registered` or
    `invited` is stored `attended`);
    `(source, external_id)` is unique when `external_id` is set. Changes to a completed event's
    attendances are late data: its scores and metrics are recomputed."""

    queryset = Attendance.objects.all()
    serializer_class = AttendanceSerializer
    filterset_class = AttendanceFilterSet
    search_fields = ["external_id", "source"]
    create_service = staticmethod(services.create_attendance)
    update_service = staticmethod(services.update_attendance)
    delete_service = staticmethod(services.delete_attendance)


class InteractionViewSet(ServiceModelViewSet):
    """Networking at events (meetings, booth visits, lead scans, introductions, …); an interaction
    counts for the contact and the counterpart. `quality` 1–5, `duration_minutes` ≥ 0, `occurred_at`
    not in the future. `(source, external_id)` is unique when `external_id` is set: another
    interaction's is a 409 `external_id_exists` with its `id`."""

    queryset = Interaction.objects.all()
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    search_fields = ["notes", "external_id"]
    create_service = staticmethod(services.record_interaction)
    update_service = staticmethod(services.update_interaction)
    delete_service = staticmethod(services.delete_interaction)


class FeedbackViewSet(ServiceModelViewSet):
    """Survey answers: NPS (0–10) and satisfaction (1–10), one per (event, contact): a second is a 409
    with the existing `id`. Given for an event that took place: one starting more than a day ahead, or
    cancelled, is a 400 on `event` (checked when the answer is given or moved to another event)."""

    queryset = Feedback.objects.all()
    serializer_class = FeedbackSerializer
    filterset_class = FeedbackFilterSet
    search_fields = ["comment"]
    create_service = staticmethod(services.record_feedback)
    update_service = staticmethod(services.update_feedback)
    delete_service = staticmethod(services.delete_feedback)
