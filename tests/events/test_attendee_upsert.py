"""The attendee-row upsert shared by the bulk API and the admin import: what a row may change.

Rules (events.services, plan_attendee_rows): a row never moves an attendance's status back
(attended is final, a no-show can still become attended); an existing check-in time is kept;
the first row of an e-mail wins and later ones are ignored; a row that is refused writes
nothing; an existing contact's organization is filled in, never replaced.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, Organization
from events import services
from events.choices import AttendanceStatus
from events.models import Attendance, Event
from scoring.models import PendingRecompute

pytestmark = pytest.mark.django_db

EXTERNAL_ID_TAKEN = {"external_id": ["This external id belongs to another attendance."]}
EXTERNAL_ID_REPEATED = {"external_id": ["An earlier row of this list has the same external id."]}
LEFT_OUT = {"email": ["Row 0 has the same e-mail; this row was left out."]}


@pytest.fixture
def event() -> Event:
    now = timezone.now()
    return services.create_event(name="Hamburg Summit 2026", starts_at=now - timedelta(hours=8), ends_at=now)


def registration_list(count: int = 6) -> list[dict]:
    return [{"email": f"p{i}@x.de", "first_name": f"P{i}", "status": "registered"} for i in range(count)]


def statuses(event: Event) -> dict[str, tuple[str, object]]:
    return {a.contact.email: (a.status, a.checked_in_at)
            for a in Attendance.objects.filter(event=event).select_related("contact")}


class TestStatusNeverMovesBack:
    def test_reimporting_the_registration_list_after_check_in_keeps_check_ins_and_no_shows(self, event):
        rows = registration_list()
        services.bulk_upsert_attendances(event, rows)
        services.check_in(event, emails=["p0@x.de", "p1@x.de", "p2@x.de", "p3@x.de"])
        Attendance.objects.filter(contact__email="p4@x.de").update(status=AttendanceStatus.NO_SHOW)
        services.complete_event(event)
        before = statuses(event)
        PendingRecompute.objects.all().delete()

        result = services.bulk_upsert_attendances(event, rows)

        assert (result.created, result.updated, result.unchanged, result.errors) == (0, 0, 6, [])
        assert statuses(event) == before
        assert before["p0@x.de"][0] == AttendanceStatus.ATTENDED
        assert before["p4@x.de"][0] == AttendanceStatus.NO_SHOW
        assert not PendingRecompute.objects.exists()  # nothing changed, so no rescoring

    @pytest.mark.parametrize(("stored", "row_status", "expected"), [
        ("attended", "registered", "attended"),
        ("attended", "invited", "attended"),
        ("attended", "no_show", "attended"),  # a check-in is a fact; staff change it by hand
        ("no_show", "registered", "no_show"),
        ("no_show", "attended", "attended"),  # forward: a late scan
        ("registered", "attended", "attended"),
        ("registered", "invited", "registered"),
        ("registered", "cancelled", "cancelled"),
        ("cancelled", "registered", "registered"),
        ("invited", "waitlisted", "waitlisted"),
    ])
    def test_a_row_moves_a_status_forward_only(self, event, stored, row_status, expected):
        services.bulk_upsert_attendances(event, [{"email": "a@x.de", "status": stored}])

        result = services.bulk_upsert_attendances(event, [{"email": "a@x.de", "status": row_status}])

        assert Attendance.objects.get().status == expected
        assert (result.updated, result.unchanged) == ((1, 0) if stored != expected else (0, 1))

    def test_a_check_in_time_is_set_once_and_then_kept(self, event):
        services.bulk_upsert_attendances(event, [{"email": "a@x.de", "status": "registered"}])
        first = (event.starts_at + timedelta(hours=1)).replace(microsecond=0)

        set_now = services.bulk_upsert_attendances(event, [{"email": "a@x.de", "checked_in_at": first.isoformat()}])
        again = services.bulk_upsert_attendances(event, [
            {"email": "a@x.de", "status": "registered", "checked_in_at": (first + timedelta(hours=2)).isoformat()}])

        attendance = Attendance.objects.get()
        assert set_now.updated == 1
        assert again.unchanged == 1
        assert attendance.status == AttendanceStatus.ATTENDED
        assert attendance.checked_in_at == first

    @pytest.mark.parametrize("stored", [None, "invited", "registered", "no_show", "cancelled"])
    @pytest.mark.parametrize("row_status", [None, "invited", "registered", "attended"])
    def test_a_row_that_checks_someone_in_makes_the_attendance_attended(self, event, stored, row_status):
        if stored:
            services.bulk_upsert_attendances(event, [{"email": "a@x.de", "status": stored}])
        at = (event.starts_at + timedelta(hours=1)).replace(microsecond=0)

        result = services.bulk_upsert_attendances(
            event, [{"email": "a@x.de", "checked_in_at": at.isoformat()} | ({"status": row_status} if row_status else {})])

        assert (result.created + result.updated, result.errors) == (1, [])
        assert statuses(event) == {"a@x.de": (AttendanceStatus.ATTENDED, at)}

    @pytest.mark.parametrize("row_status", ["no_show", "cancelled", "waitlisted"])
    def test_a_row_saying_both_that_someone_checked_in_and_did_not_come_is_refused(self, event, row_status):
        services.bulk_upsert_attendances(event, [{"email": "a@x.de", "status": "registered"}])
        at = (event.starts_at + timedelta(hours=1)).isoformat()

        result = services.bulk_upsert_attendances(event, [
            {"email": "a@x.de", "status": row_status, "checked_in_at": at},
            {"email": "b@x.de", "status": row_status, "checked_in_at": at},
        ])

        assert (result.created, result.updated) == (0, 0)
        assert result.errors == [{"row": row, "errors": {"checked_in_at": [
            "Only someone who attended has a check-in time: clear it for a no-show, a cancellation or a place on "
            "the waiting list."]}} for row in (0, 1)]
        assert statuses(event) == {"a@x.de": (AttendanceStatus.REGISTERED, None)}

    def test_the_plan_says_which_values_stay(self, event):
        services.bulk_upsert_attendances(event, [{"email": "a@x.de"}])
        services.check_in(event, emails=["a@x.de"])

        plan = services.plan_attendee_rows(event, [{"email": "a@x.de", "status": "registered", "role": "speaker"}])

        changes = {(change.field, change.old, change.new, change.applied) for change in plan.rows[0].changes}
        assert changes == {("status", "attended", "registered", False), ("role", "attendee", "speaker", True)}


class TestRefusedRowsWriteNothing:
    def test_a_repeated_external_id_in_the_file_is_refused_before_anything_is_written(self, event):
        rows = [
            {"email": "a@x.de", "external_id": "T-4", "organization": "Hafen AG"},
            {"email": "b@x.de", "external_id": "T-5"},
            {"email": "c@x.de", "external_id": "T-4", "organization": "Nur C GmbH"},
        ]

        plan = services.plan_attendee_rows(event, rows)
        result = services.bulk_upsert_attendances(event, rows)

        assert [row.errors for row in plan.rows] == [{}, {}, EXTERNAL_ID_REPEATED]
        assert result.created == 2
        assert result.errors == [{"row": 2, "errors": EXTERNAL_ID_REPEATED}]
        assert not Contact.objects.filter(email="c@x.de").exists()
        assert not Organization.objects.filter(name="Nur C GmbH").exists()

    def test_an_external_id_of_an_attendance_at_another_event_is_refused(self, event):
        other = services.create_event(name="Other", starts_at=event.starts_at, ends_at=event.ends_at)
        services.bulk_upsert_attendances(other, [{"email": "a@x.de", "external_id": "T-1", "source": "tix"}])

        result = services.bulk_upsert_attendances(
            event, [{"email": "new@x.de", "external_id": "T-1", "source": "tix", "organization": "Neu AG"}])

        assert result.errors == [{"row": 0, "errors": EXTERNAL_ID_TAKEN}]
        assert not Contact.objects.filter(email="new@x.de").exists()
        assert not Organization.objects.exists()

    def test_the_stored_source_counts_when_the_row_has_none(self, event):
        services.bulk_upsert_attendances(event, [{"email": "a@x.de", "external_id": "T-1", "source": "tix"},
                                                 {"email": "b@x.de", "source": "tix"}])

        result = services.bulk_upsert_attendances(event, [{"email": "b@x.de", "external_id": "T-1"}])

        assert result.errors == [{"row": 0, "errors": EXTERNAL_ID_TAKEN}]
        assert Attendance.objects.get(contact__email="b@x.de").external_id is None

    def test_an_attendance_keeps_its_own_external_id(self, event):
        rows = [{"email": "a@x.de", "external_id": "T-1"}]
        services.bulk_upsert_attendances(event, rows)

        assert services.bulk_upsert_attendances(event, rows).unchanged == 1


class TestRepeatedEmails:
    def test_the_first_row_of_an_email_wins_and_later_ones_are_ignored(self, event):
        rows = [
            {"email": "ivy@x.de", "first_name": "Ivy", "external_id": "T-1", "role": "speaker"},
            {"email": "other@x.de"},
            {"email": " IVY@x.de", "first_name": "Ivonne", "external_id": "T-2", "role": "vip"},
        ]

        plan = services.plan_attendee_rows(event, rows)
        result = services.bulk_upsert_attendances(event, rows)

        assert [row.duplicate_of for row in plan.rows] == [None, None, 0]
        assert (result.created, result.unchanged) == (2, 0)  # counts are of attendances
        assert result.errors == [{"row": 2, "errors": LEFT_OUT}]  # the API tells what it left out
        ivy = Attendance.objects.select_related("contact").get(contact__email="ivy@x.de")
        assert (ivy.contact.first_name, ivy.external_id, ivy.role) == ("Ivy", "T-1", "speaker")

    def test_a_later_row_does_not_update_a_known_contact_either(self, event):
        services.bulk_upsert_attendances(event, [{"email": "ivy@x.de", "first_name": "Ivy"}])

        result = services.bulk_upsert_attendances(
            event, [{"email": "ivy@x.de", "first_name": "Ivy"}, {"email": "ivy@x.de", "first_name": "Ivonne"}])

        assert (result.updated, result.unchanged, result.errors) == (0, 1, [{"row": 1, "errors": LEFT_OUT}])
        assert Contact.objects.get().first_name == "Ivy"


class TestKnownContacts:
    def test_the_row_s_organization_replaces_a_known_contact_s_and_is_planned_as_a_change(self, event):
        nordlicht = Organization.objects.create(name="Nordlicht Logistik GmbH")
        Contact.objects.create(email="nina@x.de", first_name="Nina", organization=nordlicht)
        rows = [{"email": "nina@x.de", "first_name": "Nina", "organization": "Nordlicht Logistik"}]

        plan = services.plan_attendee_rows(event, rows)
        result = services.bulk_upsert_attendances(event, rows)

        assert [(c.field, c.old, c.new, c.applied) for c in plan.rows[0].changes] == [
            ("organization", "Nordlicht Logistik GmbH", "Nordlicht Logistik", True)]
        assert result.created == 1
        assert Contact.objects.get().organization.name == "Nordlicht Logistik"  # an upsert (API.md)
        assert sorted(Organization.objects.values_list("name", flat=True)) == [
            "Nordlicht Logistik", "Nordlicht Logistik GmbH"]

    def test_the_same_organization_in_other_case_is_no_change(self, event):
        nordlicht = Organization.objects.create(name="Nordlicht Logistik GmbH")
        Contact.objects.create(email="nina@x.de", organization=nordlicht)

        plan = services.plan_attendee_rows(event, [{"email": "nina@x.de", "organization": "NORDLICHT logistik gmbh"}])

        assert plan.rows[0].changes == []

    def test_a_contact_without_organization_gets_the_one_of_the_file(self, event):
        Contact.objects.create(email="nina@x.de")
        Organization.objects.create(name="Hafen AG")

        services.bulk_upsert_attendances(event, [{"email": "nina@x.de", "organization": "hafen ag"}])

        assert Contact.objects.get().organization.name == "Hafen AG"  # matched case-insensitively

    def test_name_changes_are_applied_and_planned(self, event):
        Contact.objects.create(email="nina@x.de", first_name="Nína", last_name="Berg")

        plan = services.plan_attendee_rows(event, [{"email": "nina@x.de", "first_name": "Nina", "last_name": ""}])
        services.bulk_upsert_attendances(event, [{"email": "nina@x.de", "first_name": "Nina", "last_name": ""}])

        assert [(c.field, c.old, c.new, c.applied) for c in plan.rows[0].changes] == [
            ("first_name", "Nína", "Nina", True)]
        assert Contact.objects.values_list("first_name", "last_name").get() == ("Nina", "Berg")

    def test_planning_writes_nothing(self, event, django_assert_max_num_queries):
        Contact.objects.create(email="nina@x.de")
        rows = [{"email": "nina@x.de", "organization": "Neu AG", "external_id": "T-1"}, {"email": "x@x.de"}]

        # contacts by e-mail, their attendances here, external ids (organizations only when writing)
        with django_assert_max_num_queries(3):
            services.plan_attendee_rows(event, rows)

        assert not Organization.objects.exists()
        assert not Attendance.objects.exists()
        assert Contact.objects.count() == 1
