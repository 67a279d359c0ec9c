"""The embedded default runs Celery's work in the calling thread (eager). Celery keeps whether a
task may wait for a result in one flag per process, so the work of two requests at once broke
each other's chords ("Never call result.get() within a task!"): an event completed alongside
another one never got its metrics. ror_crm.queue.publish() runs eager work one at a time."""

import threading
import time

from celery import chord, group

from ror_crm import queue
from ror_crm.celery import app


@app.task(name="tests.nap")
def nap(*results, seconds: float = 0.002) -> int:
    """A task that takes a moment, as real work does."""
    time.sleep(seconds)
    return len(results)


@app.task(name="tests.conductor")
def conductor() -> None:
    """As an event's recompute: a task that runs a chord of chunks and then its metrics."""
    chord(group(nap.si() for _ in range(3)), nap.s()).apply_async()


def test_concurrent_eager_work_with_chords_all_finishes(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    results, start = [], threading.Barrier(6)

    def requests():
        start.wait()
        for _ in range(10):
            queue.publish(lambda: results.append(conductor.apply_async()), what="an event's recompute")

    threads = [threading.Thread(target=requests) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    failures = [result.result for result in results if not result.successful()]
    assert (len(results), failures) == (60, [])
