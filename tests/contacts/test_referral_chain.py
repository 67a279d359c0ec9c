"""Referral chain credit (docs/referrals.md): referrals linked to the contact they name whichever
way the contact appears, converted referrals weighted in advocacy, the referrer rescored when the
referred contact attends, and the chain with what followed, in the API and its schema.

Every number is worked out by hand in the comments.
"""

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from contacts import services as contact_services
from contacts.models import Contact, FollowUp, Referral
from contacts.referral_chain import referral_chain
from contacts.referral_links import link_referrals
from events import services as event_services
from events.imports import import_attendees, read_attendee_file
from events.models import Attendance, Event
from events.services import bulk_upsert_attendances
from partners.models import PartnerAPIKey
from scoring.models import ContactScore, ScoringProfile
from scoring.services import compute_scores
from scoring.services.contact_scores import decay, load_chunk
from scoring.services.profile import ScoringParameters, create_profile, default_profile_values, update_profile
from tests.scoring.naive import naive_aggregates

pytestmark = pytest.mark.django_db

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HALF_LIFE = 180


def params(weight: float = 1.0) -> ScoringParameters:
    return ScoringParameters.from_profile(ScoringProfile(**{**default_profile_values(), "converted_referral_weight": weight}))


def event_at(name: str, starts_at: datetime, *, completed: bool = True, hours: int = 8) -> Event:
    ends_at = starts_at + timedelta(hours=hours)
    return Event.objects.create(name=name, starts_at=starts_at, ends_at=ends_at,
                                status="completed" if completed else "planned",
                                completed_at=ends_at if completed else None)


def contact(email: str, first_name: str = "", last_name: str = "") -> Contact:
    return Contact.objects.create(email=email, first_name=first_name, last_name=last_name)


def attended(person: Contact, *events: Event, status: str = "attended") -> None:
    Attendance.objects.bulk_create(Attendance(event=event, contact=person, status=status) for event in events)


def client_with_key(*, write: bool) -> APIClient:
    key = PartnerAPIKey.objects.create_key(name="Partner", can_read=True, can_write=write)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


# The profile parameter ------------------------------------------------------------------------


class TestProfileParameter:
    def test_the_default_is_1_and_v1_keeps_it(self):
        assert ScoringProfile.objects.get(version=1).converted_referral_weight == 1.0

    @pytest.mark.parametrize("weight", [-0.5, 10.5, float("nan")])
    def test_a_weight_outside_0_to_10_is_refused(self, weight):
        profile = ScoringProfile(**{**default_profile_values(), "converted_referral_weight": weight})
        with pytest.raises(ValidationError) as error:
            profile.clean()
        assert "converted_referral_weight" in error.value.message_dict

    def test_changing_it_on_the_active_profile_makes_a_new_version(self):
        v1 = ScoringProfile.objects.get(version=1)
        saved = update_profile(v1, converted_referral_weight=2.0)
        assert (saved.version, saved.is_active) == (2, True)
        assert ScoringProfile.objects.get(version=1).converted_referral_weight == 1.0


# Credit in advocacy ---------------------------------------------------------------------------


@pytest.fixture
def referrer_history():
    """Rita referred three people, as of T:
    - Xaver, 180 days before T (decay 0.5); he attended an event that started 100 days before T:
      converted.
    - Yvonne, 180 days before T (decay 0.5); she attended an event that started 200 days before T
      (before the referral) and is at one that started 10 days before T and ends the day after
      T, not completed: not known as of T, so not converted as of T (but as of T + 2 days).
    - an e-mail of no contact, 360 days before T (decay 0.25): never converted.
    """
    rita, xaver, yvonne = contact("rita@x.example"), contact("xaver@x.example"), contact("yvonne@x.example")
    before, after = event_at("Before", T - timedelta(days=200)), event_at("After", T - timedelta(days=100))
    running = event_at("Long", T - timedelta(days=10), completed=False, hours=11 * 24)
    attended(xaver, after)
    attended(yvonne, before, running)
    Referral.objects.create(referrer=rita, referred=xaver, created_at=T - timedelta(days=180), event=before)
    Referral.objects.create(referrer=rita, referred=yvonne, created_at=T - timedelta(days=180))
    Referral.objects.create(referrer=rita, referred_email="zoe@prospect.example", created_at=T - timedelta(days=360))
    return rita, after


