"""Hand-built histories for the fitted profile (scoring/services/fitting.py).

Written with the ORM directly, as tests/scoring/validity_history.py: the fit reads raw rows only.
"""

import random
from datetime import UTC, datetime, timedelta

from contacts.models import Contact, FollowUp
from events.models import Attendance, EventSeries, Interaction
from tests.scoring.validity_history import History, attend, completed_event

FIRST_EDITION = datetime(2020, 1, 15, 9, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


def networking_forum(contacts: int = 20, editions: int = 6, *, seed: int = 7) -> History:
    """A yearly forum where networking before an edition predicts who comes, and nothing else does.

    Everyone attended the first edition. Before each later edition, 20 days before it starts,
    every contact has a neutral done follow-up, and a random half (fixed by `seed`) also has three
    long, top-quality meetings at an online meetup; exactly those attend the edition. So as of just
    before an edition, dialogue and recency are the same for everyone (care and advocacy are 0),
    the networking component is highest for those who come, and the attendance component only
    reflects who happened to come before and who spoke at a dinner 40 days before (a random quarter).
    """
    chooser = random.Random(seed)
    series = EventSeries.objects.create(name="Networking Forum")
    people = Contact.objects.bulk_create(Contact(email=f"n{n}@forum.example") for n in range(contacts))
    held = [completed_event(f"Forum {year}", FIRST_EDITION + year * YEAR, series=series) for year in range(editions)]
    attend(held[0], *people)
    for edition in held[1:]:
        before = edition.starts_at - timedelta(days=20)
        meetup = completed_event(f"Online meetup {edition.starts_at.year}", before - timedelta(hours=2), hours=3)
        networkers = chooser.sample(people, contacts // 2)
        FollowUp.objects.bulk_create(
            FollowUp(contact=person, channel="email", status="done", outcome="neutral", completed_at=before)
            for person in people
        )
        Interaction.objects.bulk_create(
            Interaction(event=meetup, contact=person, kind="meeting", occurred_at=before, quality=5, duration_minutes=60)
            for person in networkers for _meeting in range(3)
        )
        attend(edition, *networkers)
        # Noise for the attendance component: a random quarter spoke at a dinner 40 days before.
        dinner = completed_event(f"Partner dinner {edition.starts_at.year}", edition.starts_at - timedelta(days=40), hours=4)
        Attendance.objects.bulk_create(
            Attendance(event=dinner, contact=person, status="attended", role="speaker")
            for person in chooser.sample(people, contacts // 4)
        )
    return History(series=series, editions=held, people={person.email: person for person in people})
