"""One process owns the on-disk store: Celery workers never open it in inline mode."""

from __future__ import annotations

import pytest

from ontology import signals
from ontology.rdf import catchup


@pytest.fixture
def worker_process(monkeypatch):
    monkeypatch.setattr(signals, "_in_worker", True)


def test_a_worker_does_not_sync_inline(settings, worker_process, monkeypatch):
    settings.CELLPASS_RDF_SYNC = "inline"
    assert signals.mode() == "off"
    queued = []
    monkeypatch.setattr(signals.transaction, "on_commit", queued.append)
    signals.touch(["a-battery"])
    assert queued == []  # nothing scheduled, so the worker never opens the store
    assert catchup.start() is False


def test_a_dedicated_worker_syncs_in_celery_mode(settings, worker_process):
    settings.CELLPASS_RDF_SYNC = "celery"
    assert signals.mode() == "celery"


def test_the_web_process_syncs_inline_and_the_scan_is_off_when_sync_is(settings, monkeypatch):
    settings.CELLPASS_RDF_SYNC = "inline"
    assert signals.mode() == "inline"
    settings.CELLPASS_RDF_SYNC = "off"
    assert catchup.start() is False
