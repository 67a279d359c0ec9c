"""Celery tasks of the contacts app: thin wrappers around services."""

from celery import shared_task

from contacts.digest import send_followup_digests


# No retries and no acks_late: the digest is not idempotent, a retry would mail twice.
@shared_task(name="contacts.tasks.send_followup_digest_task")
def send_followup_digest_task() -> int:
    """The daily digest (Celery beat, 7:00): one e-mail per owner with overdue/today's follow-ups."""
    return send_followup_digests()
