"""The global append-only Merkle log (RFC 9162) kept as perfect-subtree nodes in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import psycopg
from django.db import connection, transaction
from django.db.models import F

from lifecycle.models import LogHead, MerkleNode, TreeHead
from lifecycle.provenance import merkle, signing
from lifecycle.services import bulk, keys

Coord = tuple[int, int]
_TABLE = MerkleNode._meta.db_table


def lock_head() -> LogHead:
    """Take the log's write lock (row lock on PostgreSQL, write lock on SQLite) and return its head."""
    if not LogHead.objects.filter(pk=1).update(size=F("size")):
        LogHead.objects.get_or_create(pk=1)
        LogHead.objects.filter(pk=1).update(size=F("size"))
    return LogHead.objects.get(pk=1)


def current_size() -> int:
    head = LogHead.objects.filter(pk=1).first()
    return head.size if head else 0


def fetch_nodes(coords: Iterable[Coord]) -> dict[Coord, bytes]:
    """All requested perfect nodes in one round trip."""
    wanted = sorted(set(coords))
    if not wanted:
        return {}
    found: dict[Coord, bytes] = {}
    if connection.vendor == "postgresql":
        _fetch_postgres(wanted, found)
    else:
        _fetch_portable(wanted, found)
    missing = [coord for coord in wanted if coord not in found]
    if missing:
        raise LookupError(f"Merkle log is missing nodes {missing[:5]}")
    return found


# One statement text whatever the number of nodes, so psycopg prepares it once per connection.
_FETCH_POSTGRES = (
    f'SELECT n."level", n."index", n."hash" FROM {_TABLE} n '
    "JOIN unnest(%s::text::smallint[], %s::text::bigint[]) AS wanted(l, i) "
    'ON n."level" = wanted.l AND n."index" = wanted.i'
)


def _fetch_postgres(wanted: list[Coord], found: dict[Coord, bytes]) -> None:
    connection.ensure_connection()
    # A server-binding cursor (Django's default binds client-side), so the statement can be prepared.
    with psycopg.Cursor(connection.connection) as cursor:
        # Django switches psycopg's automatic preparation off; planning would cost more than the lookup.
        # Array literals as text: psycopg's list adaptation costs more than the index lookups.
        params = [
            "{" + ",".join(str(level) for level, _ in wanted) + "}",
            "{" + ",".join(str(index) for _, index in wanted) + "}",
        ]
        cursor.execute(_FETCH_POSTGRES, params, prepare=True)
        for level, index, digest in cursor.fetchall():
            found[(level, index)] = digest


def _fetch_portable(wanted: list[Coord], found: dict[Coord, bytes]) -> None:
    # Row-value IN works on PostgreSQL and SQLite alike; chunked to stay under parameter limits.
    for start in range(0, len(wanted), 4000):
        chunk = wanted[start : start + 4000]
        placeholders = ",".join(["(%s,%s)"] * len(chunk))
        params = [value for coord in chunk for value in coord]
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "level", "index", "hash" FROM {_TABLE} WHERE ("level", "index") IN ({placeholders})',
                params,
            )
            for level, index, digest in cursor.fetchall():
                found[(level, index)] = bytes(digest)


def append_leaves(size: int, leaf_data: Sequence[bytes]) -> int:
    """Add leaves to a log of ``size`` (the caller holds the lock); returns the new size."""
    edge = fetch_nodes(merkle.compact_range(size))
    leaf_hashes = [merkle.leaf_hash(data) for data in leaf_data]
    created = merkle.appended_nodes(size, edge, leaf_hashes)
    if connection.vendor == "postgresql":
        bulk.copy_rows(_TABLE, ["level", "index", "hash"], created)
    else:
        MerkleNode.objects.bulk_create(
            [MerkleNode(level=level, index=index, hash=digest) for level, index, digest in created],
            batch_size=5000,
        )
    new_size = size + len(leaf_data)
    LogHead.objects.filter(pk=1).update(size=new_size)
    return new_size


def root(size: int) -> bytes:
    return merkle.root(size, fetch_nodes(merkle.compact_range(size)))


def inclusion_proof(index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(index, size, fetch_nodes(merkle.inclusion_coords(index, size)))


def inclusion_proofs(indexes: Sequence[int], size: int) -> dict[int, list[bytes]]:
    """Proofs for many leaves with a single node fetch (a battery's whole history)."""
    coords_by_index = {index: merkle.inclusion_coords(index, size) for index in indexes}
    nodes = fetch_nodes(coord for coords in coords_by_index.values() for coord in coords)
    return {index: merkle.inclusion_proof(index, size, nodes) for index in indexes}


def consistency_proof(old_size: int, new_size: int) -> list[bytes]:
    return merkle.consistency_proof(
        old_size, new_size, fetch_nodes(merkle.consistency_coords(old_size, new_size))
    )


def latest_tree_head() -> TreeHead | None:
    return TreeHead.objects.order_by("-tree_size").first()


@transaction.atomic
def sign_tree_head() -> TreeHead:
    """A signed head for the log as it is now; reuses the latest one when nothing was appended since."""
    size = lock_head().size
    existing = TreeHead.objects.filter(tree_size=size).first()
    if existing:
        return existing
    signed = signing.sign_tree_head(keys.private_key(), size, root(size), dt.datetime.now(dt.UTC))
    return TreeHead.objects.create(
        tree_size=signed["tree_size"],
        root_hash=signed["root_hash"],
        timestamp=signed["timestamp"],
        log_id=signed["log_id"],
        signature=signed["signature"],
    )


def head_covering(size: int) -> TreeHead:
    """The latest signed head that includes the first ``size`` leaves, signing a fresh one if needed."""
    head = latest_tree_head()
    if head is None or head.tree_size < size:
        head = sign_tree_head()
    return head
