"""Customer lifetime value (docs/clv.md): the BG/BB fit against the lifetimes library on the same
data, expected attendances worked out by hand, the editions ahead, the value per attendance, the
per-contact write (set-based), the seed's ROI per event, and where it shows (API, admin)."""

import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.formats import number_format
from django.utils.translation import override
from rest_framework.test import APIClient

from contacts.models import Contact, FollowUp
from events.models import Attendance, Event, EventSeries
from partners.models import PartnerAPIKey
from ror_crm.env import env_float
from scoring.models import ClvModel, ContactLifetimeValue, EventMetrics
from scoring.services import compute_event_metrics, recompute_contacts
from scoring.services.bgbb import probability_alive
from scoring.services.clv import (
    BgBbParameters,
    ClvFitError,
    clv_ror_percent,
    expected_attendances,
    fit_bgbb,
    fit_clv,
    future_editions,
    load_histories,
    main_currency,
    refit_clv,
    value_per_attendance,
    write_contact_clv,
)
from scoring.signals import event_metrics_updated

with warnings.catch_warnings():  # lifetimes sets a pandas option that pandas 3 deprecates, on import
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoBetaBinomFitter
    from lifetimes.datasets import load_donations

T = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)
RELATIVE = 1e-3


def edition(series: EventSeries | None, starts_at: datetime, *, status: str = "completed", currency: str = "EUR",
            cost: Decimal | None = None, name: str = "Edition") -> Event:
    return Event.objects.create(
        name=name, series=series, starts_at=starts_at, ends_at=starts_at + timedelta(hours=8), status=status,
        completed_at=starts_at + timedelta(hours=9) if status == "completed" else None, currency=currency, cost=cost,
        created_at=starts_at - timedelta(days=90),
    )


def attend(contact: Contact, *events: Event, status: str = "attended") -> None:
    Attendance.objects.bulk_create([Attendance(event=event, contact=contact, status=status) for event in events])


# The model against the library ------------------------------------------------------------

def test_the_fit_matches_lifetimes_on_the_donations_data():
    """Fader, Hardie & Shang's 11,104 donors (shipped with lifetimes): the same parameters, the same
    conditional expectations, and the paper's figures (α 1.204, β 0.750, γ 0.657, δ 2.783, LL −33,225.6)."""
    data = load_donations()
    ours = fit_bgbb(list(zip(data.frequency, data.recency, data.periods, data.weights, strict=True)))
    theirs = BetaGeoBetaBinomFitter().fit(data.frequency, data.recency, data.periods, weights=data.weights)

    assert ours.values == pytest.approx(tuple(theirs.params_[["alpha", "beta", "gamma", "delta"]]), rel=RELATIVE)
    assert ours.values == pytest.approx((1.204, 0.750, 0.657, 2.783), abs=1e-3)
    assert ours.log_likelihood == pytest.approx(-33225.6, abs=0.1)
    for future in (1, 5, 10):
        expected = expected_attendances(ours, data.frequency, data.recency, data.periods, future)
        library = theirs.conditional_expected_number_of_purchases_up_to_time(
            future, data.frequency, data.recency, data.periods)
        assert np.abs(expected - np.asarray(library)).max() < 1e-3


def simulated_series(seed: int = 7, contacts: int = 300, editions: int = 8) -> tuple[EventSeries, list[Event]]:
    """A series of `editions` completed editions half a year apart, and contacts who join at a random
    edition and then come back as BG/BB says (p ~ Beta(2, 3), θ ~ Beta(1, 6))."""
    rng = np.random.default_rng(seed)
    series = EventSeries.objects.create(name="Summit")
    first = T - timedelta(days=182 * editions - 10)
    events = [edition(series, first + timedelta(days=182 * index)) for index in range(editions)]
    people = Contact.objects.bulk_create([Contact(email=f"c{index}@example.com") for index in range(contacts)])
    rows = []
    for person in people:
        joined = int(rng.integers(0, editions))
        p, theta = rng.beta(2, 3), rng.beta(1, 6)
        rows.append(Attendance(event=events[joined], contact=person, status="attended"))
        for later in events[joined + 1:]:
            if rng.random() < theta:
                break
            if rng.random() < p:
                rows.append(Attendance(event=later, contact=person, status="attended"))
    Attendance.objects.bulk_create(rows)
    return series, events



