"""Hand-built histories for the score validity report: small enough to compute its figures by hand.

Written with the ORM directly (not through services): they are the setting of a test, and
services would queue scoring for every completed event. The report reads raw rows only.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from contacts.models import Contact, FollowUp
from events.models import Attendance, Event, EventSeries, Interaction

SPRING = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)  # the first edition's start
AUTUMN = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # the second edition's start


def completed_event(name: str, starts_at: datetime, *, series: EventSeries | None = None, hours: int = 9) -> Event:
    ends_at = starts_at + timedelta(hours=hours)
    return Event.objects.create(name=name, series=series, starts_at=starts_at, ends_at=ends_at,
                                status="completed", completed_at=ends_at + timedelta(hours=1))


def attend(event: Event, *people: Contact, status: str = "attended") -> None:
    Attendance.objects.bulk_create(Attendance(event=event, contact=person, status=status) for person in people)


def positive_follow_up(person: Contact, event: Event | None, completed_at: datetime) -> FollowUp:
    return FollowUp.objects.create(contact=person, event=event, channel="phone", status="done", outcome="positive",
                                   completed_at=completed_at)


@dataclass
class History:
    series: EventSeries
    editions: list[Event]
    people: dict[str, Contact] = field(default_factory=dict)


def six_contacts() -> History:
    """Six contacts attended the spring edition of the summit; A, C and D came to the autumn one.

    Before autumn: A had two positive follow-ups (one within 48 h of spring) and attended a
    dinner outside the series on 1 April; B had one positive follow-up within 48 h; C met
    someone at spring. D, E and F did nothing else, so they score the same.
    Autumn itself brings more (B registers and does not come, C meets someone there): nothing of
    it may count as of the moment before autumn started.
    """
    series = EventSeries.objects.create(name="Hamburg Summit")
    spring = completed_event("Summit spring", SPRING, series=series)
    autumn = completed_event("Summit autumn", AUTUMN, series=series)
    dinner = completed_event("CFO dinner", datetime(2026, 4, 1, 18, 0, tzinfo=UTC), hours=4)
    people = {name: Contact.objects.create(email=f"{name.lower()}@client.example") for name in "ABCDEF"}
    a, b, c, d, e, f = people.values()
    attend(spring, a, b, c, d, e, f)
    attend(dinner, a)
    attend(autumn, a, c, d)
    attend(autumn, b, status="no_show")
    positive_follow_up(a, spring, spring.ends_at + timedelta(days=1))
    positive_follow_up(a, None, datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
    positive_follow_up(b, spring, spring.ends_at + timedelta(days=1))
    Interaction.objects.create(event=spring, contact=c, kind="meeting", occurred_at=spring.starts_at + timedelta(hours=2))
    Interaction.objects.create(event=autumn, contact=c, kind="meeting", occurred_at=autumn.starts_at + timedelta(hours=2))
    return History(series=series, editions=[spring, autumn], people=people)


def three_editions() -> History:
    """Editions 1, 2 and 3 of a roadshow, 100 days from the end of one to the start of the next.

    P attended 1, 2 and 3; Q attended 1 and 3; R attended 2 only.
    """
    series = EventSeries.objects.create(name="CX Roadshow")
    first = completed_event("Roadshow 1", datetime(2025, 1, 1, 9, 0, tzinfo=UTC), series=series)
    second = completed_event("Roadshow 2", first.ends_at + timedelta(days=100), series=series)
    third = completed_event("Roadshow 3", second.ends_at + timedelta(days=100), series=series)
    people = {name: Contact.objects.create(email=f"{name.lower()}@roadshow.example") for name in "PQR"}
    p, q, r = people.values()
    attend(first, p, q)
    attend(second, p, r)
    attend(third, p, q)
    return History(series=series, editions=[first, second, third], people=people)


def score_loses() -> History:
    """Four contacts of spring: G and H, followed up within 48 h, did not come back; I and J,
    at a dinner on 1 April (and nothing else), did. The score ranks G and H higher: it loses
    to "days since last attendance", which ranks I and J higher."""
    series = EventSeries.objects.create(name="Partner Dinner")
    spring = completed_event("Partner spring", SPRING, series=series)
    autumn = completed_event("Partner autumn", AUTUMN, series=series)
    dinner = completed_event("Wine tasting", datetime(2026, 4, 1, 18, 0, tzinfo=UTC), hours=4)
    people = {name: Contact.objects.create(email=f"{name.lower()}@partner.example") for name in "GHIJ"}
    g, h, i, j = people.values()
    attend(spring, g, h, i, j)
    attend(dinner, i, j)
    attend(autumn, i, j)
    for person in (g, h):
        positive_follow_up(person, spring, spring.ends_at + timedelta(hours=20))
        positive_follow_up(person, None, datetime(2026, 4, 20, 10, 0, tzinfo=UTC))
    return History(series=series, editions=[spring, autumn], people=people)


def grown(contacts: int) -> History:
    """`contacts` attendees of spring with a follow-up each; every other one came to autumn."""
    series = EventSeries.objects.create(name=f"Forum of {contacts}")
    spring = completed_event("Forum spring", SPRING, series=series)
    autumn = completed_event("Forum autumn", AUTUMN, series=series)
    people = Contact.objects.bulk_create(Contact(email=f"p{n}@forum{contacts}.example") for n in range(contacts))
    attend(spring, *people)
    attend(autumn, *people[::2])
    FollowUp.objects.bulk_create(
        FollowUp(contact=person, channel="email", status="done", outcome="neutral",
                 completed_at=spring.ends_at + timedelta(days=n % 30 + 1))
        for n, person in enumerate(people)
    )
    return History(series=series, editions=[spring, autumn], people={person.email: person for person in people})
