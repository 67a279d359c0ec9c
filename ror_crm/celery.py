import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ror_crm.settings")

app = Celery("ror_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="ror_crm.health")
def health_task(value: int = 1) -> dict:
    """Round trip for health checks and the worker test: proves the worker runs our code."""
    return {"ok": True, "echo": value}
