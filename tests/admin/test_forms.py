"""Admin forms: what the database or a service would refuse is a message at the field, with what
was typed kept, never a 500."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, Organization
from events.models import Attendance, Event, Feedback

pytestmark = pytest.mark.django_db


class TestOrganizations:
    @pytest.mark.parametrize("typed", ["Hanse Events", "HANSE EVENTS", "  hanse events "])
    def test_a_name_taken_in_any_case_is_an_error_at_the_name(self, staff_client, typed):
        taken = Organization.objects.create(name="Hanse Events")

        response = staff_client.post(reverse("admin:contacts_organization_add"), {"name": typed, "domain": "x.de"})

        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert errors == {"name": [f"An organization with this name already exists (id {taken.pk})."]}
        assert Organization.objects.count() == 1
        assert 'value="x.de"' in response.content.decode()

    def test_a_rename_onto_another_name_is_refused_and_its_own_case_may_change(self, staff_client):
        Organization.objects.create(name="Hanse Events")
        kiel = Organization.objects.create(name="Kiel Messe")
        url = reverse("admin:contacts_organization_change", args=[kiel.pk])

        refused = staff_client.post(url, {"name": "hanse events"})
        assert list(refused.context["adminform"].form.errors) == ["name"]

        assert staff_client.post(url, {"name": " KIEL MESSE "}).status_code == 302
        assert Organization.objects.get(pk=kiel.pk).name == "KIEL MESSE"


@pytest.mark.parametrize("typed", ["-3", "0"])
def test_a_cadence_below_one_day_gets_one_message_whatever_was_typed(staff_client, typed):
    response = staff_client.post(reverse("admin:contacts_contact_add"), {"email": "a@x.de", "cadence_days": typed})
    errors = response.context["adminform"].form.errors
    assert errors["cadence_days"] == ["Ensure this value is greater than or equal to 1."]


class TestAttendances:
    MESSAGE = ("Only someone who attended has a check-in time: clear it for a no-show, a cancellation or a place on "
               "the waiting list.")

    @staticmethod
    def form(staff_client, **stored) -> tuple[Attendance, str, dict]:
        """An attendance of an event that ended an hour ago, its change page's address, and the form as the
        browser posts it with the event's start typed as the check-in time."""
        now = timezone.now()
        event = Event.objects.create(name="Summit", starts_at=now - timedelta(hours=4), ends_at=now - timedelta(hours=1))
        attendance = Attendance.objects.create(event=event, contact=Contact.objects.create(email="a@x.de"), **stored)
        url = reverse("admin:events_attendance_change", args=[attendance.pk])
        form = staff_client.get(url).context["adminform"].form
        data = {name: form.initial.get(name) or "" for name in form.fields}
        data |= {"event": event.pk, "contact": attendance.contact_id, "status": attendance.status,
                 "checked_in_at_0": timezone.localtime(event.starts_at).strftime("%Y-%m-%d"),
                 "checked_in_at_1": timezone.localtime(event.starts_at).strftime("%H:%M:%S")}
        return attendance, url, data

    def test_a_check_in_time_typed_on_a_registration_makes_it_attended(self, staff_client):
        attendance, url, data = self.form(staff_client)

        response = staff_client.post(url, data)

        assert response.status_code == 302
        attendance.refresh_from_db()
        assert (attendance.status, attendance.checked_in_at) == ("attended", attendance.event.starts_at.replace(microsecond=0))

    def test_a_check_in_time_typed_on_a_no_show_makes_it_attended_as_in_the_api(self, staff_client):
        attendance, url, data = self.form(staff_client, status="no_show")
        refused = staff_client.post(url, {**data, "status": "cancelled"})  # a status saying otherwise, with it

        assert list(refused.context["adminform"].form.errors) == ["checked_in_at"]
        assert staff_client.post(url, data).status_code == 302
        attendance.refresh_from_db()
        assert attendance.status == "attended"

    def test_a_checked_in_attendance_made_a_no_show_keeping_its_time_is_refused_at_the_status(self, staff_client):
        attendance, url, data = self.form(staff_client, status="attended")
        Attendance.objects.filter(pk=attendance.pk).update(checked_in_at=attendance.event.starts_at)
        data["status"] = "no_show"

        response = staff_client.post(url, data)

        assert response.context["adminform"].form.errors == {"status": [self.MESSAGE]}
        data |= {"checked_in_at_0": "", "checked_in_at_1": ""}
        assert staff_client.post(url, data).status_code == 302
        attendance.refresh_from_db()
        assert (attendance.status, attendance.checked_in_at) == ("no_show", None)


