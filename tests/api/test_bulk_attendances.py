"""POST events/{id}/attendances/bulk/ after the event: a replay changes nothing (API.md), also
once attendees were checked in; refused rows are reported, never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contacts.models import Contact
from events.models import Attendance, Event
from events.services import create_event

NOT_STARTED = "This event has not started yet: nobody can have attended or missed it."


def bulk(client, event, rows):
    return client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows}, format="json")


class TestBulkReplay:
    def test_a_replay_after_check_in_and_completion_is_unchanged_and_keeps_the_check_ins(self, write_client, event):
        rows = [{"email": f"p{i}@x.de", "status": "registered", "external_id": f"T-{i}"} for i in range(3)]
        bulk(write_client, event, rows)
        write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {"external_ids": ["T-0", "T-1"]}, format="json")
        Attendance.objects.filter(external_id="T-2").update(status="no_show")
        write_client.post(f"/api/v1/events/{event.pk}/complete/")
        before = list(Attendance.objects.order_by("pk").values_list("status", "checked_in_at", "updated_at"))

        replay = bulk(write_client, event, rows)

        assert replay.status_code == 200
        assert replay.json() == {"created": 0, "updated": 0, "unchanged": 3, "errors": []}
        assert list(Attendance.objects.order_by("pk").values_list("status", "checked_in_at", "updated_at")) == before

    def test_repeated_emails_keep_the_first_row(self, write_client, event):
        reply = bulk(write_client, event, [{"email": "a@x.de", "role": "speaker"}, {"email": "A@x.de", "role": "vip"}])

        assert reply.json() == {"created": 1, "updated": 0, "unchanged": 0, "errors": [
            {"row": 1, "errors": {"email": ["Row 0 has the same e-mail; this row was left out."]}}]}
        assert Attendance.objects.get().role == "speaker"

    def test_an_external_id_taken_under_the_stored_source_is_a_row_error(self, write_client, event):
        bulk(write_client, event, [{"email": "a@x.de", "external_id": "T-1", "source": "tix"},
                                   {"email": "b@x.de", "source": "tix"}])

        reply = bulk(write_client, event, [{"email": "b@x.de", "external_id": "T-1"}])

        assert reply.status_code == 200
        assert reply.json()["errors"] == [
            {"row": 0, "errors": {"external_id": ["This external id belongs to another attendance."]}}]

    def test_rows_that_are_no_objects_null_too_are_reported_and_the_others_applied(self, write_client, event):
        reply = bulk(write_client, event, [{"email": "a@x.de"}, None, "b@x.de", 7, [], {"email": "c@x.de"}])

        assert reply.status_code == 200
        not_an_object = {"non_field_errors": ["Each row must be an object."]}
        assert reply.json() == {"created": 2, "updated": 0, "unchanged": 0, "errors": [
            {"row": row, "errors": not_an_object} for row in (1, 2, 3, 4)]}
        assert set(Attendance.objects.values_list("contact__email", flat=True)) == {"a@x.de", "c@x.de"}


class TestBeforeTheEvent:
    """Nobody can have attended (or missed) an event a week ahead: refused on every path."""

    @pytest.fixture
    def next_week(self, db):
        now = timezone.now()
        return create_event(name="Next week", starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=3))

    def test_bulk_rows_saying_so_are_row_errors_the_others_applied(self, write_client, next_week):
        reply = bulk(write_client, next_week, [
            {"email": "a@x.de", "status": "registered"}, {"email": "b@x.de", "status": "attended"},
            {"email": "c@x.de", "status": "no_show"}, {"email": "d@x.de", "checked_in_at": "2026-01-01T10:00:00Z"},
        ])

        assert reply.status_code == 200
        assert reply.json()["created"] == 1
        assert [error["row"] for error in reply.json()["errors"]] == [1, 2, 3]
        assert reply.json()["errors"][0]["errors"] == {"status": [NOT_STARTED]}
        assert reply.json()["errors"][2]["errors"] == {"checked_in_at": [NOT_STARTED]}
        registered_but_checked_in = bulk(write_client, next_week, [
            {"email": "e@x.de", "status": "registered", "checked_in_at": "2026-01-01T10:00:00Z"}])
        assert registered_but_checked_in.json()["errors"] == [{"row": 0, "errors": {"checked_in_at": [NOT_STARTED]}}]
        assert not Attendance.objects.filter(checked_in_at__isnull=False).exists()

    def test_an_attended_row_and_a_check_in_are_refused(self, write_client, next_week, anna):
        created = write_client.post("/api/v1/attendances/", {"event": next_week.pk, "contact": anna.pk,
                                                             "status": "attended"}, format="json")
        assert created.status_code == 400
        assert created.json() == {"status": [NOT_STARTED]}
        with_check_in = write_client.post("/api/v1/attendances/", {
            "event": next_week.pk, "contact": anna.pk, "checked_in_at": "2026-01-01T10:00:00Z"}, format="json")
        assert with_check_in.status_code == 400
        assert list(with_check_in.json()) == ["checked_in_at"]
        registered = write_client.post("/api/v1/attendances/", {"event": next_week.pk, "contact": anna.pk},
                                       format="json")
        assert registered.status_code == 201
        forced = write_client.post(f"/api/v1/events/{next_week.pk}/complete/", {"force": True}, format="json")
        assert forced.status_code == 200
        assert Attendance.objects.get(event=next_week).status == "registered"  # nobody missed it yet
        checked_in = write_client.post(f"/api/v1/events/{next_week.pk}/check-ins/", {"emails": [anna.email]},
                                       format="json")
        assert checked_in.status_code == 400
        assert Attendance.objects.get(event=next_week).status == "registered"

    def test_the_day_before_check_in_opens(self, write_client, anna):
        tomorrow = create_event(name="Tomorrow", starts_at=timezone.now() + timedelta(hours=20),
                                ends_at=timezone.now() + timedelta(hours=26))
        write_client.post("/api/v1/attendances/", {"event": tomorrow.pk, "contact": anna.pk}, format="json")

        reply = write_client.post(f"/api/v1/events/{tomorrow.pk}/check-ins/", {"emails": [anna.email]}, format="json")

        assert reply.status_code == 200
        assert reply.json()["checked_in"] == 1


class TestCheckInTimes:
    """A check-in time more than a day before the event starts (the desks were not open yet) is
    refused on every path, as a check-in now is for an event that far ahead."""

    BEFORE = "This check-in time is more than a day before the event starts."

    def test_check_ins_attendances_and_bulk_rows(self, write_client, event, anna):
        too_early = (event.starts_at - timedelta(days=1, minutes=1)).isoformat()
        early_desk = (event.starts_at - timedelta(hours=20)).isoformat()
        write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk}, format="json")

        refused = write_client.post(f"/api/v1/events/{event.pk}/check-ins/",
                                    {"emails": [anna.email], "checked_in_at": too_early}, format="json")
        assert refused.status_code == 400
        assert refused.json() == {"checked_in_at": [self.BEFORE]}
        assert Attendance.objects.get().checked_in_at is None

        attendance = Attendance.objects.get()
        patched = write_client.patch(f"/api/v1/attendances/{attendance.pk}/", {"checked_in_at": too_early},
                                     format="json")
        assert patched.status_code == 400
        assert patched.json() == {"checked_in_at": [self.BEFORE]}

        reply = bulk(write_client, event, [{"email": "b@x.de", "checked_in_at": too_early},
                                           {"email": "c@x.de", "checked_in_at": early_desk}])
        assert reply.json()["errors"] == [{"row": 0, "errors": {"checked_in_at": [self.BEFORE]}}]
        assert reply.json()["created"] == 1

        taken = write_client.post(f"/api/v1/events/{event.pk}/check-ins/",
                                  {"emails": [anna.email], "checked_in_at": early_desk}, format="json")
        assert taken.json()["checked_in"] == 1

    def test_a_row_stored_with_an_early_time_before_the_rule_takes_other_changes(self, write_client, event, anna):
        early = Attendance.objects.create(event=event, contact=anna, status="attended",
                                          checked_in_at=event.starts_at - timedelta(days=3))
        assert write_client.patch(f"/api/v1/attendances/{early.pk}/", {"role": "speaker"},
                                  format="json").status_code == 200

    def test_an_event_with_check_ins_cannot_start_more_than_a_day_after_them(self, write_client, anna):
        now = timezone.now()
        event = create_event(name="Last month", starts_at=now - timedelta(days=30), ends_at=now - timedelta(days=29))
        write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk,
                                                   "checked_in_at": event.starts_at.isoformat()}, format="json")
        later = write_client.patch(f"/api/v1/events/{event.pk}/", {
            "starts_at": (event.starts_at + timedelta(days=2)).isoformat(),
            "ends_at": (event.ends_at + timedelta(days=2)).isoformat()}, format="json")
        assert later.status_code == 400
        assert later.json() == {"starts_at": [
            "People were checked in at this event more than a day before this start: it cannot start that late."]}
        event.refresh_from_db()
        a_little_later = write_client.patch(f"/api/v1/events/{event.pk}/", {
            "starts_at": (event.starts_at + timedelta(hours=3)).isoformat()}, format="json")
        assert a_little_later.status_code == 200


def test_a_taken_external_id_is_a_409_naming_the_attendance_that_has_it(write_client, event, anna):
    ben = Contact.objects.create(email="ben@x.de")
    first = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk, "source": "tix",
                                                       "external_id": "T-9"}, format="json")

    again = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": ben.pk, "source": "tix",
                                                       "external_id": "T-9"}, format="json")

    assert again.status_code == 409
    assert again.json()["code"] == "external_id_exists"
    assert again.json()["id"] == first.json()["id"]
    other_source = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": ben.pk, "source": "badge",
                                                              "external_id": "T-9"}, format="json")
    assert other_source.status_code == 201
    moved = write_client.patch(f"/api/v1/attendances/{other_source.json()['id']}/", {"source": "tix"}, format="json")
    assert moved.status_code == 409


def test_an_event_with_attendees_cannot_move_a_week_ahead(write_client, event, anna):
    write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk, "status": "attended"},
                      format="json")
    ahead = (timezone.now() + timedelta(days=7)).isoformat()

    moved = write_client.patch(f"/api/v1/events/{event.pk}/", {"starts_at": ahead, "ends_at": ahead}, format="json")

    assert moved.status_code == 400
    assert list(moved.json()) == ["starts_at"]
    soon = (timezone.now() + timedelta(hours=2)).isoformat()  # within the day: check-in may have begun
    assert write_client.patch(f"/api/v1/events/{event.pk}/", {"starts_at": soon, "ends_at": ahead},
                              format="json").status_code == 200


class TestCancelledEvents:
    """Nobody attended or missed a cancelled event: an event people attended is not cancelled,
    check-ins and rows saying so anew are refused; what rows said before a cancellation (stored
    before this rule) stays and takes other changes."""

    CANCELLED = "This event was cancelled: nobody can have attended or missed it."

    def test_an_event_people_attended_is_not_cancelled(self, write_client, event, anna):
        write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk, "status": "attended"},
                          format="json")
        refused = write_client.patch(f"/api/v1/events/{event.pk}/", {"status": "cancelled"}, format="json")
        assert refused.status_code == 400
        assert list(refused.json()) == ["status"]
        assert Event.objects.get(pk=event.pk).status == "planned"

    def test_check_ins_attendances_and_bulk_rows(self, write_client, event, anna):
        ben = Contact.objects.create(email="ben@x.de")
        came = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": ben.pk, "status": "attended"},
                                 format="json").json()
        write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk}, format="json")
        Event.objects.filter(pk=event.pk).update(status="cancelled")  # cancelled before the rule above

        check_in = write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {"emails": [anna.email]}, format="json")
        assert check_in.status_code == 409
        assert check_in.json()["code"] == "event_cancelled"
        registered = Attendance.objects.get(contact=anna)
        marked = write_client.patch(f"/api/v1/attendances/{registered.pk}/", {"status": "no_show"}, format="json")
        assert (marked.status_code, marked.json()) == (400, {"status": [self.CANCELLED]})
        assert write_client.patch(f"/api/v1/attendances/{came['id']}/", {"role": "speaker"},
                                  format="json").status_code == 200  # said so before: other changes are fine

        reply = bulk(write_client, event, [
            {"email": anna.email, "status": "attended"}, {"email": "new@x.de", "checked_in_at": event.starts_at.isoformat()},
            {"email": ben.email, "status": "attended"}, {"email": "late@x.de", "status": "cancelled"}])
        assert reply.json() == {"created": 1, "updated": 0, "unchanged": 1, "errors": [
            {"row": 0, "errors": {"status": [self.CANCELLED]}}, {"row": 1, "errors": {"checked_in_at": [self.CANCELLED]}}]}
        assert Attendance.objects.get(contact=anna).status == "registered"

    def test_an_attended_row_cannot_move_onto_a_cancelled_event(self, write_client, event, anna):
        cancelled = create_event(name="Called off", starts_at=event.starts_at, ends_at=event.ends_at, status="cancelled")
        came = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk, "status": "attended"},
                                 format="json").json()
        moved = write_client.patch(f"/api/v1/attendances/{came['id']}/", {"event": cancelled.pk}, format="json")
        assert (moved.status_code, moved.json()) == (400, {"status": [self.CANCELLED]})
        assert Attendance.objects.get().event == event


@pytest.mark.parametrize("status", ["registered", "attended", "invited"])
def test_a_new_row_is_registered_now_unless_only_invited_one_by_one_as_in_bulk(write_client, event, anna, status):
    before = timezone.now()
    single = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk, "status": status},
                               format="json").json()
    bulk(write_client, event, [{"email": "ben@x.de", "status": status}])

    registered = [parse_datetime(single["registered_at"]) if single["registered_at"] else None,
                  Attendance.objects.get(contact__email="ben@x.de").registered_at]
    if status == "invited":
        assert registered == [None, None]
    else:
        assert all(before <= moment <= timezone.now() for moment in registered)


def test_a_registration_time_given_is_kept(write_client, event, anna):
    given = timezone.now() - timedelta(days=20)
    created = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk,
                                                         "registered_at": given.isoformat()}, format="json").json()
    assert parse_datetime(created["registered_at"]) == given


def test_an_invitation_taken_up_registers_then(write_client, event, anna):
    invited = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk, "status": "invited"},
                                format="json").json()
    before = timezone.now()

    registered = write_client.patch(f"/api/v1/attendances/{invited['id']}/", {"status": "registered"}, format="json")

    assert before <= parse_datetime(registered.json()["registered_at"]) <= timezone.now()


def test_an_invitation_taken_up_in_a_list_registers_then(write_client, event):
    bulk(write_client, event, [{"email": "ivy@x.de", "status": "invited"}])
    assert Attendance.objects.get().registered_at is None
    before = timezone.now()

    assert bulk(write_client, event, [{"email": "ivy@x.de", "status": "registered"}]).json()["updated"] == 1

    assert before <= Attendance.objects.get().registered_at <= timezone.now()
