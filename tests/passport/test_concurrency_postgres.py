"""Concurrent registrations on PostgreSQL: one wins, the other gets a 409, nothing is half-written."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from passport.exceptions import Conflict
from passport.models import Battery, Passport
from passport.services import registration
from tests.support.fixtures import cell_rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_bulk_registrations_of_the_same_cells_race(manufacturer, cell_model):
    specs = registration.parse_rows(cell_rows(3000), max_rows=3000)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def register():
        try:
            barrier.wait()
            registration.register(manufacturer, specs)
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(f"conflict: {exc.message}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "created"], outcomes
    assert Battery.objects.count() == 3000
    assert Passport.objects.count() == 3000
