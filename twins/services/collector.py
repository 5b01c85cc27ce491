"""Python's cyclic garbage collector held off while a twin batch runs.

A batch of 100 batteries builds ~25,000 cycle aggregates and the objects of their forecasts, nearly
all alive until the batch ends and none in reference cycles. Every 700 allocations the collector
looks at the young ones, and every hundred young collections at the whole heap (Django, torch,
scipy: ~250,000 objects), none of which it can free: 4.2 of 22.1 CPU-ms per battery of
``assess_ids``, 0.2 with the collector held off (``python -m benchmarks.twin_profile --database``).
The batch is bounded, so the cycles it may leave (an exception's traceback, say) wait only until the
collector runs again after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off inside the block and as it was after it (nested blocks leave it off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
