"""Every admin page opens, and no changelist or change page runs a query per row."""

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape

from contacts.models import Contact, FollowUp, Organization, Referral
from contacts.selectors import contact_timeline
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from scoring.models import ContactScore, EventMetrics, ScoreSnapshot, ScoringProfile

pytestmark = pytest.mark.django_db

MODELS = [
    Contact, Organization, FollowUp, Referral,
    Event, EventSeries, Attendance, Interaction, Feedback,
    ContactScore, ScoreSnapshot, EventMetrics, ScoringProfile,
]


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def query_count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_changelist_and_change_page_open(admin_client, agency, model):
    response = admin_client.get(changelist_url(model))
    assert response.status_code == 200
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the test agency has no {model.__name__}"
    response = admin_client.get(change_url(obj), follow=True)  # event metrics: read on their event's page
    assert response.status_code == 200


@pytest.mark.parametrize("model", [Contact, FollowUp, Event, Attendance, Interaction, Feedback, Referral, Organization,
                                   EventSeries], ids=lambda model: model.__name__)
def test_add_pages_open(admin_client, agency, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    assert admin_client.get(url).status_code == 200


def test_history_pages_open(admin_client, agency):
    contact = agency.contacts[0]
    follow_up = contact.followups.first()
    for obj in (contact, follow_up):
        obj.save()  # a version to list
        url = reverse(f"admin:contacts_{obj._meta.model_name}_history", args=[obj.pk])
        page = admin_client.get(url)
        assert page.status_code == 200
        assert b'id="change-history"' in page.content
        assert b"Change reason" not in page.content  # nothing sets one: the column read "None" on every row


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_changelist_queries_do_not_grow_with_rows(admin_client, superuser, make_agency, model):
    agency = make_agency(5, owner=superuser)
    url = changelist_url(model)
    admin_client.get(url)  # warm caches (content types, sessions) so both counts measure the same work
    small = query_count(admin_client, url)

    make_agency(25, offset=5, agency=agency, owner=superuser)
    large = query_count(admin_client, url)

    rows = model._default_manager.count()
    assert rows >= 30 or model in (EventSeries, ScoringProfile)
    # Session, user, count, page of rows (related objects joined), filters' choices: the same
    # queries for 5 rows as for 30.
    assert large == small, f"{model.__name__}: {small} queries for 5 rows, {large} for 30"


@pytest.mark.parametrize("filters", [
    "?stage=growth", "?stage=none", "?churn_risk=low", "?owner=me", "?owner=none", "?erased=no", "?q=person1",
    "?do_not_contact__exact=0",
])
def test_contact_filters(admin_client, agency, filters):
    response = admin_client.get(changelist_url(Contact) + filters)
    assert response.status_code == 200
    assert "Incorrect lookup" not in response.content.decode()


def test_contact_search_finds_a_tag_in_any_case(admin_client, agency):
    tagged = Contact.objects.create(email="tagged@client.example", last_name="Tagged", tags=["Key-Account"])
    Contact.objects.create(email="other@client.example", last_name="Other", tags=["key-accounts"])

    response = admin_client.get(changelist_url(Contact) + "?q=key-account")

    assert [contact.pk for contact in response.context["cl"].result_list] == [tagged.pk]


def test_contact_series_filter_finds_attendees_of_the_series(admin_client, agency):
    outsider = Contact.objects.create(email="outsider@client.example", last_name="Outsider")
    response = admin_client.get(changelist_url(Contact) + f"?series={agency.series.pk}")
    shown = {contact.pk for contact in response.context["cl"].result_list}
    assert shown == {contact.pk for contact in agency.contacts}
    assert outsider.pk not in shown


@pytest.mark.parametrize(("due", "expected"), [("overdue", 3), ("week", 0), ("open", 3)])
def test_follow_up_due_filter(admin_client, agency, due, expected):
    # In the agency, even-numbered contacts' follow-ups are planned and a day overdue; odd ones are done.
    response = admin_client.get(changelist_url(FollowUp) + f"?due={due}")
    assert response.status_code == 200
    assert response.context["cl"].result_count == expected


def test_event_filters_and_date_hierarchy(admin_client, agency):
    past = agency.past_event
    for query in (f"?event={past.pk}", "?status__exact=completed", "?when=upcoming",
                  f"?starts_at__year={past.starts_at.year}"):
        url = changelist_url(Attendance if query.startswith("?event=") else Event) + query
        assert admin_client.get(url).status_code == 200, query
    response = admin_client.get(changelist_url(Attendance) + f"?event={past.pk}")
    assert response.context["cl"].result_count == 5


@pytest.mark.parametrize("url", [
    changelist_url(Contact) + "?series=%C2%B2", changelist_url(Contact) + "?owner=%C2%B2",
    changelist_url(Attendance) + "?event=%C2%B2", changelist_url(Attendance) + "?event=%D9%A1",
    "/admin/ror/worklist/?page=%C2%B2", "/admin/ror/worklist/?owner=%C2%B2",
    "/admin/ror/worklist/log/?contact=%C2%B2", "/admin/ror/worklist/log/?follow_up=%D9%A1",
])
def test_id_parameters_in_digits_other_than_ascii_are_ignored(admin_client, agency, url):
    # "²".isdigit() is true and int("²") an error: these were server errors.
    assert admin_client.get(url).status_code == 200, url


def page_queries(client, url) -> int:
    client.get(url)
    return query_count(client, url)


def test_event_change_page_queries_do_not_grow_with_inline_rows(admin_client, superuser, make_agency):
    agency = make_agency(5, owner=superuser)
    url = change_url(agency.past_event)
    small = page_queries(admin_client, url)
    make_agency(25, offset=5, agency=agency, owner=superuser)
    assert agency.past_event.attendances.count() == 30
    large = page_queries(admin_client, url)
    assert large == small, f"{small} queries with 5 attendances and interactions, {large} with 30"


def test_contact_change_page_queries_do_not_grow_with_inline_rows(admin_client, superuser, make_agency):
    agency = make_agency(3, owner=superuser)
    contact = agency.contacts[0]
    url = change_url(contact)
    small = page_queries(admin_client, url)
    # 25 more events this contact attended, with follow-ups and feedback.
    more = make_agency(25, offset=3, agency=agency, owner=superuser)
    for event in more.events[-25:]:
        Attendance.objects.create(event=event, contact=contact, status="attended")
        FollowUp.objects.create(contact=contact, event=event, owner=superuser)
        Feedback.objects.create(event=event, contact=contact, nps=9)
    large = page_queries(admin_client, url)
    assert large == small, f"{small} queries before, {large} with 25 more rows in each inline"


def test_large_event_links_to_the_attendance_list_instead_of_an_inline(admin_client, superuser, make_agency):
    agency = make_agency(61, owner=superuser)
    response = admin_client.get(change_url(agency.past_event))
    body = response.content.decode()
    assert "This event has 61 attendances" in body
    assert f"?event={agency.past_event.pk}" in body
    assert not any(formset.opts.model is Attendance for formset in response.context["inline_admin_formsets"])


def test_contact_page_shows_breakdown_history_timeline_and_gdpr(admin_client, agency):
    contact = agency.contacts[0]
    response = admin_client.get(change_url(contact))
    body = response.content.decode()
    breakdown = response.context["breakdown"]
    # Default profile v1 weights (DOMAIN.md): attendance 0.30 × 0.6 × 100 = 18 points.
    attendance = next(row for row in breakdown["rows"] if row["name"] == "attendance")
    assert attendance["weight"] == pytest.approx(0.30)
    assert attendance["points"] == pytest.approx(18.0)
    assert breakdown["chart"].count('class="ror-bar"') == 6
    assert "ror-line-chart" in body  # score history from the two snapshots
    kinds = {str(item.kind) for item in response.context["timeline"]}
    assert {"Event", "Interaction", "Follow-up", "Feedback", "Referral"} <= kinds
    timeline_times = [item.at for item in response.context["timeline"]]
    assert timeline_times == sorted(timeline_times, reverse=True)
    assert reverse("admin:contacts_contact_gdpr_export", args=[contact.pk]) in body
    assert reverse("admin:contacts_contact_erase", args=[contact.pk]) in body


def test_contact_page_timeline_is_the_api_timeline_with_referrals_naming_the_contact(admin_client, agency):
    anna, ben = agency.contacts[:2]
    Referral.objects.create(referrer=ben, referred=anna)

    items = admin_client.get(change_url(anna)).context["timeline"]
    entries = contact_timeline(anna, limit=50, referrals_received=True)

    assert [(item.at, item.url) for item in items] == [
        (entry.at, reverse(f"admin:{entry.record._meta.app_label}_{entry.record._meta.model_name}_change",
                           args=[entry.id])) for entry in entries
    ]
    titles = {str(item.title) for item in items if str(item.kind) == "Referral"}
    assert f"Referred by {ben}" in titles
    assert f"Referred friend{anna.pk}@client.example" in titles
    # The API lists the referrals the contact made, not those naming it.
    api_referrals = [entry for entry in contact_timeline(anna, limit=50) if entry.type == "referral"]
    assert [entry.record.referrer_id for entry in api_referrals] == [anna.pk]


def test_a_deal_on_the_timeline_names_its_currency(admin_client, agency):
    anna = agency.contacts[0]
    FollowUp.objects.create(contact=anna, event=agency.past_event, status="done", completed_at=timezone.now(),
                            deal_status="open", deal_value=5000)
    details = [str(item.detail) for item in admin_client.get(change_url(anna)).context["timeline"]]
    assert any(f"Open 5,000 {agency.past_event.currency}" in detail for detail in details), details
    listing = admin_client.get(reverse("admin:contacts_followup_changelist"), {"contact__id__exact": anna.pk})
    assert f"5,000 {agency.past_event.currency}" in listing.content.decode()  # the follow-up list too


@pytest.mark.parametrize(("model", "moment"), [("events_feedback", "submitted_at"), ("contacts_referral", "created_at")])
def test_feedback_and_referral_lists_write_short_dates_like_the_other_lists(admin_client, agency, model, moment):
    from django.utils import translation
    from django.utils.formats import date_format

    row = (Feedback if model == "events_feedback" else Referral).objects.first()
    body = admin_client.get(reverse(f"admin:{model}_changelist"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    local = timezone.localtime(getattr(row, moment))
    with translation.override("de"):
        assert date_format(local, "SHORT_DATETIME_FORMAT") in body
        # the long form is the short one (not Django's "26. Oktober 2026 16:08" beside 26.10.2026)
        assert date_format(local, "DATETIME_FORMAT") == local.strftime("%d.%m.%Y %H:%M")


def test_contact_page_without_score_says_so(admin_client, db):
    contact = Contact.objects.create(email="new@client.example")
    response = admin_client.get(change_url(contact))
    assert response.status_code == 200
    assert "Not scored yet" in response.content.decode()


def test_event_page_shows_metrics_or_not_computed(admin_client, agency):
    body = admin_client.get(change_url(agency.past_event)).content.decode()
    assert "Return on Relationship" in body
    assert "75 %" in body  # CRR vs previous edition
    assert "+30" in body  # NPS
    assert "+4.2" in body  # relationship lift
    body = admin_client.get(change_url(agency.next_event)).content.decode()
    assert "Not computed yet" in body


REGISTERED_ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED_ADMINS,
                         ids=[model._meta.label for model, _ in REGISTERED_ADMINS])
def test_every_changelist_opens_with_filter_counts(admin_client, agency, model, model_admin):
    # "Show counts" in the filter sidebar (?_facets=True) runs every list filter once per
    # choice with that choice as its value: a choice that queryset() cannot read is a 500.
    response = admin_client.get(changelist_url(model) + "?_facets=True")
    assert response.status_code == 200, f"{model._meta.label}: {response.status_code}"
    assert response.context["cl"].add_facets


def test_contact_series_filter_counts_its_attendees(admin_client, agency):
    Contact.objects.create(email="outsider@client.example", last_name="Outsider")
    for query in ("?_facets=True", f"?series={agency.series.pk}&_facets=True"):
        cl = admin_client.get(changelist_url(Contact) + query).context["cl"]
        series_filter = next(spec for spec in cl.filter_specs if spec.parameter_name == "series")
        choices = {choice["display"]: choice["selected"] for choice in series_filter.choices(cl)}
        # The five contacts of the agency attended the summit; the outsider did not.
        assert choices[f"{agency.series.name} (5)"] is ("series=" in query), query


def test_event_page_counts_the_nps_answers_beside_the_nps(admin_client, agency):
    # The agency's five feedback rows all carry an NPS; two more answered only satisfaction.
    for index in range(2):
        contact = Contact.objects.create(email=f"no-nps{index}@client.example")
        Feedback.objects.create(event=agency.past_event, contact=contact, satisfaction=7)
    EventMetrics.objects.filter(event=agency.past_event).update(feedback_count=7)
    rows = dict(admin_client.get(change_url(agency.past_event)).context["metrics_rows"])
    assert rows["NPS (answers)"] == "+30 (5)"
    assert rows["Feedback answers"] == "7"  # the metric itself: every feedback row (DOMAIN.md)


def test_event_page_rounds_half_away_from_zero_as_the_dashboard(admin_client, agency):
    EventMetrics.objects.filter(event=agency.past_event).update(
        ror_percent=247.9, series_retention_rate=28.65, relationship_lift=16.75, nps=12.5, returning_share=0.125,
    )
    response = admin_client.get(change_url(agency.past_event))
    headline = {tile["label"]: tile["value"] for tile in response.context["metrics_headline"]}
    rows = dict(response.context["metrics_rows"])
    assert headline["RoR %"] == "248 %"
    assert headline["CRR vs previous edition"] == "29 %"
    assert headline["Relationship lift"] == "+16.8"
    assert headline["NPS"] == "+13"
    assert headline["Returning share"] == "13 %"
    assert rows["RoR % = (won − cost) / cost × 100"] == "247.9 %"
    assert rows["Series retention rate (CRR)"].startswith("28.7 %")
    listed = admin_client.get(changelist_url(EventMetrics)).content.decode()
    assert '<td class="field-lift">+16.8</td>' in listed  # the list writes the lift as the page does


def test_the_contact_page_costs_the_same_queries_for_few_and_many_rows(admin_client, django_user_model):
    """Summary, timeline page and related counts: a fixed number of queries, whatever the history."""
    from django.utils import timezone

    def page_queries(rows: int) -> int:
        contact = Contact.objects.create(email=f"busy{rows}@client.example", first_name="Busy")
        now = timezone.now()
        for n in range(rows):
            event = Event.objects.create(name=f"E{rows}-{n}", starts_at=now, ends_at=now)
            Attendance.objects.create(event=event, contact=contact, status="attended")
            Interaction.objects.create(event=event, contact=contact, kind="meeting", occurred_at=now)
            FollowUp.objects.create(contact=contact, event=event, status="planned", due_at=now)
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(f"/admin/contacts/contact/{contact.pk}/change/")
        assert response.status_code == 200
        return len(captured)

    assert page_queries(2) == page_queries(30)


def test_the_event_and_contact_pages_write_numbers_as_the_language_does(admin_client, agency):
    """German groups thousands with "." and writes decimals with ","; English the other way round."""
    english = admin_client.get(change_url(agency.past_event)).content.decode()
    assert "60,000.00 EUR" in english  # won value
    assert "+4.2" in english  # relationship lift

    admin_client.cookies["django_language"] = "de"
    german = admin_client.get(change_url(agency.past_event)).content.decode()
    assert "60.000,00 EUR" in german
    assert "+4,2" in german
    assert "60,000.00" not in german
    contact = agency.contacts[0]
    contact_page = admin_client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert re.search(r"\d+,\d von \d+ Pkt\.", contact_page)  # the breakdown's bars


def test_the_event_lists_registrations_are_the_events_registered(staff_client):
    """As the RoR panel counts them: registered, attended or no-show; not invited, waitlisted or cancelled."""
    now = timezone.now()
    event = Event.objects.create(name="Summit", starts_at=now - timedelta(hours=8), ends_at=now - timedelta(hours=1))
    for index, status in enumerate(["registered", "attended", "no_show", "invited", "waitlisted", "cancelled"]):
        Attendance.objects.create(event=event, contact=Contact.objects.create(email=f"p{index}@x.de"), status=status)

    response = staff_client.get(reverse("admin:events_event_changelist"))

    assert [row.registration_count for row in response.context["cl"].result_list] == [3]


@pytest.mark.parametrize("model", [FollowUp, Attendance, Interaction, Feedback, Referral])
def test_event_columns_put_the_day_before_the_name(admin_client, agency, model):
    # Editions of a series share a long name, which a narrow cell cuts: the day tells them apart.
    row = model.objects.exclude(event=None).select_related("event").order_by("pk").first() or pytest.skip("no row")
    day = date_format(timezone.localtime(row.event.starts_at), "SHORT_DATE_FORMAT")

    page = admin_client.get(changelist_url(model)).content.decode()

    assert f'<td class="field-event_column">{day} · {escape(row.event.name)}</td>' in page


def test_deleting_a_contact_points_to_erasure_and_an_organization_says_its_contacts_stay(admin_client, agency):
    contact = agency.contacts[0]
    page = admin_client.get(reverse("admin:contacts_contact_delete", args=[contact.pk])).content.decode()
    assert reverse("admin:contacts_contact_erase", args=[contact.pk]) in page
    assert "erase the personal data" in page

    organization = Organization.objects.create(name="Stays Ltd")
    Contact.objects.filter(pk=contact.pk).update(organization=organization)
    page = admin_client.get(reverse("admin:contacts_organization_delete", args=[organization.pk])).content.decode()
    assert "Its 1 contact stays, without an organization." in page
