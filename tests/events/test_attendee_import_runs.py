"""Attendee imports in the background (events.imports): batches that keep the whole list's rules,
a run that resumes after its worker died, cancel, a stale task of an earlier run, the sweep.

The tasks' functions are called directly here (run_preview, run_import), as a worker would;
tests/test_faults.py kills a real worker in the middle of an import.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from events import imports
from events.choices import ImportStatus
from events.models import Attendance, AttendeeImport, Event
from events.services import attendee_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db) -> Event:
    now = timezone.now()
    return Event.objects.create(name="Hamburg Summit", starts_at=now + timedelta(days=10), ends_at=now + timedelta(days=11))


@pytest.fixture
def small_batches(settings):
    settings.IMPORT_BATCH_ROWS = 2
    return settings


@pytest.fixture
def held_tasks(monkeypatch):
    """Tasks not run when sent (as with a broker and no worker yet): the test runs them."""
    sent = []
    monkeypatch.setattr(imports, "_send", lambda attendee_import: sent.append(attendee_import.pk) or True)
    return sent


# Rows 2-9 of the sheet: rows 6 and 8 repeat e-mails of rows in earlier batches; row 7 claims the
# ticket id of row 3, row 9 has no valid e-mail.
LIST = (
    b"email,first_name,ticket_id\n"
    b"a@x.example,A,T-1\n"
    b"b@x.example,B,T-2\n"
    b"c@x.example,C,T-3\n"
    b"d@x.example,D,T-4\n"
    b"A@X.example,A again,T-5\n"
    b"e@x.example,E,T-2\n"
    b"c@x.example,C again,\n"
    b"not-an-email,F,T-6\n"
)


def new_import(event: Event, content: bytes = LIST, user=None) -> AttendeeImport:
    return imports.create_import(event, user, "list.csv", content)


def start(attendee_import: AttendeeImport) -> int:
    assert imports.start_import(attendee_import)
    return attendee_import.run


class TestBatches:
    def test_the_rules_judge_the_whole_list_across_batches(self, event, small_batches, held_tasks):
        attendee_import = new_import(event)
        assert imports.run_preview(attendee_import.pk, attendee_import.run)
        attendee_import.refresh_from_db()
        preview = imports.Preview.from_json(attendee_import.preview)

        assert (attendee_import.status, attendee_import.rows_done, preview.row_count) == (ImportStatus.READY, 8, 8)
        assert (preview.new_contacts, preview.duplicates, preview.error_count, preview.valid_count) == (4, 2, 2, 4)
        assert {row.line: row.duplicate_of for row in preview.rows if row.duplicate_of} == {6: 2, 8: 4}
        assert {row.line: sorted(row.errors) for row in preview.error_rows} == {7: ["external_id"], 9: ["email"]}
        assert bytes(attendee_import.checked_rows)  # what each row says, kept for the import

        run = start(attendee_import)
        assert imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()

        assert attendee_import.status == ImportStatus.DONE
        assert (attendee_import.created, attendee_import.updated, attendee_import.unchanged) == (4, 0, 0)
        assert (attendee_import.error_count, attendee_import.duplicate_count) == (2, 2)
        assert [line for line, _errors in attendee_import.errors] == [7, 9]
        assert attendee_import.duplicates == [[6, 2], [8, 4]]
        assert sorted(Contact.objects.values_list("email", "first_name")) == [
            ("a@x.example", "A"), ("b@x.example", "B"), ("c@x.example", "C"), ("d@x.example", "D")]
        assert sorted(Attendance.objects.filter(event=event).values_list("external_id", flat=True)) == [
            "T-1", "T-2", "T-3", "T-4"]
        assert bytes(attendee_import.data) == b""  # the file is not kept once imported
        assert bytes(attendee_import.checked_rows) == b""  # nor what the preview made of it

    def test_the_import_does_what_the_preview_found_without_reading_the_file_again(self, small_batches, held_tasks):
        now = timezone.now()
        started = Event.objects.create(name="Under way", starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=6))
        checked_in = (now - timedelta(minutes=30)).replace(microsecond=0)
        content = (b"email,first_name,status,checked_in_at\n"
                   b"a@x.example,\xc3\x9cmlaut \\ \"quoted\",registered,\n"
                   b"b@x.example,B,," + checked_in.isoformat().encode() + b"\n"
                   b"not-an-email,C,,\n")
        attendee_import = new_import(started, content)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        # The file is no longer what was previewed (it never changes; this shows what is read).
        AttendeeImport.objects.filter(pk=attendee_import.pk).update(data=b"email\nsomeone-else@x.example\n")
        run = start(attendee_import)
        assert imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()

        assert (attendee_import.created, attendee_import.error_count) == (2, 1)
        assert attendee_import.errors[0][0] == 4  # the spreadsheet line, kept with the rows
        assert sorted(Attendance.objects.filter(event=started).values_list(
            "contact__email", "contact__first_name", "status", "checked_in_at")) == [
            ("a@x.example", 'Ümlaut \\ "quoted"', "registered", None),
            ("b@x.example", "B", "attended", checked_in),  # a check-in time says the person came
        ]

    def test_preview_rows_cut_short_fail_the_import_instead_of_leaving_rows_out(self, event, small_batches, held_tasks):
        attendee_import = new_import(event)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        attendee_import.refresh_from_db()
        kept = bytes(attendee_import.checked_rows)
        AttendeeImport.objects.filter(pk=attendee_import.pk).update(checked_rows=kept[: len(kept) - 4])
        run = start(attendee_import)
        imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()

        assert attendee_import.status == ImportStatus.FAILED
        assert attendee_import.failure == "The preview's rows could not be read back; upload the file again."
        assert bytes(attendee_import.checked_rows) == bytes(attendee_import.data) == b""

    def test_a_preview_that_kept_no_rows_is_imported_from_the_file(self, event, small_batches, held_tasks):
        attendee_import = new_import(event)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        AttendeeImport.objects.filter(pk=attendee_import.pk).update(checked_rows=b"")  # previewed before they were kept
        run = start(attendee_import)
        assert imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()

        assert (attendee_import.created, attendee_import.error_count, attendee_import.duplicate_count) == (4, 2, 2)
        assert attendee_import.duplicates == [[6, 2], [8, 4]]

    def test_queries_per_batch_are_fixed(self, event, small_batches, held_tasks):
        def queries(rows: int) -> tuple[int, int]:
            """(preview, import) queries for a list of new people with organizations and ticket ids."""
            content = b"email,company,ticket_id\n" + b"".join(
                f"p{i}-{rows}@x.example,Org {rows}-{i},T-{rows}-{i}\n".encode() for i in range(rows))
            attendee_import = new_import(event, content)
            with CaptureQueriesContext(connection) as previewing:
                imports.run_preview(attendee_import.pk, attendee_import.run)
            run = start(attendee_import)
            with CaptureQueriesContext(connection) as importing:
                imports.run_import(attendee_import.pk, run)
            return len(previewing), len(importing)

        four, eight, twelve = queries(4), queries(8), queries(12)  # 2, 4 and 6 batches
        for step in (0, 1):
            per_two_batches = eight[step] - four[step]
            assert twelve[step] - eight[step] == per_two_batches  # the same for every batch
            assert per_two_batches <= 2 * (5 if step == 0 else 20)

    def test_a_file_over_the_row_limit_fails_in_the_preview_and_keeps_nothing(
        self, event, settings, held_tasks, monkeypatch
    ):
        settings.IMPORT_MAX_ROWS = 5
        monkeypatch.setattr(imports, "FIRST_ROWS", 3)  # the upload reads no further than that
        attendee_import = new_import(event)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        attendee_import.refresh_from_db()

        assert attendee_import.status == ImportStatus.FAILED
        assert attendee_import.failure == "The file has more than 5 attendees; split it into smaller lists."
        assert bytes(attendee_import.data) == b""
        assert not imports.start_import(attendee_import)


class TestResumeAndCancel:
    def test_an_import_whose_worker_died_resumes_after_the_last_committed_batch(
        self, event, small_batches, held_tasks, monkeypatch
    ):
        attendee_import = new_import(event)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        run = start(attendee_import)
        upsert = attendee_upsert.upsert_attendee_rows
        calls = []

        def dies_in_the_third_batch(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise SystemExit("worker killed")
            return upsert(*args, **kwargs)

        monkeypatch.setattr(imports, "upsert_attendee_rows", dies_in_the_third_batch)
        with pytest.raises(SystemExit):
            imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()
        assert (attendee_import.status, attendee_import.rows_done, attendee_import.created) == (ImportStatus.IMPORTING, 4, 4)

        # A task of the same run finds the dead one's heartbeat fresh: it leaves the work to it.
        assert not imports.run_import(attendee_import.pk, run)
        # Once the heartbeat is stale, the run sent again goes on: rows 2-5 are skipped, row 6
        # (a@ again) is still a repeat of row 2.
        AttendeeImport.objects.filter(pk=attendee_import.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        assert imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()

        assert (attendee_import.status, attendee_import.rows_done) == (ImportStatus.DONE, 8)
        assert (attendee_import.created, attendee_import.updated, attendee_import.unchanged) == (4, 0, 0)
        assert attendee_import.duplicates == [[6, 2], [8, 4]]
        assert Contact.objects.get(email="a@x.example").first_name == "A"
        assert Attendance.objects.filter(event=event).count() == 4

    def test_cancel_stops_at_the_next_batch_and_keeps_what_was_imported(
        self, event, small_batches, held_tasks, monkeypatch
    ):
        attendee_import = new_import(event)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        run = start(attendee_import)
        upsert = attendee_upsert.upsert_attendee_rows

        def cancelled_after_the_first_batch(*args, **kwargs):
            result = upsert(*args, **kwargs)
            if not AttendeeImport.objects.filter(pk=attendee_import.pk, status=ImportStatus.CANCELLED).exists():
                imports.cancel_import(AttendeeImport.objects.get(pk=attendee_import.pk))
            return result

        monkeypatch.setattr(imports, "upsert_attendee_rows", cancelled_after_the_first_batch)
        assert not imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()

        assert attendee_import.status == ImportStatus.CANCELLED
        assert attendee_import.rows_done == 2
        assert sorted(Contact.objects.values_list("email", flat=True)) == ["a@x.example", "b@x.example"]
        assert bytes(attendee_import.data) == bytes(attendee_import.checked_rows) == b""

    def test_a_task_of_an_earlier_run_stops_without_writing(self, event, held_tasks):
        attendee_import = new_import(event)
        first_run = attendee_import.run
        assert imports.run_preview(attendee_import.pk, first_run)
        assert imports.preview_again(attendee_import, "generic", ["email", "ignore", "ignore"])
        assert bytes(attendee_import.checked_rows) == b""  # the rows as the earlier mapping read them

        assert not imports.run_preview(attendee_import.pk, first_run)
        attendee_import.refresh_from_db()
        assert (attendee_import.status, attendee_import.preview) == (ImportStatus.PREVIEWING, None)

        assert imports.run_preview(attendee_import.pk, attendee_import.run)
        attendee_import.refresh_from_db()
        assert imports.Preview.from_json(attendee_import.preview).columns == ["email"]

    def test_the_sweep_sends_a_lost_run_again(self, event, held_tasks):
        attendee_import = new_import(event)
        AttendeeImport.objects.filter(pk=attendee_import.pk).update(updated_at=timezone.now() - timedelta(minutes=1))
        assert imports.sweep_imports() == 0  # sent a minute ago: maybe still queued
        AttendeeImport.objects.filter(pk=attendee_import.pk).update(updated_at=timezone.now() - timedelta(minutes=3))
        assert imports.sweep_imports() == 1
        assert imports.sweep_imports() == 0  # not again at the next sweep
        assert held_tasks == [attendee_import.pk, attendee_import.pk]

    def test_a_run_whose_task_keeps_dying_fails_after_the_attempts(self, event, settings, held_tasks):
        attendee_import = new_import(event)
        for _attempt in range(settings.IMPORT_MAX_ATTEMPTS):
            attendee = imports._claim(attendee_import.pk, attendee_import.run, ImportStatus.PREVIEWING)
            assert attendee is not None
            AttendeeImport.objects.filter(pk=attendee_import.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

        assert not imports.run_preview(attendee_import.pk, attendee_import.run)
        attendee_import.refresh_from_db()
        assert attendee_import.status == ImportStatus.FAILED
        assert attendee_import.failure == "The import stopped again and again; the error is logged."
        assert bytes(attendee_import.data) == b""


class TestPages:
    def test_the_page_shows_the_progress_of_an_import_under_way_and_can_cancel_it(self, admin_client, event, held_tasks):
        attendee_import = new_import(event)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        attendee_import.refresh_from_db()
        start(attendee_import)
        AttendeeImport.objects.filter(pk=attendee_import.pk).update(rows_done=3)
        url = reverse("admin:events_attendeeimport_change", args=[attendee_import.pk])

        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get(url).content.decode()
            admin_client.get(reverse("admin:events_attendeeimport_changelist"))

        # The page reloads every 2 s while the import runs: never with the file or the preview's rows.
        assert not [query["sql"] for query in queries if '"data"' in query["sql"] or '"checked_rows"' in query["sql"]]

        assert 'id="ror-import-progress" data-reload-seconds="2"' in page
        assert '<progress max="8" value="3">' in page
        assert "Importing… 3 of 8 rows (37 %)." in page

        response = admin_client.post(url, {"cancel": "1"}, follow=True)
        assert response.context["attendee_import"].status == ImportStatus.CANCELLED
        assert "Cancelled after 3 of 8 rows" in response.content.decode()
        assert "ror-import-progress" not in response.content.decode()

    def test_the_list_of_imports(self, admin_client, event, held_tasks):
        new_import(event)
        page = admin_client.get(reverse("admin:events_attendeeimport_changelist")).content.decode()
        assert "list.csv" in page
        assert "Previewing" in page

    def test_staff_without_the_attendance_permissions_cannot_see_imports(self, client, event, django_user_model):
        attendee_import = new_import(event)
        viewer = django_user_model.objects.create_user("viewer", password="pw-123456789", is_staff=True)
        client.force_login(viewer)
        assert client.get(reverse("admin:events_attendeeimport_change", args=[attendee_import.pk])).status_code == 403
        assert client.get(reverse("admin:events_event_import_attendees", args=[event.pk])).status_code == 403


def test_a_preview_nobody_imports_is_cancelled_after_a_day_and_forgets_the_file(event, held_tasks):
    attendee_import = new_import(event)
    imports.run_preview(attendee_import.pk, attendee_import.run)
    AttendeeImport.objects.filter(pk=attendee_import.pk).update(updated_at=timezone.now() - timedelta(hours=23))
    imports.sweep_imports()
    attendee_import.refresh_from_db()
    assert attendee_import.status == ImportStatus.READY

    AttendeeImport.objects.filter(pk=attendee_import.pk).update(updated_at=timezone.now() - timedelta(hours=25))
    imports.sweep_imports()
    attendee_import.refresh_from_db()
    assert attendee_import.status == ImportStatus.CANCELLED
    assert (bytes(attendee_import.data), attendee_import.first_rows, attendee_import.preview) == (b"", [], None)


class TestAcrossBatches:
    def test_an_id_a_row_takes_from_its_attendance_stays_taken_for_later_batches(self, event, small_batches, held_tasks):
        """One call refuses a later row that claims an id an earlier row moves away from; batches too."""
        anna = Contact.objects.create(email="anna@x.example")
        Attendance.objects.create(event=event, contact=anna, external_id="T1", source="")
        content = b"email,ticket_id\nanna@x.example,T9\nfill@x.example,\nben@x.example,T1\n"
        attendee_import = new_import(event, content)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        run = start(attendee_import)
        imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()

        assert [line for line, _errors in attendee_import.errors] == [4]
        assert attendee_import.errors[0][1] == {"external_id": ["This external id belongs to another attendance."]}
        assert Attendance.objects.get(contact=anna).external_id == "T9"
        assert not Contact.objects.filter(email="ben@x.example").exists()

    def test_a_nul_character_in_a_choice_is_a_row_error_and_the_import_goes_on(self, event, held_tasks):
        attendee_import = new_import(event, b"email,status\na@x.example,regis\x00tered\nb@x.example,registered\n")
        imports.run_preview(attendee_import.pk, attendee_import.run)
        run = start(attendee_import)
        assert imports.run_import(attendee_import.pk, run)
        attendee_import.refresh_from_db()

        assert attendee_import.status == ImportStatus.DONE
        assert [line for line, _errors in attendee_import.errors] == [2]
        assert list(Contact.objects.values_list("email", flat=True)) == ["b@x.example"]

    def test_the_contacts_history_names_who_uploaded_the_list(self, event, held_tasks, django_user_model):
        uploader = django_user_model.objects.create_user("uploader", password="pw-123456789", is_staff=True)
        Contact.objects.create(email="known@x.example", first_name="Old")
        attendee_import = new_import(event, b"email,first_name\nknown@x.example,New\nnew@x.example,N\n", user=uploader)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        run = start(attendee_import)
        imports.run_import(attendee_import.pk, run)

        rows = Contact.history.order_by("email", "history_id").values_list("email", "history_type", "history_user_id")
        assert list(rows) == [("known@x.example", "+", None), ("known@x.example", "~", uploader.pk),
                              ("new@x.example", "+", uploader.pk)]


class TestDamagedFiles:
    def test_a_damaged_file_is_a_form_error_or_a_failed_preview_never_a_crash(self, event, held_tasks, monkeypatch):
        import io
        import zipfile

        from openpyxl import Workbook

        workbook, buffer = Workbook(), io.BytesIO()
        workbook.active.append(["email"])
        workbook.active.append(["a@x.example"])
        workbook.save(buffer)
        truncated = buffer.getvalue()[: len(buffer.getvalue()) // 2]
        with pytest.raises(imports.ImportFileError, match="could not be read"):
            new_import(event, truncated)

        chart_only = io.BytesIO()
        with zipfile.ZipFile(chart_only, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
        with pytest.raises(imports.ImportFileError, match="could not be read"):
            imports.create_import(event, None, "list.xlsx", chart_only.getvalue())

        monkeypatch.setattr(imports, "FIRST_ROWS", 2)  # the damage lies past what the upload reads
        content = b"email\na@x.example\nb@x.example\n\"" + b"x" * 200_000 + b"\n"
        attendee_import = new_import(event, content)
        imports.run_preview(attendee_import.pk, attendee_import.run)
        attendee_import.refresh_from_db()
        assert attendee_import.status == ImportStatus.FAILED
        assert attendee_import.failure == "The file could not be read after row 3: it is damaged or not a table."

    def test_an_unclosed_quote_fails_with_the_row_it_broke_at(self, event, held_tasks):
        content = b'email,first_name\na@x.example,Anna\nb@x.example,"Ben\nc@x.example,Carla\n'
        with pytest.raises(imports.ImportFileError, match="after row 2: a quoted cell is not closed"):
            new_import(event, content)  # (a file this short is read whole by the upload)
        with pytest.raises(imports.ImportFileError, match="after row 2: a quoted cell is not closed"):
            new_import(event, b'email,organization\na@x.example,Acme\nb@x.example,"Acme" GmbH\n')

    def test_too_many_columns(self, event, held_tasks):
        with pytest.raises(imports.ImportFileError, match="more than 500 columns"):
            new_import(event, ",".join(["email", *(f"c{i}" for i in range(600))]).encode() + b"\na@x.example\n")


def test_an_erased_person_takes_the_lists_not_yet_imported_that_name_them_with_them(event, held_tasks):
    from contacts.services import erase_contact

    anna = Contact.objects.create(email="anna.berg@x.example", first_name="Anna", last_name="Berg")
    naming_her = new_import(event, b"email,first_name\nANNA.BERG@x.example,Anna\nb@x.example,B\n")
    by_name = new_import(event, b"email,first_name,last_name\nother@x.example,Anna,Berg\n")
    others = new_import(event, b"email\nc@x.example\n")
    for attendee_import in (naming_her, by_name, others):
        imports.run_preview(attendee_import.pk, attendee_import.run)

    erase_contact(anna)

    for attendee_import in (naming_her, by_name, others):
        attendee_import.refresh_from_db()
    assert [attendee_import.status for attendee_import in (naming_her, by_name, others)] == [
        ImportStatus.CANCELLED, ImportStatus.CANCELLED, ImportStatus.READY]
    assert (bytes(naming_her.data), naming_her.first_rows, naming_her.preview) == (b"", [], None)
    assert naming_her.failure == "Cancelled: a person in this list was erased meanwhile."
    assert not imports.start_import(naming_her)


def test_the_page_of_an_import_that_is_not_there_is_404(admin_client):
    assert admin_client.get("/admin/events/attendeeimport/abc/change/").status_code == 404
    assert admin_client.get("/admin/events/attendeeimport/999999/change/").status_code == 404
