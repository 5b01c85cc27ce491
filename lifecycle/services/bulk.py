"""Fast inserts of append-only rows: COPY on PostgreSQL, bulk_create elsewhere.

Django's bulk_create spends most of its time building SQL for each value; for the provenance tables,
which only ever grow, COPY does the same in a fraction of the time inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    connection.ensure_connection()
    quoted = ", ".join(f'"{column}"' for column in columns)
    with connection.connection.cursor() as cursor, cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
