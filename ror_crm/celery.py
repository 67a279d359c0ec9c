import os
import threading
import time
import uuid

from celery import Celery, bootsteps
from celery.signals import worker_process_init, worker_shutdown

from ror_crm.processes import freeze_loaded_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ror_crm.settings")

app = Celery("ror_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# This start of a worker: made when the worker loads the app, before its pool forks, so its
# processes share it; a restart makes a new one. The heartbeat names it, and so does a task that
# takes up an outbox request (scoring.outbox.claim()): a claim by a start no heartbeat names any
# more is work lost with its worker.
WORKER_BOOT = uuid.uuid4().hex


@worker_process_init.connect
def freeze_after_fork(**kwargs) -> None:
    """Each worker process, forked with the app loaded, keeps what it loaded out of full collections."""
    freeze_loaded_objects()


@app.task(name="ror_crm.health")
def health_task(value: int = 1) -> dict:
    """Round trip for health checks and the worker test: proves the worker runs our code."""
    return {"ok": True, "echo": value}


class Heartbeat(bootsteps.StartStopStep):
    """The worker writes a timestamp to the cache every HEARTBEAT_SECONDS (ror_crm.health).

    A thread of its own, not the worker's timer: the consumer clears that timer when it loses
    the broker, and a heartbeat must come back by itself with Redis. It beats until the worker
    has shut down (worker_shutdown), not until this step stops: the pool stops after it, and a
    warm shutdown waits there for the running tasks, whose claims must not look abandoned.
    """

    requires = {"celery.worker.components:Pool"}

    def start(self, worker) -> None:
        threading.Thread(target=self.run, args=(worker.hostname, time.time()), name="heartbeat", daemon=True).start()

    def run(self, hostname: str, started: float) -> None:
        from ror_crm.health import HEARTBEAT_SECONDS, record_worker_heartbeat

        written = True
        while not HEARTBEAT_STOPPING.is_set():
            written = record_worker_heartbeat(hostname, WORKER_BOOT, started=started, resumed=not written)
            HEARTBEAT_STOPPING.wait(HEARTBEAT_SECONDS)


HEARTBEAT_STOPPING = threading.Event()


@worker_shutdown.connect
def stop_heartbeat(**kwargs) -> None:
    HEARTBEAT_STOPPING.set()


app.steps["worker"].add(Heartbeat)
