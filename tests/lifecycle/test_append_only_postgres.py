"""On PostgreSQL the evidence tables refuse UPDATE and DELETE even from raw SQL (a trigger)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from lifecycle.choices import EventType
from tests.lifecycle.conftest import post_event

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

STATEMENTS = [
    "UPDATE lifecycle_lifecycleevent SET payload = '{}'::jsonb",
    "DELETE FROM lifecycle_lifecycleevent",
    "UPDATE lifecycle_merklenode SET hash = '\\x00'::bytea",
    "DELETE FROM lifecycle_merklenode",
    "UPDATE lifecycle_treehead SET root_hash = 'ff'",
]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_sql_cannot_change_records(operator_client, cells, statement):
    post_event(operator_client, cells[0]["id"], EventType.INSPECTION, {"passed": True, "findings": "ok"})
    from lifecycle.services import log

    log.sign_tree_head()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM lifecycle_lifecycleevent")
        assert cursor.fetchone()[0] == 1


def test_samples_table_is_partitioned(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'lifecycle_telemetrysample'::regclass"
        )
        assert cursor.fetchone()[0] == 8