@pytest.fixture(autouse=True)
def _no_fit_of_another_test(db):
    """Start from no CLV fit: a live worker of an earlier test may still finish its chained fit
    after that test's flush (the after-the-event run ends with one)."""
    ContactLifetimeValue.objects.all().delete()
    ClvModel.objects.all().delete()

@pytest.mark.django_db
def test_the_fit_matches_lifetimes_on_histories_read_from_the_database():
    simulated_series()
    histories = load_histories(T)
    repeat = histories.n >= 1
    ours = fit_bgbb(histories.grouped())
    theirs = BetaGeoBetaBinomFitter().fit(histories.x[repeat], histories.t_x[repeat], histories.n[repeat])
    assert ours.values == pytest.approx(tuple(theirs.params_[["alpha", "beta", "gamma", "delta"]]), rel=RELATIVE)

    # Per contact over the 3-year horizon: six editions ahead (every 182 days from the last one).
    fit = fit_clv(T)
    assert [len(dates) for dates in fit.editions_ahead.values()] == [6]
    contacts, plain, _discounted = fit.expected(histories)
    library = theirs.conditional_expected_number_of_purchases_up_to_time(6, histories.x, histories.t_x, histories.n)
    order = np.argsort(histories.contact_id)
    assert np.array_equal(contacts, histories.contact_id[order])  # one series: one history per contact
    assert np.abs(plain - np.asarray(library)[order]).max() < 1e-3


@pytest.mark.django_db
def test_histories_count_the_editions_completed_after_the_first_attended_one():
    series = EventSeries.objects.create(name="Dinner")
    events = [edition(series, T - timedelta(days=70 * (6 - index))) for index in range(6)]
    edition(series, T - 3 * DAY, status="cancelled")
    not_yet = edition(series, T - 2 * DAY, status="live")  # not completed by T: no opportunity yet
    other = edition(None, T - 50 * DAY)  # outside any series: no repeat opportunities
    regular, newcomer, absent = (Contact.objects.create(email=f"{name}@example.com") for name in ("r", "n", "a"))
    attend(regular, events[1], events[2], events[4], other, not_yet)
    attend(regular, events[5], status="no_show")
    attend(newcomer, events[5])
    attend(absent, events[0], status="registered")

    histories = load_histories(T)

    rows = {int(contact): (int(x), int(t_x), int(n)) for contact, x, t_x, n in zip(
        histories.contact_id, histories.x, histories.t_x, histories.n, strict=True)}
    # regular: first at edition 2 of 6; then 3 and 5 of the 4 editions after it; the last one 3rd.
    assert rows == {regular.pk: (2, 3, 4), newcomer.pk: (0, 0, 0)}
    assert histories.grouped() == [(2, 3, 4, 1)]  # only histories with an edition after the first


def test_expected_attendances_worked_out_by_hand():
    """α = β = γ = δ = 1. (x, t_x, n) = (1, 1, 1), one edition ahead: alive for sure after coming,
    E[p] = 2/3, stays alive with B(1,3)/B(1,2) = 2/3 → 4/9. (0, 0, 2), two ahead: L = 1/9 + 1/2 + 1/12
    = 25/36, P(alive) = (1/9)/(25/36) = 4/25, E[p] = 1/4, staying alive 3/4 then 3/5 → 4/25 · 1/4 · 27/20."""
    params = BgBbParameters(1.0, 1.0, 1.0, 1.0)
    assert expected_attendances(params, 1, 1, 1, 1)[0] == pytest.approx(4 / 9, abs=1e-12)
    assert probability_alive(params, 0, 0, 2)[0] == pytest.approx(4 / 25, abs=1e-12)
    assert expected_attendances(params, 0, 0, 2, 2)[0] == pytest.approx(27 / 500, abs=1e-12)
    assert expected_attendances(params, [1, 0], [1, 0], [1, 2], [0, 0]).tolist() == [0.0, 0.0]  # nothing ahead


