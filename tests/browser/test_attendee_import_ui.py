"""Agency staff import an attendee list on a laptop screen (1,366 px): upload, the preview with its
column mapping, import, the result; and the page of an import under way, which shows its progress
and reloads itself until the import is done."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from events.choices import ImportStatus
from events.models import AttendeeImport, Event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST = (
    b"E-Mail;Vorname;Nachname;Firma;Status\n"
    b"carla@client.example;Carla;Mustermann-Schulze;Carla's Very Long Organization Name GmbH & Co. KG;registered\n"
    b"dirk@client.example;Dirk;Berg;Nordlicht Logistik;Teilgenommen\n"
    b"not-an-email;Emma;Klein;;registered\n"
)


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.fixture
def roadshow():
    now = timezone.now()
    return Event.objects.create(name="Berlin Roadshow 2026", starts_at=now - timedelta(hours=8), ends_at=now)


def test_staff_upload_preview_and_import_a_list(page, login, staff_user, roadshow):
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)
    page.goto(f"{page.base_url}/admin/events/event/{roadshow.pk}/change/")
    page.click(".ror-import-link")

    page.set_input_files("#id_file", files=[{"name": "roadshow.csv", "mimeType": "text/csv", "buffer": LIST}])
    page.click("input[type=submit][value=Preview]")

    page.locator(".ror-import-mapping").wait_for()
    summary = page.inner_text(".ror-summary")
    assert "2 new contacts" in summary
    assert "1 row with errors will be skipped" in summary
    assert page.locator("#result_list tbody tr").count() == 3
    assert page.locator("#result_list .ror-row-error").count() == 1
    assert fits(page)
    assert Contact.objects.count() == 0  # nothing written before the import

    page.click("input[name=confirm]")
    result = page.locator("#ror-import-result")
    result.wait_for()
    assert "2 new, 0 updated, 0 unchanged" in result.inner_text()
    assert "1 row was skipped because of errors" in result.inner_text()
    assert fits(page)
    assert sorted(Contact.objects.values_list("email", flat=True)) == ["carla@client.example", "dirk@client.example"]

    page.click("#content-main a:has-text('Go to the event')")
    page.wait_for_url(f"**/admin/events/event/{roadshow.pk}/change/")


def test_the_page_of_an_import_under_way_shows_its_progress_until_it_is_done(page, login, staff_user, roadshow):
    attendee_import = AttendeeImport.objects.create(
        event=roadshow, created_by=staff_user, filename="roadshow.csv", description="CSV", headers=["email"],
        mapping=["email"], status=ImportStatus.IMPORTING, rows_total=4000, rows_done=1000, created=1000,
    )
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)
    page.goto(f"{page.base_url}/admin/events/attendeeimport/{attendee_import.pk}/change/")

    progress = page.locator("#ror-import-progress progress")
    assert progress.get_attribute("value") == "1000"
    assert progress.get_attribute("max") == "4000"
    assert "Importing… 1000 of 4000 rows (25 %)." in page.inner_text("#ror-import-progress")
    assert fits(page)

    # The worker finishes; the page, reloading itself, shows the result without a click.
    AttendeeImport.objects.filter(pk=attendee_import.pk).update(status=ImportStatus.DONE, rows_done=4000, created=4000)
    page.locator("#ror-import-progress").wait_for(state="detached", timeout=10_000)
    assert "4000 new, 0 updated, 0 unchanged" in page.inner_text("#ror-import-result")
