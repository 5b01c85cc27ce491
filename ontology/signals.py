"""Writes that go through ``Model.save()`` queue a re-projection of the batteries they touch.

Senders are named by label so this module imports no other app's models. The ids are collected per
transaction and handed over once it commits (``transaction.on_commit``): a rolled-back write queues
nothing. Bulk writes (``bulk_create``, COPY, ``QuerySet.update``) send no model signals; the periodic
``ontology.sync_changes`` catches those (see ontology/rdf/sync.py).

Mode ``CELLPASS_RDF_SYNC`` (default ``celery``): ``celery`` queues ``ontology.sync_batteries``;
``inline`` re-projects in the writing process after commit (tests, single-process demos); ``off``.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save

logger = logging.getLogger(__name__)
_pending = threading.local()


_in_worker = False


def mode() -> str:
    """The sync mode of this process: a Celery worker never opens the store in ``inline`` mode (the
    web process that owns it catches the worker's writes with its periodic scan)."""
    configured = settings.CELLPASS_RDF_SYNC
    return "off" if configured == "inline" and _in_worker else configured


def in_worker() -> bool:
    """Whether this process is a Celery worker (it may own the store in ``celery`` mode, but never
    serves queries)."""
    return _in_worker


def mark_worker(**kwargs) -> None:
    global _in_worker
    _in_worker = True


def _flush() -> None:
    ids = sorted(getattr(_pending, "ids", set()))
    changes = getattr(_pending, "changes", False)
    _pending.ids, _pending.changes = set(), False
    if not ids and not changes:  # an earlier callback of the same commit took the batch
        return
    try:
        if mode() == "inline":
            from ontology.rdf import sync

            if ids:
                sync.sync_batteries(ids)
            if changes:
                sync.sync_changes()
        else:
            from ontology import tasks

            if ids:
                tasks.sync_batteries.delay(ids)
            if changes:
                tasks.sync_changes.delay()
    except Exception:  # the write is committed; the periodic catch-up repairs the projection
        logger.warning("could not re-project batteries %s", ids, exc_info=True)


def touch(battery_ids: list[object] = (), *, changes: bool = False) -> None:
    """Re-project these batteries (and/or run the change scan) once the current transaction commits.

    Every call registers a callback, and the first one to run after the commit takes the whole batch
    (the others find it empty), so a transaction that saves many rows queues one task. Ids of a
    rolled-back transaction stay in the batch and are re-projected with the next commit: harmless, a
    re-projection of an unchanged battery writes the same quads.
    """
    if mode() == "off":
        return
    if not hasattr(_pending, "ids"):
        _pending.ids, _pending.changes = set(), False
    _pending.ids.update(str(pk) for pk in battery_ids if pk is not None)
    _pending.changes = _pending.changes or changes
    transaction.on_commit(_flush)


def _battery(sender, instance, **kwargs) -> None:
    touch([instance.pk])


def _passport(sender, instance, **kwargs) -> None:
    touch([instance.battery_id])


def _section(sender, instance, **kwargs) -> None:
    # Only the passport's id is on the row; the scan maps it to its battery without a query here.
    touch(changes=True)


def _composition(sender, instance, **kwargs) -> None:
    # The parent owns cellpass:hasComponent; the child is re-projected too (its own record may change).
    touch([instance.parent_id, instance.child_id])


def _catalogue(sender, instance, **kwargs) -> None:
    touch(changes=True)


def connect() -> None:
    handlers = {
        "passport.Battery": _battery,
        "passport.Passport": _passport,
        "passport.PassportSection": _section,
        "passport.Composition": _composition,
        "passport.BatteryModel": _catalogue,
        "passport.Organisation": _catalogue,
        "lifecycle.LifecycleEvent": _passport,  # same field name: battery_id
        "twins.TwinRun": _passport,
    }
    for label, handler in handlers.items():
        post_save.connect(handler, sender=label, weak=False, dispatch_uid=f"ontology-rdf-{label}")
    from celery.signals import worker_init, worker_process_init

    worker_init.connect(mark_worker, weak=False, dispatch_uid="ontology-rdf-worker")
    worker_process_init.connect(mark_worker, weak=False, dispatch_uid="ontology-rdf-worker-process")