def test_a_fit_without_repeat_opportunities_is_an_error():
    with pytest.raises(ClvFitError) as error:
        fit_bgbb([(0, 0, 0, 5)])
    assert error.value.code == "no_repeat_data"
    with pytest.raises(ValueError, match="0 ≤ x ≤ t_x ≤ n"):
        fit_bgbb([(3, 2, 4, 1)])


# Editions ahead and the value of an attendance --------------------------------------------

@pytest.mark.django_db
def test_editions_ahead_follow_the_cadence_and_the_planned_editions():
    yearly = EventSeries.objects.create(name="Yearly")
    for years_ago in (3, 2, 1):
        edition(yearly, T - timedelta(days=365 * years_ago))
    planned = EventSeries.objects.create(name="Planned")
    edition(planned, T - 200 * DAY)
    edition(planned, T + 40 * DAY, status="planned")
    ended = EventSeries.objects.create(name="Ended")
    edition(ended, T - 900 * DAY)
    edition(ended, T - 800 * DAY)  # cadence 100 days, silent for 8 cadences
    single = EventSeries.objects.create(name="Once")
    edition(single, T - 10 * DAY)
    edition(single, T + 10 * DAY, status="cancelled")

    ahead = future_editions(T, 3.0)

    # yearly: 365 days after the last one (due at T), then every 365 days up to T + 1,095.75 days
    assert ahead[yearly.pk] == [T, T + 365 * DAY, T + 730 * DAY, T + 1095 * DAY]
    # planned: the planned one, then every 240 days (its start minus the last one's) after it
    assert ahead[planned.pk] == [T + 40 * DAY + index * 240 * DAY for index in range(5)]
    assert ahead[ended.pk] == []
    assert ahead[single.pk] == []  # one edition: no cadence, and nothing planned


@pytest.mark.django_db
def test_value_per_attendance_is_won_value_over_attendances_per_currency():
    summit = edition(None, T - 100 * DAY, currency="EUR")
    dinner = edition(None, T - 50 * DAY, currency="EUR")
    zurich = edition(None, T - 40 * DAY, currency="CHF")
    after = edition(None, T + 5 * DAY, currency="EUR")  # completed after T
    people = [Contact.objects.create(email=f"p{index}@example.com") for index in range(6)]
    for person in people[:4]:
        attend(person, summit)
    for person in people[4:]:
        attend(person, dinner, after)
    attend(people[0], zurich)
    attend(people[5], summit, status="no_show")

    def deal(event, value, status="won", created=T - 10 * DAY):
        FollowUp.objects.create(contact=people[0], event=event, deal_value=Decimal(value), deal_status=status,
                                created_at=created)

    deal(summit, "10000.00")
    deal(dinner, "5000.00")
    deal(summit, "7000.00", status="open")
    deal(summit, "9000.00", status="lost")
    deal(dinner, "3000.00", created=T + DAY)  # not known as of T
    deal(after, "4000.00")
    deal(zurich, "900.50")

    values = value_per_attendance(T)

    assert values["EUR"].won_value == Decimal("15000.00")
    assert values["EUR"].attendances == 6
    assert values["EUR"].value_per_attendance == Decimal("2500.00")
    assert values["CHF"].value_per_attendance == Decimal("900.50")
    assert main_currency(values) == "EUR"  # most attendances


# The seed's ROI ---------------------------------------------------------------------------

