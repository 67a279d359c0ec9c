"""The whole demo dataset as unsaved model instances: pure, no database access.

All randomness comes from one `random.Random(seed)` consumed in a fixed order, and nothing iterates
over a set whose order could change between processes, so the same (seed, contact count, reference
date) always yields the same rows, names and e-mail addresses.
"""

import random
from dataclasses import dataclass
from datetime import date

from django.db import models
from django.utils import timezone

from contacts.models import Contact, FollowUp, Organization, Referral
from events.demo import activity, events, people
from events.demo.base import Clock
from events.models import Attendance, Event, EventSeries, Feedback, Interaction

DEFAULT_SEED = 20240611


@dataclass
class DemoPlan:
    organizations: list[Organization]
    contacts: list[Contact]
    series: list[EventSeries]
    events: list[Event]
    attendances: list[Attendance]
    interactions: list[Interaction]
    follow_ups: list[FollowUp]
    feedback: list[Feedback]
    referrals: list[Referral]


def build_plan(*, contact_count: int, today: date, users: list, seed: int = DEFAULT_SEED) -> DemoPlan:
    """`users` are the sales people who own contacts and follow-ups (only read, never queried)."""
    rng = random.Random(seed)
    clock = Clock(today=today, tz=timezone.get_default_timezone())
    organizations = people.build_organizations(rng, clock)
    persons = people.build_people(rng, clock, organizations, contact_count, users)
    series = events.build_series(rng, clock)
    contexts = events.build_events(rng, clock, series)
    events.build_attendances(rng, clock, contexts, persons)
    events.ensure_every_role_and_status(rng, clock, contexts)
    interactions = activity.build_interactions(rng, clock, contexts, users)
    follow_ups = activity.build_follow_ups(rng, clock, contexts, persons, users)
    feedback = activity.build_feedback(rng, clock, contexts)
    referrals = activity.build_referrals(rng, clock, contexts, persons, feedback)
    people.finish_people(rng, clock, persons, organizations)
    plan = DemoPlan(
        organizations=organizations,
        contacts=[person.contact for person in persons],
        series=series,
        events=[context.event for context in contexts],
        attendances=[attendance for context in contexts for _person, attendance in context.invitations],
        interactions=interactions,
        follow_ups=follow_ups,
        feedback=feedback,
        referrals=referrals,
    )
    _whole_seconds(plan)
    return plan


def _whole_seconds(plan: DemoPlan) -> None:
    """Timestamps to the second, as people and partner systems record them."""
    for rows in vars(plan).values():
        for row in rows:
            for model_field in row._meta.concrete_fields:
                value = getattr(row, model_field.attname)
                if isinstance(model_field, models.DateTimeField) and value is not None:
                    setattr(row, model_field.attname, value.replace(microsecond=0))
