"""Personas and a small realistic agency for the admin tests.

The data is written with the ORM directly (bulk), not through services: it is the
setting of a test, and services would queue scoring for every row of a completed event.
Computed rows (scores, snapshots, metrics) are written as scoring would leave them.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from contacts.choices import DealStatus, FollowUpOutcome, FollowUpStatus
from contacts.models import Contact, FollowUp, Organization, Referral
from contacts.roles import AGENCY_STAFF, SALES
from events.choices import AttendanceRole, AttendanceStatus, EventStatus
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from scoring.models import ContactScore, EventMetrics, ScoreSnapshot

COMPONENTS = {"attendance": 0.6, "networking": 0.4, "dialogue": 0.3, "care": 0.5, "advocacy": 0.25, "recency": 0.8}


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@agency.example", "pw-root-123")


@pytest.fixture
def staff_user(django_user_model):
    user = django_user_model.objects.create_user("anna", "anna@agency.example", "pw-anna-123", is_staff=True)
    user.groups.add(Group.objects.get(name=AGENCY_STAFF))
    return user


@pytest.fixture
def sales_user(django_user_model):
    user = django_user_model.objects.create_user("sven", "sven@agency.example", "pw-sven-123", is_staff=True)
    user.groups.add(Group.objects.get(name=SALES))
    return user


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def sales_client(client, sales_user):
    client.force_login(sales_user)
    return client


@dataclass
class Agency:
    series: EventSeries
    past_event: Event  # completed, with metrics
    next_event: Event  # planned
    events: list[Event] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)


def build_agency(size: int, *, offset: int = 0, agency: Agency | None = None, owner=None) -> Agency:
    """`size` rows of every kind of object; call again with an offset to grow the same agency."""
    now = timezone.now()
    if agency is None:
        series = EventSeries.objects.create(name="Hamburg Summit")
        past = Event.objects.create(
            name="Hamburg Summit 2025", series=series, starts_at=now - timedelta(days=40, hours=8),
            ends_at=now - timedelta(days=40), status=EventStatus.COMPLETED, completed_at=now - timedelta(days=39),
            cost=Decimal("50000"), city="Hamburg",
        )
        upcoming = Event.objects.create(
            name="Hamburg Summit 2026", series=series, starts_at=now + timedelta(days=300),
            ends_at=now + timedelta(days=300, hours=8), city="Hamburg",
        )
        EventMetrics.objects.create(
            event=past, registered=10, attended=8, no_shows=2, no_show_rate=0.2, new_attendees=5, returning_attendees=3,
            returning_share=0.375, series_retention_rate=75.0, interactions_total=12, interactions_per_attendee=1.5,
            followups_total=6, followup_coverage=0.5, followed_up_within_48h_share=0.25, nps=30.0, feedback_count=5,
            pipeline_value=Decimal("10000"), won_value=Decimal("60000"), cost=Decimal("50000"), ror_percent=20.0,
            referrals=2, advocacy_index=0.25, relationship_lift=4.2, computed_at=now,
        )
        agency = Agency(series=series, past_event=past, next_event=upcoming, events=[past, upcoming])
    past = agency.past_event
    organizations = Organization.objects.bulk_create(
        [Organization(name=f"Org {i}", industry="Logistics", country="DE") for i in range(offset, offset + size)]
    )
    events = Event.objects.bulk_create([
        Event(name=f"Roadshow {i}", series=agency.series, starts_at=now - timedelta(days=400 + i),
              ends_at=now - timedelta(days=400 + i) + timedelta(hours=6), status=EventStatus.COMPLETED,
              completed_at=now - timedelta(days=399 + i), city="Berlin")
        for i in range(offset, offset + size)
    ])
    EventMetrics.objects.bulk_create([EventMetrics(event=event, attended=3, computed_at=now) for event in events])
    contacts = Contact.objects.bulk_create([
        Contact(email=f"person{i}@client.example", first_name=f"Person{i}", last_name="Muster",
                organization=organizations[i - offset], owner=owner, tags=["vip"], marketing_consent=i % 2 == 0)
        for i in range(offset, offset + size)
    ])
    ContactScore.objects.bulk_create([
        ContactScore(contact=contact, score=40 + i % 50, components=COMPONENTS, stage="growth", churn_risk="low",
                     events_attended=2, events_invited=3, events_registered=3, show_rate=1.0, last_touch_at=now,
                     computed_at=now, profile_version=1)
        for i, contact in enumerate(contacts)
    ])
    ScoreSnapshot.objects.bulk_create([
        ScoreSnapshot(contact=contact, score=30 + days, components=COMPONENTS, stage="growth",
                      computed_at=now - timedelta(days=days), trigger="event", trigger_event=past, profile_version=1)
        for contact in contacts for days in (1, 20)
    ])
    Attendance.objects.bulk_create([
        Attendance(event=past, contact=contact, role=AttendanceRole.ATTENDEE, status=AttendanceStatus.ATTENDED,
                   checked_in_at=past.starts_at, source="ticketing", external_id=f"T-{contact.pk}")
        for contact in contacts
    ])
    Interaction.objects.bulk_create([
        Interaction(event=past, contact=contact, counterpart=contacts[(i + 1) % len(contacts)] if len(contacts) > 1 else None,
                    kind="meeting", occurred_at=past.starts_at + timedelta(hours=2), duration_minutes=20, quality=4)
        for i, contact in enumerate(contacts)
    ])
    FollowUp.objects.bulk_create([
        FollowUp(contact=contact, event=past, owner=owner, channel="phone",
                 status=FollowUpStatus.DONE if i % 2 else FollowUpStatus.PLANNED,
                 completed_at=past.ends_at + timedelta(hours=20) if i % 2 else None,
                 due_at=now - timedelta(days=1) if i % 2 == 0 else now + timedelta(days=3),
                 outcome=FollowUpOutcome.POSITIVE if i % 2 else "", deal_status=DealStatus.OPEN,
                 deal_value=Decimal("1000"))
        for i, contact in enumerate(contacts)
    ])
    Feedback.objects.bulk_create([
        Feedback(event=past, contact=contact, nps=i % 11, satisfaction=1 + i % 10, submitted_at=past.ends_at)
        for i, contact in enumerate(contacts)
    ])
    Referral.objects.bulk_create([
        Referral(referrer=contact, referred_email=f"friend{contact.pk}@client.example", event=past)
        for contact in contacts
    ])
    agency.events.extend(events)
    agency.contacts.extend(contacts)
    return agency


@pytest.fixture
def agency(db) -> Agency:
    return build_agency(5)


@pytest.fixture
def make_agency(db):
    """build_agency() for tests that grow the data themselves."""
    return build_agency