def advocacy(referral_raw: float) -> float:
    # no NPS answer: p = 0, so advocacy = 0.5 × sat(R, 1)
    return 0.5 * (1 - math.exp(-referral_raw))


class TestAdvocacyCredit:
    def test_the_default_profile_gives_the_numbers_of_before(self, referrer_history):
        rita, _ = referrer_history
        [result] = compute_scores([rita.pk], T, params())
        # R = 0.5 + 0.5 + 0.25 = 1.25, every referral counted once, as before
        assert result.referral_raw == pytest.approx(1.25)
        assert result.components["advocacy"] == pytest.approx(round(advocacy(1.25), 6))  # 0.356748

    def test_a_converted_referral_counts_the_profile_weight(self, referrer_history):
        rita, _ = referrer_history
        [result] = compute_scores([rita.pk], T, params(2.0))
        # R = 2 × 0.5 (Xaver, converted) + 0.5 (Yvonne, not yet) + 0.25 (e-mail) = 1.75
        assert result.referral_raw == pytest.approx(1.75)
        assert result.components["advocacy"] == pytest.approx(0.413113, abs=1e-6)  # 0.5 × (1 − e^−1.75)

    def test_conversion_is_exact_as_of_t(self, referrer_history):
        rita, _ = referrer_history
        later = T + timedelta(days=2)  # Yvonne's long event has ended: she converted
        [result] = compute_scores([rita.pk], later, params(2.0))
        factor = 0.5 ** (2 / HALF_LIFE)
        assert result.referral_raw == pytest.approx((2 * 0.5 + 2 * 0.5 + 0.25) * factor)

    def test_the_relationship_lift_counterfactual_leaves_out_the_event_that_converted(self, referrer_history):
        rita, after = referrer_history
        [result] = compute_scores([rita.pk], T, params(2.0), without_event=after.pk)
        assert result.referral_raw == pytest.approx(1.25)  # Xaver's attendance there left out

    def test_the_naive_scorer_agrees(self, referrer_history):
        rita, _ = referrer_history
        for weight in (1.0, 2.0, 0.0):
            chunk = load_chunk([rita.pk], T, params(weight))
            assert chunk[rita.pk].referral_raw == pytest.approx(
                naive_aggregates(rita.pk, T, params(weight)).referral_raw)

    def test_the_naive_scorer_agrees_on_a_random_agency_with_linked_referrals(self):
        import random

        from tests.scoring.test_properties import T as PROPERTIES_T
        from tests.scoring.test_properties import build_agency

        rng = random.Random(7)
        contact_ids = build_agency(7, 25)
        Referral.objects.bulk_create(
            Referral(referrer_id=referrer, referred_id=rng.choice([c for c in contact_ids if c != referrer]),
                     created_at=PROPERTIES_T - timedelta(days=rng.randint(0, 900)))
            for referrer in contact_ids for _ in range(rng.randint(0, 2))
        )
        chunk = load_chunk(contact_ids, PROPERTIES_T, params(3.0))
        assert any(
            chunk[c].referral_raw != load_chunk([c], PROPERTIES_T, params(1.0))[c].referral_raw for c in contact_ids
        ), "the dataset has a converted referral"
        for contact_id in contact_ids:
            expected = naive_aggregates(contact_id, PROPERTIES_T, params(3.0)).referral_raw
            assert chunk[contact_id].referral_raw == pytest.approx(expected, abs=1e-9)


# Linking --------------------------------------------------------------------------------------