def test_every_error_of_an_event_form_is_at_its_field(staff_client):
    """An end before the start and a negative cost at once: both at their fields, none above the form."""
    now = timezone.localtime()
    response = staff_client.post(reverse("admin:events_event_add"), {
        "name": "Summit", "kind": "conference", "format": "in_person", "status": "planned", "currency": "EUR",
        "starts_at_0": now.strftime("%Y-%m-%d"), "starts_at_1": "12:00:00",
        "ends_at_0": now.strftime("%Y-%m-%d"), "ends_at_1": "10:00:00", "cost": "-5",
        "attendances-TOTAL_FORMS": "0", "attendances-INITIAL_FORMS": "0",
    })
    form = response.context["adminform"].form
    assert set(form.errors) == {"ends_at", "cost"}
    assert form.errors["cost"] == ["The cost cannot be negative."]


@pytest.fixture
def two_contacts_at_a_past_event():
    now = timezone.now()
    event = Event.objects.create(name="Summit", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    return event, Contact.objects.create(email="a@x.de"), Contact.objects.create(email="b@x.de")


def moment_fields(name: str, moment) -> dict[str, str]:
    local = timezone.localtime(moment)
    return {f"{name}_0": local.strftime("%Y-%m-%d"), f"{name}_1": local.strftime("%H:%M:%S")}


def test_every_error_of_an_interaction_or_feedback_form_is_at_its_field(staff_client, two_contacts_at_a_past_event):
    """Two rules broken at once, one of them also a database constraint: each at its field, none above."""
    event, anna, _ = two_contacts_at_a_past_event
    interaction = staff_client.post(reverse("admin:events_interaction_add"), {
        "event": event.pk, "contact": anna.pk, "counterpart": anna.pk, "kind": "meeting", "quality": "6",
        **moment_fields("occurred_at", event.ends_at),
    }).context["adminform"].form
    assert (set(interaction.errors), interaction.non_field_errors()) == ({"counterpart", "quality"}, [])

    feedback = staff_client.post(reverse("admin:events_feedback_add"), {
        "event": event.pk, "contact": anna.pk, "nps": "11", "satisfaction": "0",
        **moment_fields("submitted_at", event.ends_at),
    }).context["adminform"].form
    assert (set(feedback.errors), feedback.non_field_errors()) == ({"nps", "satisfaction"}, [])


@pytest.mark.parametrize(("typed", "taken"), [("2026-05-12", True), ("12.05.2026", True), ("12/05/2026", False)])
def test_an_english_date_is_iso_or_day_first_never_month_first(staff_client, typed, taken):
    """12/05/2026 is 12 May to a European agency and 5 December to Django's US English: refused, not guessed."""
    response = staff_client.post(reverse("admin:events_event_add"), {
        "name": "Summit", "kind": "conference", "format": "in_person", "status": "planned", "currency": "EUR",
        "starts_at_0": typed, "starts_at_1": "09:00", "ends_at_0": typed, "ends_at_1": "17:00",
        **{f"{inline}-{count}": "0" for inline in ("attendances", "interactions") for count in ("TOTAL_FORMS", "INITIAL_FORMS")},
    })
    if taken:
        assert response.status_code == 302
        assert timezone.localtime(Event.objects.get().starts_at).date().isoformat() == "2026-05-12"
    else:
        assert "starts_at" in response.context["adminform"].form.errors
        assert not Event.objects.exists()


def test_who_may_only_view_users_sees_who_is_who_and_nothing_of_their_accounts(sales_client, superuser):
    listed = sales_client.get(reverse("admin:auth_user_changelist"))
    assert listed.status_code == 200
    assert "superuser status" not in listed.content.decode().lower()

    page = sales_client.get(reverse("admin:auth_user_change", args=[superuser.pk])).content.decode()
    assert superuser.username in page
    for secret in ("pbkdf2", "algorithm", "Superuser status", "Last login", "User permissions"):
        assert secret not in page, secret


def test_the_contact_picker_lists_names_starting_with_the_term_first(sales_client):
    Contact.objects.create(email="anna.k@x.de", first_name="Klaus", last_name="Adams")  # e-mail starts with it
    Contact.objects.create(email="z@x.de", first_name="Zoe", last_name="Annabell")  # last name starts with it
    Contact.objects.create(email="b@x.de", first_name="Anna", last_name="Zimmer")  # first name starts with it
    Contact.objects.create(email="c@x.de", first_name="Marianna", last_name="Bauer")  # inside a name

    response = sales_client.get(reverse("admin:autocomplete"), {
        "app_label": "contacts", "model_name": "followup", "field_name": "contact", "term": "anna"})

    assert [row["text"].split(" <")[0] for row in response.json()["results"]] == [
        "Zoe Annabell", "Anna Zimmer", "Klaus Adams", "Marianna Bauer"]


@pytest.mark.parametrize(("language", "typed", "stored"), [
    ("de", "1234,56", Decimal("1234.56")), ("de", "1.234,56", Decimal("1234.56")), ("de", "12.500", Decimal("12500")),
    ("de", "1.23,4", None), ("de", "0.350", None), ("de", "012.500", None),  # 0.350 and 12.500: three decimals
    ("en", "1234.56", Decimal("1234.56")), ("en", "1,234.56", Decimal("1234.56")), ("en", "1234,56", None),
    ("en", "0,350", None),
])
def test_money_is_typed_as_the_language_writes_it(staff_client, language, typed, stored):
    """A number input in a browser of another locale dropped a German decimal comma (1234,56 saved
    as 123456): money and the other decimals are text read in the admin's language, or refused."""
    staff_client.cookies["django_language"] = language
    page = staff_client.get(reverse("admin:events_event_add")).content.decode()
    assert 'type="text" name="cost"' in page
    response = staff_client.post(reverse("admin:events_event_add"), {
        "name": "Summit", "kind": "conference", "format": "in_person", "status": "planned", "currency": "EUR",
        "starts_at_0": "2026-05-12", "starts_at_1": "09:00", "ends_at_0": "2026-05-12", "ends_at_1": "17:00",
        "cost": typed,
        **{f"{inline}-{count}": "0" for inline in ("attendances", "interactions") for count in ("TOTAL_FORMS", "INITIAL_FORMS")},
    })
    if stored is None:
        assert "cost" in response.context["adminform"].form.errors
        assert not Event.objects.exists()
    else:
        assert response.status_code == 302
        assert Event.objects.get().cost == stored


def test_a_second_attendance_or_answer_of_a_contact_is_an_error_at_the_contact(staff_client, two_contacts_at_a_past_event):
    event, anna, _ = two_contacts_at_a_past_event
    Attendance.objects.create(event=event, contact=anna, status="attended")
    Feedback.objects.create(event=event, contact=anna, nps=9, submitted_at=event.ends_at)
    attendance = staff_client.post(reverse("admin:events_attendance_add"), {
        "event": event.pk, "contact": anna.pk, "role": "attendee", "status": "registered", "source": "", "external_id": "",
    }).context["adminform"].form
    feedback = staff_client.post(reverse("admin:events_feedback_add"), {
        "event": event.pk, "contact": anna.pk, "nps": "7", **moment_fields("submitted_at", event.ends_at),
    }).context["adminform"].form
    for form in (attendance, feedback):
        assert (list(form.errors), form.non_field_errors()) == (["contact"], [])
    assert (Attendance.objects.count(), Feedback.objects.count()) == (1, 1)
