"""GET /api/v1/contacts/{id}/referral-chain/: who the contact brought, and who those brought,
with what followed (contacts.referral_chain)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from contacts.models import Contact
from contacts.referral_chain import DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT, referral_chain
from partners.serializers import WholeNumberField


class ReferralChainQuerySerializer(serializers.Serializer):
    max_depth = WholeNumberField(
        required=False, default=DEFAULT_MAX_DEPTH, min_value=1, max_value=MAX_DEPTH_LIMIT,
        help_text=f"Levels to follow: 1 = only whom the contact brought (default {DEFAULT_MAX_DEPTH}, "
        f"at most {MAX_DEPTH_LIMIT}).",
    )


class AttendedEventSerializer(serializers.Serializer):
    event = serializers.IntegerField(source="event_id")
    name = serializers.CharField()
    starts_at = serializers.DateTimeField()


class ReferralChainNodeSerializer(serializers.Serializer):
    referral = serializers.IntegerField(source="referral_id", help_text="The referral's id.")
    parent = serializers.IntegerField(
        source="parent_referral_id", allow_null=True,
        help_text="The referral (id) that brought this node's referrer; null at depth 1. Builds the tree.",
    )
    depth = serializers.IntegerField(help_text="1: brought by the contact; 2: by someone they brought; …")
    referrer = serializers.IntegerField(source="referrer_id", help_text="Who made the referral (contact id).")
    referred_at = serializers.DateTimeField(help_text="When the referral was made (its `created_at`).")
    contact = serializers.IntegerField(
        source="contact_id", allow_null=True,
        help_text="The referred contact (id); null while the referral names only an e-mail of no contact.",
    )
    name = serializers.CharField(help_text="The referred contact's name; empty for an e-mail only or an erased contact.")
    email = serializers.CharField(help_text="The referred contact's e-mail, or the referral's e-mail; empty when erased.")
    erased = serializers.BooleanField(help_text="The referred contact was erased (GDPR): an anonymous node.")
    event = serializers.IntegerField(source="event_id", allow_null=True, help_text="The event the referral came from.")
    event_name = serializers.CharField(allow_null=True)
    repeated = serializers.BooleanField(
        help_text="The contact is higher up in the chain already (a cycle, or brought twice): not followed again, "
        "and what followed counts at its first place only.",
    )
    converted = serializers.BooleanField(help_text="Attended an event that started after the referral.")
    events_attended = serializers.IntegerField(
        help_text="Events with status `attended` that started after the referral (0 for a repeated node)."
    )
    last_attended_event = AttendedEventSerializer(source="last_attended", allow_null=True)
    won_value = serializers.DecimalField(
        max_digits=16, decimal_places=2, coerce_to_string=False,
        help_text="Σ deal_value of the contact's follow-ups with deal status `won` done (or, not done, created) "
        "after the referral (0 for a repeated node).",
    )


class ReferralChainTotalsSerializer(serializers.Serializer):
    referrals = serializers.IntegerField(help_text="Nodes of the chain.")
    people = serializers.IntegerField(help_text="Distinct people brought: contacts and e-mails of no contact.")
    contacts = serializers.IntegerField(help_text="Distinct referred contacts.")
    converted = serializers.IntegerField(help_text="Of those, attended an event after their referral.")
    events_attended = serializers.IntegerField(help_text="Σ events attended after the referral, each contact once.")
    won_value = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=False,
                                         help_text="Σ won value after the referral, each contact once.")


class ReferralChainSerializer(serializers.Serializer):
    contact = serializers.IntegerField(source="contact_id", help_text="The contact whose chain this is.")
    max_depth = serializers.IntegerField(help_text="The levels followed.")
    deeper = serializers.BooleanField(help_text="The chain goes on past `max_depth`.")
    levels = serializers.ListField(child=serializers.IntegerField(), help_text="Referrals per depth, from depth 1.")
    totals = ReferralChainTotalsSerializer(source="*")
    nodes = ReferralChainNodeSerializer(
        source="all_nodes", many=True, help_text="Every referral of the chain, depth first (a node, then the nodes "
        "it brought), each level in the order the referrals were made.",
    )


REFERRAL_CHAIN_DESCRIPTION = """\
Who the contact brought, and who those brought, with the attendance and the won value that
followed: the referral chain (docs/referrals.md).