def test_the_seed_worked_check_clv_2500_times_200_retained_at_cost_50000_is_900_percent():
    assert clv_ror_percent(Decimal("2500"), 200, Decimal("50000")) == 900.0
    assert clv_ror_percent(Decimal("2500"), 200, None) is None
    assert clv_ror_percent(Decimal("2500"), 200, Decimal("0")) is None
    assert clv_ror_percent(None, 200, Decimal("50000")) is None


def a_costed_edition_with_won_deals() -> tuple[list[Event], Event, Event]:
    """A simulated series whose last edition cost 20,000 and whose previous one won ten deals."""
    _series, events = simulated_series(seed=3, contacts=120, editions=6)
    event, previous = events[-1], events[-2]
    event.cost = Decimal("20000.00")
    event.save()
    for person in Contact.objects.all()[:10]:
        FollowUp.objects.create(contact=person, event=previous, deal_value=Decimal("4000.00"), deal_status="won",
                                created_at=T - 30 * DAY)
    return events, event, previous


@pytest.mark.django_db
def test_event_metrics_carry_the_clv_roi_of_the_retained_attendees():
    events, event, previous = a_costed_edition_with_won_deals()
    as_of = T + DAY

    metrics = compute_event_metrics(event.pk, as_of=as_of)

    here = set(Attendance.objects.filter(event=event, status="attended").values_list("contact_id", flat=True))
    before = set(Attendance.objects.filter(event=previous, status="attended").values_list("contact_id", flat=True))
    retained = here & before
    assert metrics.retained_attendees == len(retained) > 0
    fit = fit_clv(as_of)
    contacts, _plain, discounted = fit.expected(load_histories(as_of))
    per_contact = dict(zip(contacts.tolist(), discounted.tolist(), strict=True))
    value = fit.values["EUR"].value_per_attendance
    mean = sum(per_contact[contact] for contact in retained) / len(retained) * float(value)
    assert float(metrics.retained_clv) == pytest.approx(mean, abs=0.006)
    assert metrics.clv_ror_percent == pytest.approx(
        float((metrics.retained_clv * len(retained) - Decimal("20000")) / Decimal("20000") * 100))
    # the first edition has no previous one: no retained attendees, no CLV RoR
    first = compute_event_metrics(events[0].pk, as_of=as_of)
    assert (first.retained_attendees, first.retained_clv, first.clv_ror_percent) == (None, None, None)


@pytest.mark.django_db
def test_after_an_event_the_clv_fit_that_follows_the_metrics_fills_their_clv_figures(django_capture_on_commit_callbacks):
    """The event recompute stores the metrics without a fit of their own; the CLV fit chained after
    them gives the same figures as metrics computed with the CLV at once, and a webhook."""
    from scoring.tasks import recompute_event_task

    events, event, previous = a_costed_edition_with_won_deals()
    as_of = T + DAY
    at_once = compute_event_metrics(event.pk, as_of=as_of)
    expected = (at_once.retained_attendees, at_once.retained_clv, at_once.clv_ror_percent)
    assert expected[1] is not None

    without = compute_event_metrics(event.pk, as_of=as_of, clv=False)
    assert (without.retained_attendees, without.retained_clv, without.clv_ror_percent) == (expected[0], None, None)
    assert ClvModel.objects.count() == 0
    refit_clv(as_of=as_of, events=[event.pk])
    filled = EventMetrics.objects.get(event=event)
    assert (filled.retained_attendees, filled.retained_clv, filled.clv_ror_percent) == expected

    # metrics computed again for a later time are not overwritten by an older fit
    later = compute_event_metrics(event.pk, as_of=as_of + DAY, clv=False)
    refit_clv(as_of=as_of + DAY / 2, events=[event.pk])
    assert EventMetrics.objects.get(event=event).retained_clv is None
    assert later.retained_attendees == expected[0]

    # the whole chain, as after a completed event: the figures, and partners told twice
    told = []

    def receiver(sender, event_id, **kwargs):
        told.append((sender.name, event_id))

    event_metrics_updated.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            recompute_event_task.delay(event.pk, (as_of + 2 * DAY).isoformat())
    finally:
        event_metrics_updated.disconnect(receiver)
    chained = EventMetrics.objects.get(event=event)
    assert chained.computed_at == as_of + 2 * DAY
    assert chained.retained_clv is not None
    assert ClvModel.objects.order_by("-as_of").first().as_of == as_of + 2 * DAY
    assert told == [("scoring.compute_event_metrics", event.pk), ("scoring.fit_clv", event.pk)]

