from datetime import UTC, datetime

from django.db.models import Value
from django.db.models.functions import Coalesce
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from contacts import selectors, services
from contacts.api.filtersets import ContactFilterSet, FollowUpFilterSet, OrganizationFilterSet, ReferralFilterSet
from contacts.api.serializers import (
    ContactSerializer,
    FollowUpSerializer,
    OrganizationSerializer,
    ReferralSerializer,
    TimelineItemSerializer,
)
from contacts.models import Contact, FollowUp, Organization, Referral
from partners.pagination import CursorPagination
from partners.serializers import MomentField
from partners.viewsets import ServiceModelViewSet
from scoring.api.serializers import ContactScoreSerializer, ScoreSnapshotSerializer
from scoring.models import ContactScore, ScoreSnapshot

UPDATED_SINCE = OpenApiParameter(
    "updated_since", OpenApiTypes.DATETIME, description="Only rows changed at or after this time."
)


# Sort keys for nullable columns: contacts without a score sort as the lowest.
NO_SCORE = Value(-1.0)
NEVER = Value(datetime(1900, 1, 1, tzinfo=UTC))


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


class SnapshotPagination(CursorPagination):
    ordering = ("-computed_at", "-id")


class ContactViewSet(ServiceModelViewSet):
    """People the agency has relationships with. `email` is matched trimmed and case-insensitively:
    creating a second contact with the same e-mail is a 409 `{"detail", "code": "contact_exists", "id"}`.
    `score` is the read-only summary of the relationship score. Erased contacts (GDPR) are shown with
    their personal fields null and cannot be written (409)."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    search_fields = ["email", "first_name", "last_name", "organization__name", "job_title"]
    ordering_map = {"score": "score_sort", "last_attended_at": "last_attended_sort", "created_at": "created_at"}
    create_service = staticmethod(services.create_contact)
    update_service = staticmethod(services.update_contact)
    delete_service = staticmethod(services.delete_contact)

    def get_queryset(self):
        return Contact.objects.select_related("score").with_last_change().annotate(
            score_sort=Coalesce("score__score", NO_SCORE),
            last_attended_sort=Coalesce("score__last_attended_at", NEVER),
        )

    @extend_schema(responses={200: ContactScoreSerializer})
    @action(detail=True, methods=["get"])
    def score(self, request, pk=None):
        """The contact's relationship score and repeat-attendance figures (as in `scores/`); 404 before the
        first computation."""
        contact = self.get_object()
        score = ContactScore.objects.filter(contact=contact).first()
        if score is None:
            raise NotFound("No score has been computed for this contact yet.")
        return Response(ContactScoreSerializer(score).data)

    @extend_schema(parameters=[UPDATED_SINCE], responses={200: ScoreSnapshotSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="score-history", filter_backends=[])
    def score_history(self, request, pk=None):
        """The contact's score history, newest first, in pages: a snapshot per change of substance (data,
        scoring profile, stage or churn risk), with the trigger and the score it replaced."""
        contact = self.get_object()
        snapshots = _updated_since(request, ScoreSnapshot.objects.filter(contact=contact))
        paginator = SnapshotPagination()
        page = paginator.paginate_queryset(snapshots, request, view=None)
        return paginator.get_paginated_response(ScoreSnapshotSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Items per page (default 50, max 500)."),
            OpenApiParameter("before", OpenApiTypes.DATETIME, description="Only items older than this time."),
            OpenApiParameter(
                "before_item", OpenApiTypes.STR,
                description="With `before`: also the items at exactly that time that sort after this one "
                "(`type:id`, as `next` sets it), so no item is skipped or repeated.",
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
        """Everything that happened with the contact, newest first; `next` pages on with `before`."""
        contact = self.get_object()
        limit = CursorPagination().get_page_size(request)
        before = None
        if request.query_params.get("before"):
            before = (_datetime_param(request, "before"), *_timeline_item_param(request))
        updated_since = _datetime_param(request, "updated_since") if request.query_params.get("updated_since") else None
        items = selectors.contact_timeline(contact, limit=limit + 1, before=before, updated_since=updated_since)
        next_url = None
        if len(items) > limit:
            items = items[:limit]
            last = items[-1]
            next_url = request.build_absolute_uri(request.path) + "?" + _query(
                request, before=last.at.isoformat(), before_item=f"{last.type}:{last.id}", page_size=limit
            )
        results = TimelineItemSerializer(items, many=True, context={"contact": contact}).data
        return Response({"next": next_url, "previous": None, "results": results})

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def erase(self, request, pk=None):
        """GDPR erasure: removes the contact's personal data and keeps its rows, anonymous, for the figures;
        204. Scope `write`. An erased contact cannot be written again."""
        services.erase_contact(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """Everything held about the contact, as JSON (GDPR access): its fields, attendances, interactions,
        follow-ups, feedback, referrals and scores."""
        return Response(services.export_contact(self.get_object()))


def _datetime_param(request, name: str) -> datetime:
    try:
        # A `+` of an offset arrives as a space when the client did not encode it.
        return MomentField().run_validation(request.query_params[name].replace(" ", "+"))
    except serializers.ValidationError as error:
        raise ValidationError({name: error.detail}) from None


def _timeline_item_param(request) -> tuple[str, int] | tuple[()]:
    raw = request.query_params.get("before_item")
    if not raw:
        return ()
    kind, _, item_id = raw.partition(":")
    if kind not in selectors.TIMELINE_TYPES or not item_id.isdigit() or int(item_id) > 2**63 - 1:
        raise ValidationError({"before_item": ["Expected `type:id`, as the `next` link gives it."]})
    return kind, int(item_id)


def _updated_since(request, queryset):
    if not request.query_params.get("updated_since"):
        return queryset
    return queryset.filter(updated_at__gte=_datetime_param(request, "updated_since"))


def _query(request, **overrides) -> str:
    params = request.query_params.copy()
    for name, value in overrides.items():
        params[name] = value
    return params.urlencode()


class FollowUpViewSet(ServiceModelViewSet):
    """Follow-up conversations after events, the sales team's work. A follow-up with status `done`
    needs `completed_at` (now if omitted); `overdue=true` lists planned follow-ups past their due time."""

    queryset = FollowUp.objects.all()
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilterSet
    search_fields = ["summary", "next_step"]
    create_service = staticmethod(services.create_follow_up)
    update_service = staticmethod(services.update_follow_up)
    delete_service = staticmethod(services.delete_follow_up)


class ReferralViewSet(ServiceModelViewSet):
    """Referrals: a contact recommending someone (`referred`, or `referred_email` for a person not yet
    a contact). They count for the referrer's advocacy."""

    queryset = Referral.objects.all()
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilterSet
    search_fields = ["referred_email"]
    create_service = staticmethod(services.create_referral)
    update_service = staticmethod(services.update_referral)
    delete_service = staticmethod(services.delete_referral)
