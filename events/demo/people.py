"""Demo organizations and contacts, with the hidden traits that drive their behaviour at events."""

import random
from dataclasses import dataclass, field
from datetime import timedelta

from contacts.models import Contact, Organization
from events.demo import catalog
from events.demo.base import Clock, ascii_slug, pick

# Share of contacts per segment, and how strongly each segment is drawn to its favourite series.
SEGMENTS = {"core": 0.12, "regular": 0.33, "occasional": 0.55}
FAVOURITE_AFFINITY = {"core": 1.0, "regular": 0.35, "occasional": 0.1}
OTHER_AFFINITY = {"core": 0.05, "regular": 0.02, "occasional": 0.005}
ONE_OFF_AFFINITY = {"core": 0.5, "regular": 0.15, "occasional": 0.03}
FAVOURITE_COUNT = {"core": (1, 3), "regular": (1, 2), "occasional": (1, 1)}
# Industries whose people come to the mobility forum whatever else they like.
MOBILITY_INDUSTRIES = ("Automotive", "Logistics", "Energy", "Renewable energy")
MOBILITY_SERIES = 1


@dataclass
class Person:
    """A demo contact plus the traits the generator uses: never stored."""

    contact: Contact
    segment: str
    series_affinity: list[float]
    one_off_affinity: float
    # Earliest moment the person shows up in the agency's data; contact.created_at must precede it.
    first_seen: list = field(default_factory=list)


def build_organizations(rng: random.Random, clock: Clock) -> list[Organization]:
    return [
        Organization(
            name=spec.name, domain=spec.domain, industry=spec.industry, country=spec.country,
            created_at=clock.now - timedelta(days=rng.uniform(900, 1400)),
        )
        for spec in catalog.ORGANIZATIONS
    ]


def build_people(rng: random.Random, clock: Clock, organizations: list[Organization], count: int, users: list) -> list[Person]:
    specs = catalog.ORGANIZATIONS
    # Big key accounts send many people, most organizations a handful; contacts without an employer are rare.
    org_weights = [rng.choice([1, 1, 1, 2, 2, 3, 6]) for _ in specs] + [2]
    email_patterns = [rng.randrange(3) for _ in specs] + [0]
    account_owners = [rng.choice(users) for _ in specs] + [None]
    # Every organization gets one contact first (as long as there are enough), the rest by weight.
    org_slots = list(range(min(count, len(specs))))
    org_slots += rng.choices(range(len(specs) + 1), weights=org_weights, k=count - len(org_slots))

    used_emails: set[str] = set()
    people = []
    for slot in org_slots:
        spec = specs[slot] if slot < len(specs) else None
        origin = _origin(rng, spec)
        female = rng.random() < 0.5
        females, males, last_names = catalog.NAMES[origin]
        first_name = rng.choice(females if female else males)
        last_name = _surname(rng.choice(last_names), origin=origin, female=female)
        domain = spec.domain if spec else catalog.FREEMAIL_DOMAIN
        email = _unique_email(first_name, last_name, origin, domain, email_patterns[slot], used_emails)
        contact = _contact(rng, clock, spec, email, first_name, last_name, account_owners[slot], users)
        contact.organization = organizations[slot] if spec else None
        people.append(_person(rng, contact, spec))
    return people


def _origin(rng: random.Random, spec: catalog.OrgSpec | None) -> str:
    home = catalog.COUNTRIES[spec.country][2] if spec else "de"
    roll = rng.random()
    if home == "de":
        return "de" if roll < 0.72 else rng.choice(catalog.INTERNATIONAL_MIX)
    if roll < 0.7:
        return home
    return "de" if roll < 0.85 else rng.choice(catalog.INTERNATIONAL_MIX)


def _surname(name: str, *, origin: str, female: bool) -> str:
    if origin == "pl" and female and name.endswith("ski"):
        return name[:-3] + "ska"
    return name


