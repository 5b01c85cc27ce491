"""Appending records: canonical form, per-battery hash chain and the Merkle log, in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from psycopg.types.json import Jsonb

from lifecycle.models import LifecycleEvent
from lifecycle.provenance.canonical import canonical_bytes, sha256_hex
from lifecycle.services import bulk, log
from passport.models import Battery, Organisation

_TABLE = LifecycleEvent._meta.db_table
# The order of the tuples _insert writes with COPY.
_COLUMNS = (
    "id", "battery", "sequence", "type", "actor", "occurred_at", "payload", "corrects", "previous_hash",
    "record_hash", "log_index", "recorded_at", "recorded_by",
)  # fmt: skip


@dataclass
class Draft:
    """A record before it has a place in its chain and the log."""

    battery: Battery
    type: str
    actor: Organisation
    occurred_at: dt.datetime
    payload: dict = field(default_factory=dict)
    corrects: LifecycleEvent | None = None
    recorded_by: object | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def timestamp(moment: dt.datetime) -> str:
    """The one text form of an instant inside records: UTC, microseconds, 'Z'."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_of(
    *,
    id: uuid.UUID | str,
    battery_identifier: str,
    sequence: int,
    previous: str | None,
    type: str,
    occurred_at: dt.datetime,
    actor_identifier: str,
    payload: dict,
    corrects: str | None,
) -> dict:
    """The object that is canonicalised and hashed; the proof bundle carries exactly this."""
    return {
        "id": str(id),
        "battery": battery_identifier,
        "sequence": sequence,
        "previous": previous,
        "type": type,
        "occurred_at": timestamp(occurred_at),
        "actor": actor_identifier,
        "payload": payload,
        "corrects": corrects,
    }


def record_for(event: LifecycleEvent) -> dict:
    """Rebuild the hashed record from the stored columns (so any change to them shows in the hash)."""
    return record_of(
        id=event.id,
        battery_identifier=event.battery.identifier,
        sequence=event.sequence,
        previous=event.previous_hash,
        type=event.type,
        occurred_at=event.occurred_at,
        actor_identifier=str(event.actor_id),
        payload=event.payload,
        corrects=event.corrects.record_hash if event.corrects_id else None,
    )


def _chain_tips(battery_ids: set) -> dict:
    """(sequence, record hash) of the last record of each battery that has one."""
    if connection.vendor == "postgresql":
        # DISTINCT ON walks the (battery, sequence) unique index backwards: one probe per battery.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT ON (battery_id) battery_id, sequence, record_hash FROM {_TABLE} "
                "WHERE battery_id = ANY(%s) ORDER BY battery_id, sequence DESC",
                [list(battery_ids)],
            )
            return {battery_id: (sequence, digest) for battery_id, sequence, digest in cursor.fetchall()}
    latest = dict(
        LifecycleEvent.objects.filter(battery_id__in=battery_ids)
        .values_list("battery_id")
        .annotate(last=Max("sequence"))
    )
    if not latest:
        return {}
    tips = {}
    rows = LifecycleEvent.objects.filter(battery_id__in=latest.keys(), sequence__in=set(latest.values()))
    for battery_id, sequence, record_hash in rows.values_list("battery_id", "sequence", "record_hash"):
        if latest[battery_id] == sequence:
            tips[battery_id] = (sequence, record_hash)
    return tips


def _insert(events: list[LifecycleEvent]) -> None:
    if connection.vendor != "postgresql":
        LifecycleEvent.objects.bulk_create(events, batch_size=2000)
        return
    bulk.copy_rows(
        _TABLE,
        [LifecycleEvent._meta.get_field(name).column for name in _COLUMNS],
        (
            (
                e.id, e.battery_id, e.sequence, e.type, e.actor_id, e.occurred_at, Jsonb(e.payload),
                e.corrects_id, e.previous_hash, e.record_hash, e.log_index, e.recorded_at, e.recorded_by_id,
            )
            for e in events
        ),
    )  # fmt: skip


@transaction.atomic
def append(drafts: Sequence[Draft]) -> list[LifecycleEvent]:
    """Chain, hash and log ``drafts`` in order; all or nothing.

    Appends are serialised by the log lock, so each battery's chain and the log have no gaps.
    """
    if not drafts:
        return []
    head = log.lock_head()
    tips = _chain_tips({draft.battery.pk for draft in drafts})
    events: list[LifecycleEvent] = []
    leaves: list[bytes] = []
    now = timezone.now()
    for offset, draft in enumerate(drafts):
        sequence, previous = tips.get(draft.battery.pk, (0, None))
        # Normalise to the stored precision first, so the hash is the same when rebuilt from the row.
        occurred_at = draft.occurred_at.astimezone(dt.UTC)
        record = record_of(
            id=draft.id,
            battery_identifier=draft.battery.identifier,
            sequence=sequence + 1,
            previous=previous,
            type=draft.type,
            occurred_at=occurred_at,
            actor_identifier=str(draft.actor.pk),
            payload=draft.payload,
            corrects=draft.corrects.record_hash if draft.corrects else None,
        )
        digest = sha256_hex(canonical_bytes(record))
        tips[draft.battery.pk] = (sequence + 1, digest)
        leaves.append(bytes.fromhex(digest))
        events.append(
            LifecycleEvent(
                id=draft.id,
                battery_id=draft.battery.pk,
                sequence=sequence + 1,
                type=draft.type,
                actor_id=draft.actor.pk,
                occurred_at=occurred_at,
                payload=draft.payload,
                corrects_id=draft.corrects.pk if draft.corrects else None,
                previous_hash=previous,
                record_hash=digest,
                log_index=head.size + offset,
                recorded_at=now,
                recorded_by_id=getattr(draft.recorded_by, "pk", None),
            )
        )
    _insert(events)
    log.append_leaves(head.size, leaves)
    return events


def hashes_of(battery: Battery, types: Sequence[str]) -> list[str]:
    """Record hashes of a battery's records of ``types``, in chain order (inputs of derived results)."""
    return list(
        LifecycleEvent.objects.filter(battery=battery, type__in=types)
        .order_by("sequence")
        .values_list("record_hash", flat=True)
    )


def hashes_by_battery(battery_ids: Iterable, types: Sequence[str]) -> dict[object, list[str]]:
    """``hashes_of`` for many batteries in one query; every requested id is a key."""
    ids = list(battery_ids)
    result: dict[object, list[str]] = {pk: [] for pk in ids}
    rows = LifecycleEvent.objects.filter(battery_id__in=ids, type__in=types).order_by(
        "battery_id", "sequence"
    )
    for battery_id, record_hash in rows.values_list("battery_id", "record_hash"):
        result.setdefault(battery_id, []).append(record_hash)
    return result