class TestLinking:
    def test_a_contact_created_by_the_api_links_referrals_naming_its_e_mail(self):
        anna = contact("anna@x.example")
        referral = contact_services.create_referral(referrer=anna, referred_email="nina@new.example")
        before = Referral.objects.get(pk=referral.pk).updated_at
        assert referral.referred is None

        response = client_with_key(write=True).post("/api/v1/contacts/", {"email": "  Nina@New.example "},
                                                    format="json")

        assert response.status_code == 201, response.content
        referral.refresh_from_db()
        assert referral.referred_id == response.json()["id"]
        assert referral.updated_at > before

    def test_a_referral_made_with_the_e_mail_of_a_contact_is_linked_at_once(self):
        anna, nina = contact("anna@x.example"), contact("nina@x.example")
        response = client_with_key(write=True).post(
            "/api/v1/referrals/", {"referrer": anna.pk, "referred_email": "NINA@x.example"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["referred"] == nina.pk

    def test_a_contact_changing_to_the_e_mail_is_linked(self):
        anna, nina = contact("anna@x.example"), contact("nina.old@x.example")
        referral = contact_services.create_referral(referrer=anna, referred_email="nina@x.example")
        contact_services.update_contact(nina, email="nina@x.example")
        assert Referral.objects.get(pk=referral.pk).referred == nina

    def test_an_attendee_import_links_the_new_contacts(self):
        anna = contact("anna@x.example")
        referral = contact_services.create_referral(referrer=anna, referred_email="nina@new.example")
        event = event_at("Summit", T - timedelta(days=1))
        parsed = read_attendee_file(b"email;first_name\nnina@new.example;Nina\nolaf@new.example;Olaf\n", "list.csv")

        import_attendees(event, parsed.rows, parsed.lines)

        assert Referral.objects.get(pk=referral.pk).referred == Contact.objects.get(email="nina@new.example")

    def test_a_bulk_upsert_links_in_one_update_whatever_the_rows(self):
        anna = contact("anna@x.example")
        event = event_at("Summit", T - timedelta(days=1))
        referrals = [contact_services.create_referral(referrer=anna, referred_email=f"p{n}@new.example") for n in range(30)]
        rows = [{"email": f"P{n}@new.example", "status": "attended"} for n in range(30)]

        with CaptureQueriesContext(connection) as queries:
            result = bulk_upsert_attendances(event, rows)

        assert result.created == 30
        updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "contacts_referral"')]
        assert len(updates) == 1
        linked = dict(Referral.objects.filter(pk__in=[r.pk for r in referrals]).values_list("referred_email", "referred__email"))
        assert linked == {f"p{n}@new.example": f"p{n}@new.example" for n in range(30)}

    def test_never_to_the_referrer_itself(self):
        anna = contact("anna@x.example")
        with pytest.raises(ValidationError, match="cannot refer themselves"):  # her own e-mail, in any case
            contact_services.create_referral(referrer=anna, referred_email=" Anna@X.example")
        other = contact_services.create_referral(referrer=anna, referred_email="anna.new@x.example")
        contact_services.update_contact(anna, email="anna.new@x.example")  # her own referral names her new e-mail
        assert Referral.objects.get(pk=other.pk).referred is None
        assert link_referrals([anna.pk]) == []

    def test_never_to_an_erased_contact(self):
        anna, nina = contact("anna@x.example"), contact("nina@x.example")
        referral = Referral.objects.create(referrer=anna, referred_email="nina@x.example")
        Contact.objects.filter(pk=nina.pk).update(erased_at=timezone.now())  # erased, the e-mail not yet blanked
        assert link_referrals([nina.pk]) == []
        assert Referral.objects.get(pk=referral.pk).referred is None

    def test_the_upgrade_links_the_referrals_made_before(self):
        import importlib

        from django.apps import apps

        anna, nina = contact("anna@x.example"), contact("nina@x.example")
        waiting = Referral.objects.create(referrer=anna, referred_email="Nina@x.example ")
        own = Referral.objects.create(referrer=anna, referred_email="anna@x.example")
        migration = importlib.import_module("scoring.migrations.0009_converted_referral_weight")

        migration.link_existing_referrals(apps, None)

        assert Referral.objects.get(pk=waiting.pk).referred == nina
        assert Referral.objects.get(pk=own.pk).referred is None


# Rescoring the referrer -----------------------------------------------------------------------


@pytest.fixture
def weight_2(db):
    return create_profile(**{**default_profile_values(), "name": "Converted count double", "is_active": True,
                             "converted_referral_weight": 2.0})


class TestReferrerRescored:
    def test_completing_the_event_the_referred_contact_attended_rescores_the_referrer(
        self, weight_2, django_capture_on_commit_callbacks
    ):
        rita, xaver = contact("rita@x.example"), contact("xaver@x.example")
        ends_at = timezone.now() - timedelta(hours=1)
        event = Event.objects.create(name="Summit", starts_at=ends_at - timedelta(hours=8), ends_at=ends_at)
        referral = Referral.objects.create(referrer=rita, referred=xaver, created_at=event.starts_at - timedelta(days=1))
        attended(xaver, event)

        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)

        score = ContactScore.objects.get(contact=rita)  # Rita did not attend: rescored as Xaver's referrer
        assert score.profile_version == weight_2.version
        assert score.referral_raw == pytest.approx(2 * decay(score.computed_at, referral.created_at, HALF_LIFE))

    def test_a_late_check_in_rescores_the_referrer(self, weight_2, django_capture_on_commit_callbacks):
        rita, xaver = contact("rita@x.example"), contact("xaver@x.example")
        ends_at = timezone.now() - timedelta(hours=1)
        event = Event.objects.create(name="Summit", starts_at=ends_at - timedelta(hours=8), ends_at=ends_at)
        referral = Referral.objects.create(referrer=rita, referred=xaver, created_at=event.starts_at - timedelta(days=1))
        attended(xaver, event, status="registered")
        with django_capture_on_commit_callbacks(execute=True):
            event = event_services.complete_event(event)
        raw_before = ContactScore.objects.get(contact=rita).referral_raw  # not converted: weight 1

        with django_capture_on_commit_callbacks(execute=True):
            attendance = Attendance.objects.get(contact=xaver)
            event_services.update_attendance(attendance, status="attended")

        score = ContactScore.objects.get(contact=rita)
        assert raw_before == pytest.approx(decay(score.computed_at, referral.created_at, HALF_LIFE), rel=1e-3)
        assert score.referral_raw == pytest.approx(2 * decay(score.computed_at, referral.created_at, HALF_LIFE))

    def test_a_contact_linked_later_who_attended_rescores_the_referrer(self, weight_2, django_capture_on_commit_callbacks):
        rita = contact("rita@x.example")
        ends_at = timezone.now() - timedelta(hours=1)
        event = Event.objects.create(name="Summit", starts_at=ends_at - timedelta(hours=8), ends_at=ends_at)
        referral = Referral.objects.create(referrer=rita, referred_email="xaver@new.example",
                                           created_at=event.starts_at - timedelta(days=1))
        with django_capture_on_commit_callbacks(execute=True):
            event = event_services.complete_event(event)
        assert not ContactScore.objects.filter(contact=rita).exists()

        with django_capture_on_commit_callbacks(execute=True):  # the list arrives after the event
            bulk_upsert_attendances(event, [{"email": "xaver@new.example", "status": "attended"}])

        score = ContactScore.objects.get(contact=rita)
        assert score.referral_raw == pytest.approx(2 * decay(score.computed_at, referral.created_at, HALF_LIFE))


# The chain ------------------------------------------------------------------------------------


def at(month: int, day: int = 1) -> datetime:
    return datetime(2025, month, day, 9, 0, tzinfo=UTC)


@pytest.fixture
def two_step_chain():
    """Anna brought Ben (1 Feb, from the kick-off) and an e-mail of no contact (15 Feb); Ben
    brought Carla (1 Apr); Carla referred Anna back (1 Jul: a cycle).

    Ben attended the kick-off (10 Jan, before his referral), Spring (1 Mar) and Summer (1 Jun),
    and was a no-show at Autumn (1 Sep): 2 events after, the last Summer. Won: 5,000 done
    10 Mar (counts), 1,000 done 20 Jan (before), an open deal of 9,999 (not won).
    Carla attended Spring (before her referral) and Autumn: 1 event after, Autumn. Won: 2,500
    planned, created 1 May (counts), 700 lost.
    Totals: 4 referrals, 3 people (Ben, Carla, the e-mail), 2 contacts, both converted, 3 events,
    7,500 won.
    """
    anna, ben = contact("anna@x.example", "Anna", "Alt"), contact("ben@x.example", "Ben", "Berg")
    carla = contact("carla@x.example", "Carla", "Conrad")
    kickoff, spring = event_at("Kick-off", at(1, 10)), event_at("Spring", at(3))
    summer, autumn = event_at("Summer", at(6)), event_at("Autumn", at(9))
    attended(ben, kickoff, spring, summer)
    attended(ben, autumn, status="no_show")
    attended(carla, spring, autumn)
    ab = Referral.objects.create(referrer=anna, referred=ben, event=kickoff, created_at=at(2))
    ad = Referral.objects.create(referrer=anna, referred_email="dana@prospect.example", created_at=at(2, 15))
    bc = Referral.objects.create(referrer=ben, referred=carla, created_at=at(4))
    ca = Referral.objects.create(referrer=carla, referred=anna, created_at=at(7))
    FollowUp.objects.bulk_create([
        FollowUp(contact=ben, status="done", completed_at=at(3, 10), deal_status="won", deal_value=Decimal("5000")),
        FollowUp(contact=ben, status="done", completed_at=at(1, 20), deal_status="won", deal_value=Decimal("1000")),
        FollowUp(contact=ben, status="planned", deal_status="open", deal_value=Decimal("9999")),
        FollowUp(contact=carla, status="planned", created_at=at(5), deal_status="won", deal_value=Decimal("2500")),
        FollowUp(contact=carla, status="done", completed_at=at(8), deal_status="lost", deal_value=Decimal("700")),
    ])
    return {"anna": anna, "ben": ben, "carla": carla, "ab": ab, "ad": ad, "bc": bc, "ca": ca,
            "summer": summer, "autumn": autumn}


class TestChain:
    def test_the_two_step_chain_by_hand(self, two_step_chain, django_assert_num_queries):
        c = two_step_chain
        # the contact, a query per level (3), what followed (attendances, won follow-ups); the
        # third level adds nobody new (Anna is repeated), so there is nothing deeper to look for
        with django_assert_num_queries(6):
            chain = referral_chain(c["anna"].pk)

        nodes = chain.all_nodes
        assert [(n.referral_id, n.depth, n.parent_referral_id) for n in nodes] == [
            (c["ab"].pk, 1, None), (c["bc"].pk, 2, c["ab"].pk), (c["ca"].pk, 3, c["bc"].pk), (c["ad"].pk, 1, None),
        ]
        ben, carla, back_to_anna, dana = nodes
        assert (ben.name, ben.event_name, ben.events_attended, ben.last_attended.name, ben.won_value) == (
            "Ben Berg", "Kick-off", 2, "Summer", Decimal("5000"))
        assert (carla.events_attended, carla.last_attended.name, carla.won_value) == (1, "Autumn", Decimal("2500"))
        assert (back_to_anna.repeated, back_to_anna.contact_id) == (True, c["anna"].pk)
        assert (dana.contact_id, dana.email, dana.converted) == (None, "dana@prospect.example", False)
        assert (chain.referrals, chain.people, chain.contacts, chain.converted) == (4, 3, 2, 2)
        assert (chain.events_attended, chain.won_value, chain.levels, chain.deeper) == (3, Decimal("7500"), [2, 1, 1], False)

    def test_one_level_says_the_chain_goes_on(self, two_step_chain):
        chain = referral_chain(two_step_chain["anna"].pk, max_depth=1)
        assert (chain.referrals, chain.levels, chain.deeper, chain.won_value) == (2, [2], True, Decimal("5000"))

    def test_queries_do_not_grow_with_the_people_of_a_level(self, two_step_chain, django_assert_num_queries):
        ben = two_step_chain["ben"]
        for n in range(15):
            friend = contact(f"friend{n}@x.example")
            attended(friend, two_step_chain["autumn"])
            Referral.objects.create(referrer=ben, referred=friend, created_at=at(5))
        with django_assert_num_queries(6):
            chain = referral_chain(two_step_chain["anna"].pk)
        assert chain.levels == [2, 16, 1]
        assert chain.events_attended == 3 + 15

    def test_an_erased_contact_is_an_anonymous_node(self, two_step_chain):
        contact_services.erase_contact(two_step_chain["ben"])
        ben = referral_chain(two_step_chain["anna"].pk).all_nodes[0]
        assert (ben.erased, ben.name, ben.email, ben.events_attended) == (True, "", "", 2)

    def test_an_unknown_contact_or_depth_is_an_error(self):
        with pytest.raises(Contact.DoesNotExist):
            referral_chain(999_999)
        with pytest.raises(ValueError, match="max_depth"):
            referral_chain(contact("anna@x.example").pk, max_depth=0)


class TestApi:
    def test_the_chain_as_the_api_shows_it(self, two_step_chain):
        response = client_with_key(write=False).get(f"/api/v1/contacts/{two_step_chain['anna'].pk}/referral-chain/")
        assert response.status_code == 200
        body = response.json()
        assert body["totals"] == {"referrals": 4, "people": 3, "contacts": 2, "converted": 2, "events_attended": 3,
                                  "won_value": 7500.0}
        ben = body["nodes"][0]
        assert (ben["name"], ben["converted"], ben["last_attended_event"]["name"], ben["won_value"]) == (
            "Ben Berg", True, "Summer", 5000.0)
        assert body["nodes"][1]["parent"] == ben["referral"]

    def test_404_for_an_unknown_contact_and_400_for_a_bad_depth(self, two_step_chain):
        client = client_with_key(write=False)
        assert client.get("/api/v1/contacts/999999/referral-chain/").status_code == 404
        for bad in ("0", "11", "two"):
            response = client.get(f"/api/v1/contacts/{two_step_chain['anna'].pk}/referral-chain/?max_depth={bad}")
            assert response.status_code == 400
            assert "max_depth" in response.json()

    def test_without_a_key_it_is_refused(self, two_step_chain):
        assert APIClient().get(f"/api/v1/contacts/{two_step_chain['anna'].pk}/referral-chain/").status_code == 401

    def test_the_operation_is_in_the_schema_with_its_example(self):
        from drf_spectacular.generators import SchemaGenerator

        schema = SchemaGenerator().get_schema(request=None, public=True)
        operation = schema["paths"]["/api/v1/contacts/{id}/referral-chain/"]["get"]
        assert operation["summary"] == "Referral chain of a contact"
        assert "Example: `GET /api/v1/contacts/42/referral-chain/" in operation["description"]
        assert {parameter["name"] for parameter in operation["parameters"]} >= {"id", "max_depth"}
        examples = operation["responses"]["200"]["content"]["application/json"]["examples"]
        example = next(iter(examples.values()))["value"]
        assert example["totals"]["won_value"] == 12000.0
        assert [node["parent"] for node in example["nodes"]] == [None, 7, None]
