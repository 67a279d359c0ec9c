"""POST events/{id}/attendances/bulk/ after the event: a replay changes nothing (API.md), also
once attendees were checked in; refused rows are reported, never a 500."""

from events.models import Attendance


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
