from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts import services
from contacts.choices import FollowUpStatus
from contacts.exceptions import ContactErased, DuplicateContact
from contacts.models import Contact, FollowUp, Organization
from events.services import create_attendance, create_event, record_feedback, record_interaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna() -> Contact:
    return services.create_contact(
        email="anna@example.com", first_name="Anna", last_name="Müller", phone="+49 40 123", tags=["vip"],
        organization=services.get_or_create_organization("Hanse Events GmbH"),
    )


class TestContacts:
    def test_email_is_stored_trimmed_and_lower_cased(self):
        contact = services.create_contact(email="  Anna@Example.COM ")
        assert contact.email == "anna@example.com"

    def test_a_second_contact_with_the_same_email_in_other_case_is_refused(self, anna):
        with pytest.raises(DuplicateContact) as error:
            services.create_contact(email=" ANNA@example.com")
        assert error.value.existing_id == anna.pk
        assert Contact.objects.count() == 1

    def test_changing_the_email_to_a_taken_one_is_refused(self, anna):
        ben = services.create_contact(email="ben@example.com")
        with pytest.raises(DuplicateContact):
            services.update_contact(ben, email="Anna@example.com")
        ben.refresh_from_db()
        assert ben.email == "ben@example.com"

    def test_invalid_email_gives_a_field_error(self):
        with pytest.raises(ValidationError) as error:
            services.create_contact(email="not an email")
        assert "email" in error.value.message_dict

    def test_consent_records_when_it_was_given(self, anna):
        anna = services.update_contact(anna, marketing_consent=True, marketing_consent_source="event form")
        assert anna.marketing_consent_at is not None
        anna = services.update_contact(anna, marketing_consent=False)
        assert anna.marketing_consent_at is None

    def test_organizations_are_matched_case_insensitively(self):
        first = services.get_or_create_organization(" Hanse Events GmbH ")
        assert services.get_or_create_organization("HANSE EVENTS GMBH") == first
        assert services.get_or_create_organization("") is None
        assert Organization.objects.count() == 1


class TestErasure:
    def test_erasure_removes_personal_data_and_keeps_the_rows(self, anna):
        now = timezone.now()
        event = create_event(name="Summit", starts_at=now - timedelta(hours=2), ends_at=now)
        attendance = create_attendance(event=event, contact=anna, status="attended")
        record_interaction(event=event, contact=anna, notes="Talked about her kids")
        record_feedback(event=event, contact=anna, nps=9, comment="Loved it, Anna")
        services.create_follow_up(contact=anna, event=event, summary="Call Anna on her mobile")
        services.update_contact(anna, job_title="CEO")  # leaves history rows with personal data

        erased = services.erase_contact(anna)

        assert erased.erased_at is not None
        assert (erased.email, erased.first_name, erased.last_name, erased.phone, erased.tags) == (None, "", "", "", [])
        assert erased.do_not_contact is True
        assert erased.attendances.get() == attendance  # aggregates keep their rows
        assert erased.interactions.get().notes == ""
        assert erased.feedback.get().comment == ""
        assert erased.feedback.get().nps == 9
        assert erased.followups.get().summary == ""
        assert not erased.history.exists()

    def test_erasure_cancels_the_planned_follow_ups_and_keeps_the_done_ones(self, anna):
        planned = services.create_follow_up(contact=anna, due_at=timezone.now() + timedelta(days=3))
        done = services.create_follow_up(contact=anna, status=FollowUpStatus.DONE, outcome="positive")

        services.erase_contact(anna)

        planned.refresh_from_db()
        done.refresh_from_db()
        assert (planned.status, done.status) == (FollowUpStatus.CANCELLED, FollowUpStatus.DONE)

    def test_erased_contacts_refuse_writes_and_free_their_email(self, anna):
        services.erase_contact(anna)
        with pytest.raises(ContactErased):
            services.update_contact(anna, first_name="Back")
        with pytest.raises(ContactErased):
            services.create_follow_up(contact=anna)
        assert services.create_contact(email="anna@example.com").pk != anna.pk

    def test_erasing_twice_is_harmless(self, anna):
        first = services.erase_contact(anna).erased_at
        assert services.erase_contact(anna).erased_at == first


