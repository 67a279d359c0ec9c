"""What the product's long-lived processes do once they have loaded it: Celery's worker
processes (ror_crm.celery) and gunicorn's web workers (gunicorn.conf.py)."""

import gc


def freeze_loaded_objects() -> None:
    """Leave the objects a process holds once Django and the apps are loaded (about 150,000:
    modules, classes, settings, which live as long as the process) out of the garbage
    collector's full collections.

    A full collection walks every tracked object, and batch work (a chunk of 5,000 contacts
    scored, 2,000 rows of an import) triggers one every few thousand rows: walking the loaded
    objects again and again took a tenth of a recompute and of an import, and 7 % of an API
    request (BENCHMARKS.md). Garbage made before is collected first, so none of it is kept.
    """
    gc.collect()
    gc.freeze()
