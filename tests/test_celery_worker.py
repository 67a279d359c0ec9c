"""The real Celery worker: a separate process, through Redis, on the PostgreSQL test database."""

from datetime import timedelta

import pytest
from celery.result import EagerResult
from django.db import connection
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from contacts.tasks import send_followup_digest_task
from ror_crm.celery import health_task

pytestmark = pytest.mark.services


def test_the_worker_runs_the_health_task(live_worker):
    result = health_task.delay(41)

    assert not isinstance(result, EagerResult), "the task must go through the broker, not run in-process"
    assert result.get(timeout=30) == {"ok": True, "echo": 41}
    assert live_worker.wait_for_log(f"ror_crm.health[{result.id}] succeeded"), live_worker.log()[-2000:]


def test_the_worker_reads_the_test_database(live_worker, django_user_model):
    # The worker points at pytest-django's test database, not the developer's database.
    assert live_worker.database_url.endswith("/" + connection.settings_dict["NAME"])
    assert connection.settings_dict["NAME"].startswith("test_")
    # Data this test committed is what the worker's digest task finds: two owners with an
    # overdue follow-up each get one e-mail each (console backend: printed by the worker).
    yesterday = timezone.now() - timedelta(days=1)
    for name in ("ines", "jonas"):
        owner = django_user_model.objects.create_user(name, f"{name}@agency.example", "pw-12345-x", is_staff=True)
        contact = Contact.objects.create(email=f"client-of-{name}@client.example", owner=owner)
        FollowUp.objects.create(contact=contact, owner=owner, status=FollowUpStatus.PLANNED, due_at=yesterday)

    mails_sent = send_followup_digest_task.delay().get(timeout=60)

    assert mails_sent == 2
    assert live_worker.wait_for_log("To: jonas@agency.example"), live_worker.log()[-2000:]
