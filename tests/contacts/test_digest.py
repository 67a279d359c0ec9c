"""The daily follow-up digest: one e-mail per owner with their overdue and today's follow-ups."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.digest import build_digests, send_followup_digests
from contacts.models import Contact, FollowUp, Organization
from contacts.services import erase_contact
from contacts.tasks import send_followup_digest_task

pytestmark = pytest.mark.django_db

# A fixed morning (Tuesday 7:00 in Berlin), so "today" and "overdue" do not depend on the clock.
NOW = timezone.make_aware(datetime(2026, 3, 10, 7, 0))


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://crm.agency.example"


def user(username: str, email: str | None = None, **fields) -> User:
    return User.objects.create_user(username, email if email is not None else f"{username}@agency.example", **fields)


def plan(owner, contact, due_at, **fields) -> FollowUp:
    return FollowUp.objects.create(owner=owner, contact=contact, due_at=due_at, status=FollowUpStatus.PLANNED, **fields)


@pytest.fixture
def team():
    sven, tina, ulla, nomail = user("sven"), user("tina"), user("ulla"), user("nomail", email="")
    acme = Organization.objects.create(name="Acme")
    carla = Contact.objects.create(email="carla@acme.example", first_name="Carla", last_name="Klein", organization=acme)
    dirk = Contact.objects.create(email="dirk@client.example", first_name="Dirk", last_name="Dorn")
    items = {
        "sven_overdue": plan(sven, carla, NOW - timedelta(days=3), next_step="Send the revised offer"),
        "sven_today": plan(sven, dirk, NOW + timedelta(hours=4)),
        "tina_today": plan(tina, carla, NOW + timedelta(hours=9)),
    }
    plan(sven, dirk, NOW + timedelta(days=1, hours=1))  # tomorrow: not in today's digest
    FollowUp.objects.create(owner=sven, contact=dirk, status=FollowUpStatus.DONE, completed_at=NOW,
                            due_at=NOW - timedelta(days=1))  # done
    plan(ulla, dirk, NOW + timedelta(days=2))  # Ulla has nothing due: no mail
    plan(nomail, carla, NOW - timedelta(days=1))  # no address: skipped
    plan(user("gone", is_active=False), carla, NOW - timedelta(days=1))  # left the company: skipped
    erased = Contact.objects.create(email="erased@client.example")
    plan(tina, erased, NOW - timedelta(days=1))
    erase_contact(erased)  # nobody left to call
    return {"sven": sven, "tina": tina, **items}


def test_one_mail_per_owner_with_something_due(team):
    sent = send_followup_digests(now=NOW)

    assert sent == 2
    assert sorted(message.to[0] for message in mail.outbox) == ["sven@agency.example", "tina@agency.example"]


def test_the_mail_lists_overdue_and_today_items(team):
    send_followup_digests(now=NOW)

    sven_mail = next(message for message in mail.outbox if message.to == ["sven@agency.example"])
    assert sven_mail.subject == "RoR CRM: 2 follow-ups need you today"
    body = sven_mail.body
    assert "Overdue (1)" in body
    assert "Due today (1)" in body
    assert body.index("Carla Klein") < body.index("Due today") < body.index("Dirk Dorn")
    assert "Acme" in body
    assert "Send the revised offer" in body
    assert "https://crm.agency.example/admin/ror/worklist/" in body
    tina_mail = next(message for message in mail.outbox if message.to == ["tina@agency.example"])
    assert tina_mail.subject == "RoR CRM: 1 follow-up needs you today"
    assert "Overdue" not in tina_mail.body  # the erased contact's follow-up is not listed


def test_digests_group_items_by_owner(team):
    digests = {digest.owner.username: digest for digest in build_digests(now=NOW)}

    assert set(digests) == {"sven", "tina"}
    assert digests["sven"].overdue == [team["sven_overdue"]]
    assert digests["sven"].due_today == [team["sven_today"]]
    assert digests["tina"].due_today == [team["tina_today"]]


def test_nothing_due_sends_nothing(db):
    assert send_followup_digests(now=NOW) == 0
    assert mail.outbox == []


def test_the_task_sends_the_digest(team):
    # apply() runs the task in this process whatever the broker, so the locmem outbox sees it.
    result = send_followup_digest_task.apply()

    assert result.get() >= 1  # the clock is real here: the overdue items are due for sure
    assert {message.to[0] for message in mail.outbox} >= {"sven@agency.example"}


def test_the_beat_schedule_runs_it_every_morning(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["followup-digest"]
    assert entry["task"] == send_followup_digest_task.name
    assert entry["schedule"].hour == {7}
    assert entry["schedule"].minute == {0}