# Writing every contact's CLV ----------------------------------------------------------------

def two_editions_with(contacts: int, *, offset: int = 0) -> list[Contact]:
    series = EventSeries.objects.create(name=f"Series {offset}")
    first, second = edition(series, T - 300 * DAY), edition(series, T - 120 * DAY)
    people = Contact.objects.bulk_create([Contact(email=f"w{offset + index}@example.com") for index in range(contacts)])
    rows = [Attendance(event=first, contact=person, status="attended") for person in people]
    rows += [Attendance(event=second, contact=person, status="attended") for person in people[::2]]
    Attendance.objects.bulk_create(rows)
    FollowUp.objects.create(contact=people[0], event=first, deal_value=Decimal("1000.00"), deal_status="won",
                            created_at=T - 200 * DAY)
    return people


@pytest.mark.django_db
def test_refit_writes_every_contact_clv_in_a_fixed_number_of_queries():
    def queries_for(contacts: int, offset: int) -> tuple[int, ClvModel]:
        people = two_editions_with(contacts, offset=offset)
        people.append(Contact.objects.create(email=f"lonely{offset}@example.com"))  # no series history
        recompute_contacts([person.pk for person in people], as_of=T)
        with CaptureQueriesContext(connection) as captured:
            model = refit_clv(as_of=T + offset * timedelta(seconds=1), chunk_size=1000)
        return len(captured), model

    small, _model = queries_for(4, 0)
    large, model = queries_for(40, 100)
    assert small == large  # set-based: one read of the histories, one UPDATE per chunk

    assert model.currency == "EUR"
    assert model.contacts == 44
    lonely = ContactLifetimeValue.objects.get(score__contact__email="lonely100@example.com")
    assert (lonely.clv, lonely.expected_attendances, lonely.clv_currency) == (None, None, "")
    fit = fit_clv(model.as_of)
    contacts, plain, discounted = fit.expected(load_histories(model.as_of))
    stored = {row[0]: row[1:] for row in ContactLifetimeValue.objects.values_list(
        "score_id", "clv", "expected_attendances", "clv_currency")}
    for contact, expected, value in zip(contacts.tolist(), plain.tolist(), discounted.tolist(), strict=True):
        clv, attendances, currency = stored[contact]
        assert float(clv) == pytest.approx(value * float(model.value_per_attendance), abs=0.005 + 1e-9)
        assert attendances == pytest.approx(expected, abs=1e-6)
        assert currency == "EUR"
    # an older fit arriving late writes nothing: the later one stands
    assert refit_clv(as_of=T - DAY) is None
    write_contact_clv(contacts, plain, discounted * 0, Decimal("1.00"), "EUR", T - DAY, chunk_size=1000)
    assert ContactLifetimeValue.objects.filter(clv=0).count() == 0


@pytest.mark.django_db
def test_completing_an_event_fits_the_model_again_after_its_metrics(django_capture_on_commit_callbacks):
    from events import services as event_services

    people = two_editions_with(6)
    series = EventSeries.objects.get()
    now = datetime.now(UTC)
    third = Event.objects.create(name="Third", series=series, starts_at=now - timedelta(hours=9),
                                 ends_at=now - timedelta(hours=1))
    attend(people[0], third)
    recompute_contacts([person.pk for person in people], as_of=now)

    with django_capture_on_commit_callbacks(execute=True):  # the after-the-event run, in-process
        event_services.complete_event(third)

    model = ClvModel.objects.get()
    assert model.pairs == 6
    assert ContactLifetimeValue.objects.filter(clv__isnull=False, as_of=model.as_of).count() == 6
    assert EventMetrics.objects.get(event=third).retained_attendees == 1


