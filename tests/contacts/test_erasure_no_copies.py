"""After erasure no copy of the person is left: not in any table of PostgreSQL (a full
`pg_dump --data-only`, bytea and JSON decoded) and not in Redis (cache, Celery broker and
results), on the real stack with a real worker, after the writes a partner and staff make."""

import base64
import binascii
import json
import re
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.models import Contact
from events.models import Event
from partners.models import PartnerAPIKey, WebhookDelivery, WebhookSubscription
from scoring.models import ContactScore

pytestmark = pytest.mark.services

EMAIL, FIRST, LAST = "zyx.erase-me@example.org", "Zyxwvut", "Qwertzuiop"
NEEDLES = (EMAIL, FIRST, LAST)
BYTEA_LITERAL = re.compile(r"'\\x([0-9a-fA-F]*)'")


def pg_dump_binary() -> str:
    found = shutil.which("pg_dump")
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if bindir and (Path(bindir) / "pg_dump").is_file():
            found = str(Path(bindir) / "pg_dump")
    if found is None:
        pytest.fail("pg_dump is needed: install the PostgreSQL client tools")
    return found


def database_text() -> str:
    """Every row of the test database as SQL, with bytea values decoded to text."""
    settings = connection.settings_dict
    command = [pg_dump_binary(), "--data-only", "--inserts", "--no-owner", "-d", settings["NAME"],
               "-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432), "-U", settings["USER"]]
    env = {"PGPASSWORD": settings["PASSWORD"] or "", "PATH": "/usr/bin:/bin"}
    dump = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    assert "INSERT INTO public.contacts_contact" in dump
    return BYTEA_LITERAL.sub(lambda match: binascii.unhexlify(match.group(1)).decode("utf-8", "replace"), dump)


def redis_text() -> str:
    """Every key and value of the Redis database (cache, broker queues, task results), with
    Celery's base64 message bodies decoded."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    chunks: list[bytes] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        chunks.append(key)
        if kind == "string":
            chunks.append(client.get(key) or b"")
        elif kind == "list":
            chunks.extend(client.lrange(key, 0, -1))
        elif kind == "set":
            chunks.extend(client.smembers(key))
        elif kind == "zset":
            chunks.extend(client.zrange(key, 0, -1))
        elif kind == "hash":
            for field, value in client.hgetall(key).items():
                chunks.extend((field, value))
    texts = []
    for chunk in chunks:
        text = chunk.decode("utf-8", "replace")
        texts.append(text)
        try:
            message = json.loads(text)
        except ValueError:
            continue
        body = message.get("body") if isinstance(message, dict) else None
        if isinstance(body, str):
            texts.append(base64.b64decode(body + "==").decode("utf-8", "replace"))
    return "\n".join(texts)


def occurrences(text: str) -> dict[str, int]:
    lowered = text.lower()
    return {needle: lowered.count(needle.lower()) for needle in NEEDLES}


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the worker did not finish in time")
        time.sleep(0.2)


def test_erasure_leaves_no_copy_in_postgresql_or_redis(live_worker, staff_user):
    key = PartnerAPIKey.objects.create_key(name="Ticketing", can_read=True, can_write=True)[1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    def write(method: str, url: str, body: dict, idempotency_key: str):
        response = getattr(api, method)(url, data=json.dumps(body), content_type="application/json",
                                        HTTP_IDEMPOTENCY_KEY=idempotency_key)
        assert response.status_code < 300, response.content
        return response.json() if response.content else None

    WebhookSubscription.objects.create(name="Marketing automation", url="http://127.0.0.1:9/hook", secret="s3cret",
                                       event_types=["contact.score_changed", "event.completed"])
    now = timezone.now()
    event = write("post", "/api/v1/events/", {"name": "Zyx Summit", "starts_at": (now - timedelta(hours=5)).isoformat(),
                                              "ends_at": (now - timedelta(hours=1)).isoformat()}, "event-1")
    person = write("post", "/api/v1/contacts/", {"email": EMAIL, "first_name": FIRST, "last_name": LAST,
                                                 "job_title": "Head of Zyx", "tags": ["vip"]}, "create-1")
    write("patch", f"/api/v1/contacts/{person['id']}/", {"job_title": "CTO", "phone": "+49 30 555"}, "patch-1")
    ben = write("post", "/api/v1/contacts/", {"email": "ben@example.com", "first_name": "Ben", "last_name": "Kurz"},
                "create-2")
    write("post", f"/api/v1/events/{event['id']}/attendances/bulk/", {"rows": [
        {"email": EMAIL, "first_name": FIRST, "last_name": LAST, "status": "attended"},
        {"email": "ben@example.com", "status": "attended"},
    ]}, "bulk-1")
    write("post", "/api/v1/interactions/", {"event": event["id"], "contact": ben["id"],
                                            "notes": f"Intro to {FIRST} {LAST} ({EMAIL})"}, "note-1")
    write("post", "/api/v1/follow-ups/", {"contact": person["id"], "event": event["id"],
                                          "summary": f"{FIRST} wants pricing", "next_step": f"Mail {EMAIL}"}, "fu-1")
    write("post", "/api/v1/follow-ups/", {"contact": ben["id"], "summary": f"Ben knows {FIRST} {LAST}"}, "fu-2")
    write("post", "/api/v1/feedback/", {"event": event["id"], "contact": person["id"], "nps": 10,
                                        "comment": f"Thanks, {FIRST}"}, "fb-1")
    write("post", "/api/v1/referrals/", {"referrer": ben["id"], "referred_email": EMAIL}, "ref-1")
    contact = Contact.objects.get(pk=person["id"])
    LogEntry.objects.create(user=staff_user, content_type=ContentType.objects.get_for_model(Contact),
                            object_id=str(contact.pk), object_repr=str(contact), action_flag=CHANGE, change_message="[]")
    write("post", f"/api/v1/events/{event['id']}/complete/", {"force": True}, "complete-1")
    # The worker scores the event: scores, snapshots, metrics, webhook deliveries, task results.
    wait_for(lambda: ContactScore.objects.filter(contact_id=person["id"]).exists()
             and Event.objects.filter(pk=event["id"], metrics__isnull=False).exists())
    assert WebhookDelivery.objects.filter(event_type="contact.score_changed").exists()
    assert api.get("/api/v1/reports/score-validity/").status_code == 200  # a cached report
    assert all(occurrences(database_text()).values())  # the search finds what is there

    api.post(f"/api/v1/contacts/{person['id']}/erase/", HTTP_IDEMPOTENCY_KEY="erase-1")
    replay = api.patch(f"/api/v1/contacts/{person['id']}/", data=json.dumps({"job_title": "CTO", "phone": "+49 30 555"}),
                       content_type="application/json", HTTP_IDEMPOTENCY_KEY="patch-1")
    time.sleep(1)  # tasks the erasure queued (rescoring) reach the worker

    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert not any(occurrences(replay.content.decode()).values())
    assert occurrences(database_text()) == dict.fromkeys(NEEDLES, 0)
    assert occurrences(redis_text()) == dict.fromkeys(NEEDLES, 0)
