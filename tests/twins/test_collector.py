"""The garbage collector held off for a twin batch, and restored after it whatever happens."""

from __future__ import annotations

import gc

import pytest

from twins.services import health
from twins.services.collector import collector_paused


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_back_on_after_even_on_an_error(collector_on):
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("batch failed")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_a_batch_runs_with_the_collector_off(collector_on, monkeypatch):
    seen = []
    monkeypatch.setattr(health, "_assess_ids", lambda ids: seen.append(gc.isenabled()) or [])
    assert health.assess_ids([]) == []
    assert seen == [False] and gc.isenabled()
