"""Database rules of the contacts app: Organization, Contact, FollowUp, Referral."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp, Organization, Referral
from tests.model_rules import Rule, all_messages, assert_db_rejects, assert_rule_holds, constraint_names

pytestmark = pytest.mark.django_db


def a_contact(email: str = "anna@example.com") -> Contact:
    return Contact.objects.create(email=email, first_name="Anna")


def duplicate_organization() -> Organization:
    # Compared lower-cased beyond ASCII, whatever the database's own lower() does.
    Organization.objects.create(name="Äpfel & Söhne GmbH")
    return Organization(name="ÄPFEL & SÖHNE gmbh")


def duplicate_contact() -> Contact:
    a_contact("anna@example.com")
    # bulk_create skips save(), so this row reaches the database as typed: the functional
    # unique index on lower(trim(email)) must catch it.
    return Contact(email=" Anna@Example.COM ")


def follow_up(**fields) -> FollowUp:
    return FollowUp(contact=a_contact(), **fields)


RULES = [
    Rule("organization_name_key_unique", duplicate_organization, "An organization with this name already exists."),
    Rule("organization_name_not_blank", lambda: Organization(name=""), "This field cannot be blank."),
    Rule("contact_email_normalized_unique", duplicate_contact, "A contact with this e-mail already exists"),
    Rule("contact_email_required_unless_erased", lambda: Contact(email="", first_name="Nobody"),
         "An e-mail address is required."),
    Rule("followup_done_iff_completed_at", lambda: follow_up(status=FollowUpStatus.DONE, completed_at=None),
         "A done follow-up needs the time it was completed."),
    Rule("followup_status_valid", lambda: follow_up(status="archived"), "Value 'archived' is not a valid choice."),
    Rule("followup_channel_valid", lambda: follow_up(channel="pigeon"), "Value 'pigeon' is not a valid choice."),
    Rule("followup_outcome_valid", lambda: follow_up(outcome="great"), "Value 'great' is not a valid choice."),
    Rule("followup_deal_status_valid", lambda: follow_up(deal_status="maybe"), "Value 'maybe' is not a valid choice."),
    Rule("followup_deal_value_not_negative", lambda: follow_up(deal_value=Decimal("-1.00")),
         "The deal value cannot be negative."),
    Rule("referral_not_self", lambda: (lambda c: Referral(referrer=c, referred=c))(a_contact()),
         "A contact cannot refer themselves."),
    Rule("contact_cadence_days_range", lambda: Contact(email="cadence@example.com", cadence_days=3651),
         "Ensure this value is less than or equal to 3650."),
]


def test_every_database_rule_of_the_app_is_tested():
    assert constraint_names(Organization, Contact, FollowUp, Referral) == {rule.constraint for rule in RULES}


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_database_rule(rule):
    assert_rule_holds(rule)


class TestEmailNormalisation:
    def test_saving_trims_and_lower_cases(self):
        contact = a_contact(" Anna@Example.COM ")

        contact.refresh_from_db()
        assert contact.email == "anna@example.com"

    def test_differently_written_addresses_are_the_same_contact(self):
        first = a_contact(" Anna@Example.COM ")

        assert_db_rejects(lambda: a_contact("anna@example.com"), "contact_email_normalized_unique")
        with pytest.raises(ValidationError) as caught:
            Contact(email="ANNA@example.com").full_clean()
        assert all_messages(caught.value) == [f"A contact with this e-mail already exists (id {first.pk})."]

    def test_an_update_to_a_differently_cased_duplicate_hits_the_index(self):
        a_contact("anna@example.com")
        other = a_contact("bernd@example.com")

        assert_db_rejects(
            lambda: Contact.objects.filter(pk=other.pk).update(email="ANNA@example.com "),
            "contact_email_normalized_unique",
        )

    def test_erased_contacts_have_no_email_and_do_not_collide(self):
        now = timezone.now()
        Contact.objects.bulk_create([Contact(email=None, erased_at=now), Contact(email=None, erased_at=now)])

        assert Contact.objects.filter(email__isnull=True).count() == 2

    def test_only_an_erased_contact_may_lose_its_email(self):
        contact = a_contact()

        assert_db_rejects(lambda: Contact.objects.filter(pk=contact.pk).update(email=None),
                          "contact_email_required_unless_erased")


class TestOrganizationName:
    def test_names_differing_only_in_case_collide(self):
        Organization.objects.create(name="Acme GmbH")

        assert_db_rejects(lambda: Organization.objects.create(name="acme gmbh"), "organization_name_key_unique")

    def test_a_bulk_created_row_gets_its_key_too(self):
        Organization.objects.create(name="Öl & Gas AG")

        assert_db_rejects(lambda: Organization.objects.bulk_create([Organization(name="öL & gAS ag")]),
                          "organization_name_key_unique")

    def test_save_trims_the_name_so_padding_does_not_make_a_new_organization(self):
        Organization.objects.create(name="Acme GmbH")

        assert_db_rejects(lambda: Organization.objects.create(name="  ACME GMBH "), "organization_name_key_unique")


class TestFollowUpDoneMeansCompleted:
    def test_planned_with_a_completion_time_is_rejected(self):
        planned = follow_up(status=FollowUpStatus.PLANNED, completed_at=timezone.now())

        assert_db_rejects(lambda: FollowUp.objects.bulk_create([planned]), "followup_done_iff_completed_at")
        with pytest.raises(ValidationError) as caught:
            planned.full_clean()
        assert "Only a done follow-up has a completion time." in all_messages(caught.value)

    def test_marking_done_by_update_without_a_time_is_rejected(self):
        planned = follow_up(status=FollowUpStatus.PLANNED, due_at=timezone.now() + timedelta(days=1))
        planned.save()

        assert_db_rejects(lambda: FollowUp.objects.filter(pk=planned.pk).update(status=FollowUpStatus.DONE),
                          "followup_done_iff_completed_at")

    def test_done_with_a_completion_time_is_valid(self):
        done = follow_up(status=FollowUpStatus.DONE, completed_at=timezone.now())

        done.full_clean()
        done.save()
        assert FollowUp.objects.filter(status=FollowUpStatus.DONE, completed_at__isnull=False).count() == 1