@pytest.mark.services
def test_a_worker_fits_the_model_after_completing_an_event(live_worker):
    import time

    from events import services as event_services

    people = two_editions_with(4)
    series = EventSeries.objects.get()
    now = datetime.now(UTC)
    third = Event.objects.create(name="Third", series=series, starts_at=now - timedelta(hours=9),
                                 ends_at=now - timedelta(hours=1))
    attend(people[0], third)

    event_services.complete_event(third)  # commits; the chord runs on the worker, through Redis

    deadline = time.monotonic() + 60
    while not ClvModel.objects.exists():
        assert time.monotonic() < deadline, live_worker.log()[-3000:]
        time.sleep(0.2)
    model = ClvModel.objects.get()
    assert model.pairs == 4
    assert EventMetrics.objects.get(event=third).retained_attendees == 1
    # the contacts the event scored (its attendee, the previous edition's attendees) have their CLV
    assert ContactLifetimeValue.objects.filter(clv__isnull=False).count() == 2


@pytest.mark.django_db
def test_the_command_fits_and_says_so(capsys):
    two_editions_with(4)
    call_command("fit_clv", "--as-of", T.isoformat())
    output = capsys.readouterr().out
    assert "CLV model as of 2026-06-01T12:00:00+00:00" in output
    assert "Value per attendance 166.67 EUR" in output  # 1,000 won over 4 + 2 attendances
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("fit_clv", "--as-of", "yesterday")
    with pytest.raises(CommandError, match="offset"):
        call_command("fit_clv", "--as-of", "2026-06-01T12:00:00")


@pytest.mark.django_db
def test_without_repeat_data_there_is_no_model_and_no_clv(capsys):
    series = EventSeries.objects.create(name="New")
    person = Contact.objects.create(email="new@example.com")
    attend(person, edition(series, T - 10 * DAY))
    recompute_contacts([person.pk], as_of=T)
    ContactLifetimeValue.objects.create(score_id=person.pk, clv=Decimal("5.00"), clv_currency="EUR",
                                        as_of=T - DAY)  # stale

    assert refit_clv(as_of=T) is None

    assert ClvModel.objects.count() == 0
    assert not ContactLifetimeValue.objects.exists()


# Where it shows ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_scores_and_event_metrics_in_the_api_carry_the_clv_fields():
    people = two_editions_with(4)
    recompute_contacts([person.pk for person in people], as_of=T)
    refit_clv(as_of=T)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {PartnerAPIKey.objects.create_key(name='BI', can_read=True)[1]}")

    score = client.get(f"/api/v1/scores/{people[0].pk}/").json()

    stored = ContactLifetimeValue.objects.get(score_id=people[0].pk)
    assert score["clv"] == float(stored.clv)
    assert score["clv"] > 0
    assert score["clv_currency"] == "EUR"
    assert score["expected_attendances"] == pytest.approx(stored.expected_attendances)
    listed = client.get("/api/v1/scores/").json()["results"][0]
    assert {"clv", "clv_currency", "expected_attendances"} <= set(listed)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/scores/")
    more = two_editions_with(12, offset=50)
    recompute_contacts([person.pk for person in more], as_of=T)
    refit_clv(as_of=T + DAY)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/scores/").json()["results"]) == 16
    assert len(many) == len(few)  # the CLV comes with the scores, in the same query

    event = Event.objects.filter(series__isnull=False).order_by("-starts_at").first()
    compute_event_metrics(event.pk, as_of=T)
    metrics = client.get(f"/api/v1/events/{event.pk}/metrics/").json()
    assert metrics["retained_attendees"] == 2
    assert {"retained_clv", "clv_ror_percent"} <= set(metrics)

    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for name, fields in (("ContactScore", ("clv", "clv_currency", "expected_attendances")),
                         ("EventMetrics", ("retained_attendees", "retained_clv", "clv_ror_percent"))):
        for field in fields:
            assert schema[name]["properties"][field].get("description"), (name, field)