- **Nodes**: the referrals the contact made (depth 1), the referrals made by the contacts those
  name (depth 2), and so on to `max_depth`. A referral names a contact (`contact`) or, while no
  contact has its e-mail, only the e-mail (`contact` null); it is linked to the contact as soon
  as one with that e-mail exists (created by the API, the admin, an import or a bulk upsert).
  `parent` is the referral one level up, so the tree can be rebuilt.
- **Cycles**: a contact already higher up in the chain (the contact itself, or someone brought
  twice) is a node with `repeated` true and is not followed again.
- **Erased contacts** (GDPR) are anonymous nodes: `erased` true, no name and no e-mail.
- **What followed** a referral: `events_attended`, the events with status `attended` that started
  after the referral was made (`converted` when at least one; the advocacy component counts a
  converted referral with the profile's `converted_referral_weight`), the latest of them, and
  `won_value`, Σ `deal_value` of the person's follow-ups with deal status `won` done (or, not done,
  created) after the referral. Current data, not as of a past time.
- **Totals** count each person once, at their first place in the chain.

Errors: 404 for an unknown contact; 400 with `max_depth` when it is not a whole number from 1 to 10.

Example: `GET /api/v1/contacts/42/referral-chain/?max_depth=2`
"""

REFERRAL_CHAIN_EXAMPLE = OpenApiExample(
    "Anna brought Ben, Ben brought Carla", response_only=True, status_codes=["200"],
    value={
        "contact": 42, "max_depth": 3, "deeper": False, "levels": [2, 1],
        "totals": {"referrals": 3, "people": 3, "contacts": 2, "converted": 2, "events_attended": 3,
                   "won_value": 12000.0},
        "nodes": [
            {"referral": 7, "parent": None, "depth": 1, "referrer": 42, "referred_at": "2025-05-14T18:00:00+02:00",
             "contact": 57, "name": "Ben Berger", "email": "ben@client.example", "erased": False, "event": 11,
             "event_name": "Hamburg Summit 2025", "repeated": False, "converted": True, "events_attended": 2,
             "last_attended_event": {"event": 13, "name": "Hamburg Summit 2026",
                                     "starts_at": "2026-05-12T09:00:00+02:00"},
             "won_value": 12000.0},
            {"referral": 9, "parent": 7, "depth": 2, "referrer": 57, "referred_at": "2026-01-20T10:00:00+01:00",
             "contact": 64, "name": "Carla Conrad", "email": "carla@client.example", "erased": False, "event": None,
             "event_name": None, "repeated": False, "converted": True, "events_attended": 1,
             "last_attended_event": {"event": 13, "name": "Hamburg Summit 2026",
                                     "starts_at": "2026-05-12T09:00:00+02:00"},
             "won_value": 0.0},
            {"referral": 8, "parent": None, "depth": 1, "referrer": 42, "referred_at": "2025-06-02T09:30:00+02:00",
             "contact": None, "name": "", "email": "dana@prospect.example", "erased": False, "event": None,
             "event_name": None, "repeated": False, "converted": False, "events_attended": 0,
             "last_attended_event": None, "won_value": 0.0},
        ],
    },
)


class ReferralChainView(generics.GenericAPIView):
    """The referral chain of a contact (issue "Prove the return on relationship", part 3)."""

    # Staff sessions need view permission on contacts; the queryset only names the model.
    queryset = Contact.objects.none()
    serializer_class = ReferralChainSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        operation_id="contacts_referral_chain",
        summary="Referral chain of a contact",
        description=REFERRAL_CHAIN_DESCRIPTION,
        parameters=[ReferralChainQuerySerializer],
        responses={200: ReferralChainSerializer},
        examples=[REFERRAL_CHAIN_EXAMPLE],
    )
    def get(self, request, pk: int):
        # An empty value is no value (partners.schema.allow_empty_query_values).
        query = ReferralChainQuerySerializer(data={key: value for key, value in request.query_params.items() if value})
        query.is_valid(raise_exception=True)
        try:
            chain = referral_chain(pk, max_depth=query.validated_data["max_depth"])
        except Contact.DoesNotExist:
            raise NotFound(_("No contact with id %(id)s.") % {"id": pk}) from None
        return Response(self.get_serializer(chain).data)
