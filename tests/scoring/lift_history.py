"""Hand-built histories for the lift against matched non-attendees (tests/scoring/test_matched_lift.py,
tests/browser/test_matched_lift_ui.py), small enough to work out the lift by hand.

Written with the ORM directly (not through services), as tests/scoring/validity_history.py's.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from contacts.models import Contact, FollowUp, Organization
from events.models import Event, Interaction
from tests.scoring.validity_history import attend, completed_event, positive_follow_up

EARLY = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)  # when the contacts were created
SUMMIT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)  # the event's start; it ends 9 hours later


def person(name: str, organization: Organization | None = None, **fields) -> Contact:
    return Contact.objects.create(email=f"{name.lower()}@client.example", first_name=name, organization=organization,
                                  created_at=fields.pop("created_at", EARLY), **fields)


@dataclass
class Lift:
    event: Event
    people: dict[str, Contact] = field(default_factory=dict)

    def id(self, name: str) -> int:
        return self.people[name].pk


def known_effect() -> Lift:
    """Six attendees of the summit and three non-attendees, all without history unless said.

    Strata (stage before, organization size): A1, A6 and C1 have no organization; A2 and C2 are
    each alone in their organization (size 1); A3 and C3 share "Mid" (size 2, bucket 2–9).
    A4 attended a dinner in January (stage socialization before; no non-attendee is): no
    candidate. A5 had two positive follow-ups a week before (score about 22; its stratum's only
    candidate C1 scores 0): outside the caliper. Late (created after the start) and Erased, both
    with lower ids than C1 and a score of 0 in C1's stratum, may not be controls.

    After the summit (90 days): everyone attended ends_at; A2 also met someone at it (an hour
    before its end); A3 got a positive follow-up for it a day after; C1 a neutral follow-up
    30 days after (not for the summit). Nothing else happens.
    """
    people = {"Late": person("Late", created_at=SUMMIT + timedelta(days=20)),
              "Erased": person("Erased", erased_at=datetime(2025, 5, 1, tzinfo=UTC))}
    solo_a, solo_c = Organization.objects.create(name="Solo A"), Organization.objects.create(name="Solo C")
    mid = Organization.objects.create(name="Mid")
    people |= {"C1": person("C1"), "C2": person("C2", solo_c), "C3": person("C3", mid),
               "A1": person("A1"), "A2": person("A2", solo_a), "A3": person("A3", mid), "A4": person("A4"),
               "A5": person("A5"), "A6": person("A6")}
    summit = completed_event("Summit", SUMMIT)
    dinner = completed_event("January dinner", datetime(2025, 1, 20, 18, 0, tzinfo=UTC), hours=3)
    p = people
    attend(summit, p["A1"], p["A2"], p["A3"], p["A4"], p["A5"], p["A6"])
    attend(dinner, p["A4"])
    for _ in range(2):
        positive_follow_up(p["A5"], None, SUMMIT - timedelta(days=7))
    Interaction.objects.create(event=summit, contact=p["A2"], kind="meeting", occurred_at=summit.ends_at - timedelta(hours=1))
    positive_follow_up(p["A3"], summit, summit.ends_at + timedelta(days=1))
    FollowUp.objects.create(contact=p["C1"], channel="phone", status="done", outcome="neutral",
                            completed_at=summit.ends_at + timedelta(days=30))
    return Lift(event=summit, people=people)
