"""Celery tasks of the RDF projection. Both are idempotent (re-projection replaces, never appends), so
``acks_late`` redelivery after a crashed worker is safe."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from config.celery import app


@shared_task(name="ontology.sync_batteries", acks_late=True)
def sync_batteries(ids: list[str]) -> int:
    """Re-project these batteries into the process's store; returns the quads written."""
    from ontology.rdf import sync

    return sync.sync_batteries(ids)


@shared_task(name="ontology.sync_changes", acks_late=True)
def sync_changes() -> int:
    """Catch up on everything written since the last scan (bulk writes send no model signals)."""
    from ontology.rdf import sync

    return sync.sync_changes()


@app.on_after_finalize.connect
def _schedule_catch_up(sender, **kwargs) -> None:
    # Only when a dedicated worker owns the store; in "inline" mode the owning web process scans itself
    # (ontology.rdf.catchup), and a worker must never open the store.
    if settings.CELLPASS_RDF_SYNC == "celery":
        sender.add_periodic_task(
            settings.CELLPASS_RDF_CATCHUP_SECONDS, sync_changes.s(), name="ontology-rdf-catch-up"
        )