class TestExport:
    def test_export_holds_everything_about_the_contact_as_json_data(self, anna):
        now = timezone.now()
        event = create_event(name="Summit", starts_at=now - timedelta(hours=2), ends_at=now)
        create_attendance(event=event, contact=anna, status="attended")
        services.create_follow_up(contact=anna, event=event, status=FollowUpStatus.DONE, outcome="positive")

        data = services.export_contact(anna)

        assert data["contact"]["email"] == "anna@example.com"
        assert data["contact"]["organization"] == "Hanse Events GmbH"
        assert data["attendances"][0]["event__name"] == "Summit"
        assert data["follow_ups"][0]["outcome"] == "positive"
        assert isinstance(data["follow_ups"][0]["completed_at"], str)

    def test_export_holds_the_score_its_history_and_the_next_action(self, anna):
        from scoring.models import ContactLifetimeValue
        from scoring.services import recompute_contacts

        now = timezone.now()
        event = create_event(name="Summit", starts_at=now - timedelta(hours=2), ends_at=now)
        create_attendance(event=event, contact=anna, status="attended")
        recompute_contacts([anna.pk])

        data = services.export_contact(anna)

        score = anna.score
        assert data["score"]["score"] == score.score
        assert data["score"]["events_attended"] == 1
        assert {"components", "stage", "churn_risk", "last_touch_at", "next_action", "next_action_reason",
                "next_touch_due", "cadence_days", "computed_at"} <= set(data["score"])
        assert [row["score"] for row in data["score_history"]] == list(
            anna.score_snapshots.order_by("computed_at", "pk").values_list("score", flat=True))
        assert data["score_history"]
        assert data["lifetime_value"] is None  # no CLV fitted yet
        ContactLifetimeValue.objects.create(score=score, clv="1234.50", clv_currency="EUR", expected_attendances=2.5,
                                            as_of=now)
        lifetime_value = services.export_contact(anna)["lifetime_value"]
        assert lifetime_value == {"clv": "1234.50", "clv_currency": "EUR", "expected_attendances": 2.5,
                                  "as_of": lifetime_value["as_of"]}
        # As the API writes moments: the site's offset, to the microsecond.
        assert lifetime_value["as_of"] == timezone.localtime(now).isoformat()
        assert datetime.fromisoformat(lifetime_value["as_of"]) == now


class TestFollowUps:
    def test_done_without_a_time_is_done_now(self, anna):
        before = timezone.now()
        follow_up = services.create_follow_up(contact=anna, status=FollowUpStatus.DONE)
        assert follow_up.completed_at >= before

    def test_the_time_of_a_done_follow_up_is_not_cleared(self, anna):
        done_at = timezone.now() - timedelta(days=30)
        follow_up = services.create_follow_up(contact=anna, status=FollowUpStatus.DONE, completed_at=done_at)

        with pytest.raises(ValidationError) as refused:
            services.update_follow_up(follow_up, completed_at=None)

        assert refused.value.message_dict == {"completed_at": [
            "A done follow-up keeps the time it was done: give a time, or make it planned or cancelled."]}
        assert FollowUp.objects.get().completed_at == done_at

    def test_a_follow_up_made_done_with_no_time_was_done_now(self, anna):
        follow_up = services.create_follow_up(contact=anna)
        before = timezone.now()
        assert services.update_follow_up(follow_up, status=FollowUpStatus.DONE, completed_at=None).completed_at >= before

    def test_reopening_clears_the_completion_time(self, anna):
        follow_up = services.create_follow_up(contact=anna, status=FollowUpStatus.DONE)
        follow_up = services.update_follow_up(follow_up, status=FollowUpStatus.PLANNED)
        assert follow_up.completed_at is None

    def test_mark_done_records_outcome_and_deal(self, anna):
        follow_up = services.create_follow_up(contact=anna, due_at=timezone.now() - timedelta(days=1))
        assert follow_up.is_overdue

        services.mark_follow_up_done(follow_up, outcome="positive", deal_value=12000, deal_status="open")

        follow_up.refresh_from_db()
        assert (follow_up.status, follow_up.outcome, follow_up.deal_status) == ("done", "positive", "open")
        assert follow_up.completed_at is not None
        assert not follow_up.is_overdue

    def test_negative_deal_value_is_refused(self, anna):
        with pytest.raises(ValidationError) as error:
            services.create_follow_up(contact=anna, deal_value=-5)
        assert "deal_value" in error.value.message_dict

    def test_a_contact_cannot_refer_themselves(self, anna):
        with pytest.raises(ValidationError):
            services.create_referral(referrer=anna, referred=anna)


def test_tags_are_one_in_any_case_when_added_and_removed_in_bulk():
    assert services.clean_tags([" VIP", "vip", "Partner ", "", "partner"]) == ["VIP", "Partner"]
    anna = services.create_contact(email="anna@example.com", tags=["vip", "Nord"])
    services.change_tags(Contact.objects.filter(pk=anna.pk), add=["VIP", "Süd"], remove=["NORD"])
    anna.refresh_from_db()
    assert anna.tags == ["vip", "Süd"]
