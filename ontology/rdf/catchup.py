"""The owning process's scan for writes it did not make itself (inline sync mode).

Writes through ``Model.save()`` in the web process re-project their batteries after commit; bulk writes
and everything the Celery workers write (telemetry, twin results, registration jobs) send no signal to
this process, so a daemon thread runs ``sync_changes`` every ``CELLPASS_RDF_CATCHUP_SECONDS``. The first
scan of an empty store is a full rebuild. Started by the web server process only (``config/wsgi.py``):
management commands and benchmarks re-project their own writes at most, they never scan.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)
_started = threading.Event()


def scan_once() -> int:
    from ontology.rdf import sync

    try:
        return sync.sync_changes()
    finally:
        connection.close()  # this thread's own connection; a long-lived idle one would go stale


def _loop(interval: float) -> None:
    while True:
        try:
            scan_once()
        except Exception:  # the next scan retries; the database may be restarting
            logger.warning("rdf catch-up scan failed", exc_info=True)
        time.sleep(interval)


def start() -> bool:
    """Start the scan thread once per process (inline mode only); True if this call started it."""
    from ontology.signals import mode

    if mode() != "inline" or _started.is_set():  # off, a dedicated worker owns it, or a Celery worker
        return False
    _started.set()
    thread = threading.Thread(
        target=_loop, args=(settings.CELLPASS_RDF_CATCHUP_SECONDS,), name="rdf-catch-up", daemon=True
    )
    thread.start()
    return True