def _unique_email(first: str, last: str, origin: str, domain: str, pattern: int, used: set[str]) -> str:
    german = origin == "de"
    first_slug, last_slug = ascii_slug(first, german=german), ascii_slug(last, german=german)
    local = [f"{first_slug}.{last_slug}", f"{first_slug[0]}.{last_slug}", f"{first_slug}{last_slug}"][pattern]
    email, number = f"{local}@{domain}", 1
    while email in used:
        number += 1
        email = f"{local}{number}@{domain}"
    used.add(email)
    return email


def _phone(rng: random.Random, spec: catalog.OrgSpec | None) -> str:
    if rng.random() < 0.1:
        return ""
    if spec is None:  # private mobile number
        return f"+49 1{rng.choice(['51', '52', '60', '70', '76'])} {rng.randint(1_000_000, 99_999_999)}"
    prefix, area_codes, _origin_unused = catalog.COUNTRIES[spec.country]
    return f"{prefix} {rng.choice(area_codes)} {rng.randint(100_000, 9_999_999)}"


def _contact(rng, clock, spec, email, first_name, last_name, account_owner, users) -> Contact:
    created_at = clock.now - timedelta(days=rng.uniform(20, 1250), seconds=rng.randrange(86_400))
    # Accounts belong to one sales person; a few contacts are handled by a colleague or nobody yet.
    roll = rng.random()
    owner = account_owner if roll < 0.8 else (rng.choice(users) if roll < 0.92 else None)
    tag_count = rng.choices([0, 1, 2, 3], weights=[30, 40, 22, 8])[0]
    do_not_contact = rng.random() < 0.04
    consent = not do_not_contact and rng.random() < 0.65
    return Contact(
        email=email,
        first_name=first_name,
        last_name=last_name,
        job_title=rng.choice(catalog.JOB_TITLES) if rng.random() < 0.95 else "",
        phone=_phone(rng, spec),
        owner=owner,
        tags=rng.sample(catalog.TAGS, tag_count),
        marketing_consent=consent,
        marketing_consent_at=None,  # set with the final created_at, see finish_people()
        marketing_consent_source=rng.choice(catalog.CONSENT_SOURCES) if consent else "",
        do_not_contact=do_not_contact,
        created_at=created_at,
    )


def _person(rng: random.Random, contact: Contact, spec: catalog.OrgSpec | None) -> Person:
    segment = pick(rng, SEGMENTS)
    series_count = len(catalog.SERIES)
    low, high = FAVOURITE_COUNT[segment]
    favourites = rng.sample(range(series_count), rng.randint(low, high))
    if spec is not None and spec.industry in MOBILITY_INDUSTRIES:
        favourites.append(MOBILITY_SERIES)
    affinity = [FAVOURITE_AFFINITY[segment] if index in favourites else OTHER_AFFINITY[segment] for index in range(series_count)]
    return Person(contact=contact, segment=segment, series_affinity=affinity, one_off_affinity=ONE_OFF_AFFINITY[segment])


def finish_people(rng: random.Random, clock: Clock, people: list[Person], organizations: list[Organization]) -> None:
    """Move creation dates before each person's first appearance, then date consents and organizations."""
    earliest_by_org: dict[int, object] = {}
    for index, person in enumerate(people):
        contact = person.contact
        if index % 25 == 7 and not contact.do_not_contact:
            contact.cadence_days = 21  # a few people the owner keeps a closer rhythm with
        if person.first_seen:
            contact.created_at = min(contact.created_at, min(person.first_seen) - timedelta(days=rng.uniform(1, 60)))
        if contact.marketing_consent:
            contact.marketing_consent_at = clock.past(contact.created_at + timedelta(hours=rng.uniform(0, 72)), rng)
        if contact.organization is not None:
            key = id(contact.organization)
            earliest_by_org[key] = min(earliest_by_org.get(key, contact.created_at), contact.created_at)
    for organization in organizations:
        if id(organization) in earliest_by_org:
            organization.created_at = min(organization.created_at, earliest_by_org[id(organization)] - timedelta(days=1))
