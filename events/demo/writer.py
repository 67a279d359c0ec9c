"""Writes the demo plan to the database, finds it again, and deletes it.

Rows are written with bulk_create, straight into the models and not through the services: the services
would enqueue a scoring recompute for every row of a completed event. The caller recomputes once at the end.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from contacts.models import Contact, FollowUp, Organization, Referral, organization_key
from events.demo import catalog
from events.demo.plan import DEFAULT_SEED, DemoPlan, build_plan
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from ror_crm.bulk import insert_history_of

BATCH_SIZE = 500


class DemoDataConflict(Exception):
    """The database holds rows that the demo would duplicate."""


@dataclass(frozen=True)
class DemoSummary:
    sales_users: int
    sales_users_created: int
    organizations: int
    contacts: int
    series: int
    events: int
    attendances: int
    interactions: int
    follow_ups: int
    feedback: int
    referrals: int


def demo_data_present() -> bool:
    return EventSeries.objects.filter(name=catalog.MARKER_SERIES).exists()


def _demo_contacts_q(prefix: str = "") -> Q:
    condition = Q()
    for domain in catalog.DEMO_DOMAINS:
        condition |= Q(**{f"{prefix}email__iendswith": f"@{domain}"})
    return condition


def demo_events():
    return Event.objects.filter(
        Q(series__name__in=catalog.DEMO_SERIES_NAMES) | Q(series__isnull=True, name__in=catalog.DEMO_ONE_OFF_NAMES)
    )


@transaction.atomic
def delete_demo_data() -> int:
    """Delete demo events, series, contacts (found by their `.example` domains) and their organizations.

    The sales users stay: an admin may have given them permissions meanwhile. Returns the number of
    contacts deleted.
    """
    demo_events().delete()
    EventSeries.objects.filter(name__in=catalog.DEMO_SERIES_NAMES).delete()
    contact_ids = list(Contact.objects.filter(_demo_contacts_q()).values_list("id", flat=True))
    Contact.objects.filter(_demo_contacts_q()).delete()
    # Deleting writes "-" history rows holding the demo people's data; demo data leaves no trace.
    Contact.history.model.objects.filter(_demo_contacts_q()).delete()
    for start in range(0, len(contact_ids), BATCH_SIZE):
        FollowUp.history.model.objects.filter(contact_id__in=contact_ids[start:start + BATCH_SIZE]).delete()
    Organization.objects.filter(domain__in=catalog.DEMO_DOMAINS, contacts__isnull=True).delete()
    return len(contact_ids)


def ensure_sales_users() -> tuple[list, int]:
    """The demo sales team, in the "Sales" group. Existing users keep their password."""
    user_model = get_user_model()
    group, _created = Group.objects.get_or_create(name=catalog.SALES_GROUP)
    password = make_password(catalog.SALES_PASSWORD)  # hashed once: hashing is deliberately slow
    users, created_count = [], 0
    for username, first_name, last_name in catalog.SALES_USERS:
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name, "last_name": last_name, "email": f"{username}@{catalog.AGENCY_DOMAIN}",
                "is_staff": True, "password": password,
            },
        )
        user.groups.add(group)
        users.append(user)
        created_count += created
    return users, created_count


@transaction.atomic
def seed_demo_data(*, contact_count: int, today: date, seed: int = DEFAULT_SEED) -> DemoSummary:
    """Create the demo agency in one transaction; raise DemoDataConflict if demo contacts already exist."""
    clashes = Contact.objects.filter(_demo_contacts_q()).count()
    if clashes:
        raise DemoDataConflict(
            f"{clashes} contacts with demo e-mail addresses (*.example) already exist; "
            "run with --force-reset to replace the demo data."
        )
    users, users_created = ensure_sales_users()
    plan = build_plan(contact_count=contact_count, today=today, users=users, seed=seed)
    _write(plan)
    return DemoSummary(
        sales_users=len(users), sales_users_created=users_created, organizations=len(plan.organizations),
        contacts=len(plan.contacts), series=len(plan.series), events=len(plan.events),
        attendances=len(plan.attendances), interactions=len(plan.interactions), follow_ups=len(plan.follow_ups),
        feedback=len(plan.feedback), referrals=len(plan.referrals),
    )


def _write(plan: DemoPlan) -> None:
    # Organizations are matched by name (unique case-insensitively): reuse any that already exist.
    for organization in plan.organizations:
        organization.name_key = organization_key(organization.name)
    existing = dict(Organization.objects.filter(
        name_key__in=[organization.name_key for organization in plan.organizations]).values_list("name_key", "pk"))
    new_organizations = []
    for organization in plan.organizations:
        if organization.name_key in existing:
            organization.pk = existing[organization.name_key]
        else:
            new_organizations.append(organization)
    Organization.objects.bulk_create(new_organizations, batch_size=BATCH_SIZE)
    for model, rows in (
        (Contact, plan.contacts),
        (EventSeries, plan.series),
        (Event, plan.events),
        (Attendance, plan.attendances),
        (Interaction, plan.interactions),
        (FollowUp, plan.follow_ups),
        (Feedback, plan.feedback),
        (Referral, plan.referrals),
    ):
        model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    # Each contact and follow-up starts its history as created, as one saved in the admin does: the
    # first change staff make then shows what it changed (without a row before it, it showed nothing).
    for model, rows in ((Contact, plan.contacts), (FollowUp, plan.follow_ups)):
        for start in range(0, len(rows), BATCH_SIZE):
            insert_history_of(model.objects.filter(pk__in=[row.pk for row in rows[start:start + BATCH_SIZE]]),
                              history_type="+")
    _write_cadences(plan)


def _write_cadences(plan: DemoPlan) -> None:
    """Keep-in-touch cadences beside the stages' own: key accounts every 45 days, the biggest
    customer's people every 30 (kept as they are when staff changed them)."""
    from scoring.choices import CadenceSegment
    from scoring.models import KeepInTouchCadence

    KeepInTouchCadence.objects.get_or_create(segment=CadenceSegment.TAG, tag=catalog.KEY_ACCOUNT_TAG,
                                             defaults={"days": 45})
    customer = plan.organizations[0]
    KeepInTouchCadence.objects.get_or_create(segment=CadenceSegment.ORGANIZATION, organization_id=customer.pk,
                                             defaults={"days": 30})