@pytest.mark.django_db
def test_the_contact_page_and_the_event_page_show_it(client, staff_user):
    people = two_editions_with(4)
    recompute_contacts([person.pk for person in people], as_of=T)
    refit_clv(as_of=T)
    event = Event.objects.filter(series__isnull=False).order_by("-starts_at").first()
    event.cost = Decimal("1000.00")
    event.save()
    compute_event_metrics(event.pk, as_of=T)
    client.force_login(staff_user)

    page = client.get(f"/admin/contacts/contact/{people[0].pk}/change/").content.decode()
    stored = ContactLifetimeValue.objects.get(score_id=people[0].pk).clv
    assert "Customer lifetime value" in page
    assert f"{stored:,.2f} EUR" in page  # English: 1,234.56
    event_page = client.get(f"/admin/events/event/{event.pk}/change/").content.decode()
    assert "CLV RoR %" in event_page
    assert "Mean CLV of the retained attendees" in event_page


def test_the_fit_reads_in_the_admin_rounded_named_and_with_its_currency(client, staff_user):
    people = two_editions_with(4)
    recompute_contacts([person.pk for person in people], as_of=T)
    model = refit_clv(as_of=T)
    series = EventSeries.objects.get()
    client.force_login(staff_user)
    client.cookies["django_language"] = "de"

    page = client.get(f"/admin/scoring/clvmodel/{model.pk}/change/").content.decode()
    listing = client.get("/admin/scoring/clvmodel/").content.decode()

    assert f"{series.name}: " in page  # the series by name, not by id
    assert "{&quot;" not in page  # no raw JSON
    assert " EUR" in page
    with override("de"):
        alpha = number_format(float(f"{model.alpha:.4g}"))
    assert alpha in listing
    assert alpha in page


def test_a_fit_with_a_currency_without_attendances_reads_too(client, staff_user):
    model = ClvModel.objects.create(
        fitted_at=T, as_of=T, alpha=1.0, beta=2.0, gamma=3.0, delta=4.0, log_likelihood=-12.5, pairs=3, contacts=2,
        series=1, currency="EUR", value_per_attendance=Decimal("10.00"), won_value=Decimal("20.00"), attendances=2,
        value_by_currency={"EUR": {"won_value": "20", "attendances": 2, "value_per_attendance": "10.00"},
                           "USD": {"won_value": "500", "attendances": 0, "value_per_attendance": None}},
        future_editions={"999": 2}, horizon_years=3.0, annual_discount_rate=0.1)
    client.force_login(staff_user)

    page = client.get(f"/admin/scoring/clvmodel/{model.pk}/change/")

    assert page.status_code == 200
    assert "10.00 EUR; — USD" in page.content.decode()
    assert "#999: 2" in page.content.decode()  # a series since deleted, by its id


def test_the_settings_read_numbers(monkeypatch):
    monkeypatch.setenv("CLV_TEST_NUMBER", "0.08")
    assert env_float("CLV_TEST_NUMBER", 0.0) == 0.08
    monkeypatch.setenv("CLV_TEST_NUMBER", "eight")
    with pytest.raises(ImproperlyConfigured, match="must be a number"):
        env_float("CLV_TEST_NUMBER", 0.0)
    monkeypatch.setenv("CLV_TEST_NUMBER", "nan")
    with pytest.raises(ImproperlyConfigured, match="finite"):
        env_float("CLV_TEST_NUMBER", 0.0)


def test_the_docs_define_it():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    docs = (root / "docs" / "clv.md").read_text()
    for term in ("BG/BB", "CLV_HORIZON_YEARS", "CLV_ANNUAL_DISCOUNT_RATE", "value per attendance", "900 %"):
        assert term in docs, term
    assert "docs/clv.md" in (root / "README.md").read_text()
