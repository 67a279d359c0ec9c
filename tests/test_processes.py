"""The long-lived processes keep the loaded app out of the garbage collector's full collections
(ror_crm.processes): Celery's worker processes and gunicorn's web workers."""

import gc
import runpy
import weakref

import pytest
from celery.signals import worker_process_init

from ror_crm.processes import freeze_loaded_objects
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_celery_worker_process_freezes_what_it_loaded(unfrozen):
    worker_process_init.send(sender=None)

    assert gc.get_freeze_count() > 10_000  # Django and the apps


def test_a_gunicorn_worker_freezes_what_it_loaded(unfrozen):
    runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))["post_worker_init"](None)

    assert gc.get_freeze_count() > 10_000


def test_garbage_made_before_is_collected_not_frozen(unfrozen):
    class Node:
        pass

    gc.disable()  # no automatic collection in between: only the freeze's own can free the cycle
    try:
        node = Node()
        node.itself = node
        freed = weakref.ref(node)
        del node
        freeze_loaded_objects()
    finally:
        gc.enable()

    assert freed() is None
