"""Telemetry ingest: parse and validate a file, store its samples and cycle aggregates, record it."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.db import IntegrityError, transaction

from lifecycle import signals
from lifecycle.choices import EventType
from lifecycle.models import CycleAggregate, TelemetryBatch
from lifecycle.services import condition, records, samples
from lifecycle.telemetry import (
    OperatingLimits,
    TelemetryError,
    TelemetryFrame,
    cycle_aggregates,
    read_telemetry,
)
from passport.choices import BatteryStatus
from passport.exceptions import Conflict, FieldError, ValidationFailed
from passport.models import Battery, Organisation

Source = Path | str | bytes | BinaryIO
HASH_BLOCK = 1 << 20


@dataclass
class IngestResult:
    batch: TelemetryBatch
    created: bool

    def summary(self) -> dict:
        batch = self.batch
        return {
            "id": batch.pk,
            "battery": str(batch.battery_id),
            "sha256": batch.sha256,
            "format": batch.format,
            "filename": batch.filename,
            "size_bytes": batch.size_bytes,
            "samples": batch.sample_count,
            "cycles": batch.cycle_count,
            "first_sample_at": batch.first_sample_at,
            "last_sample_at": batch.last_sample_at,
            "anomalies": batch.anomalies,
            "event": str(batch.event_id),
            "created": self.created,
        }


def digest(source: Source) -> tuple[str, int]:
    """SHA-256 and size of the source's bytes, streamed for files."""
    sha = hashlib.sha256()
    if isinstance(source, bytes):
        sha.update(source)
        return sha.hexdigest(), len(source)
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            return _stream_digest(handle, sha)
    position = source.tell()
    result = _stream_digest(source, sha)
    source.seek(position)
    return result


def _stream_digest(handle: BinaryIO, sha) -> tuple[str, int]:
    size = 0
    while block := handle.read(HASH_BLOCK):
        sha.update(block)
        size += len(block)
    return sha.hexdigest(), size


def _existing(sha256: str, battery: Battery) -> IngestResult | None:
    batch = TelemetryBatch.objects.filter(sha256=sha256).first()
    if batch is None:
        return None
    if batch.battery_id != battery.pk:
        raise Conflict(f"this file (sha256 {sha256}) was already uploaded for another battery")
    return IngestResult(batch, created=False)


def _instant(epoch: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else None


def parse(
    source: Source,
    *,
    format: str | None,
    filename: str | None,
    progress=None,
    start: dt.datetime | None = None,
) -> TelemetryFrame:
    try:
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        return read_telemetry(source, format=format, filename=filename, progress=progress, start=start)
    except TelemetryError as exc:
        raise ValidationFailed(
            [FieldError(problem.path, problem.message, problem.row) for problem in exc.errors],
            f"telemetry file rejected: {len(exc.errors)} problem(s); nothing was stored",
        ) from exc


def ingest(
    battery: Battery,
    source: Source,
    *,
    actor: Organisation,
    user=None,
    filename: str = "",
    format: str | None = None,
    progress: Callable[[int], None] | None = None,
    start: dt.datetime | None = None,
) -> IngestResult:
    """Store one upload exactly once (by content hash); a rejected file stores nothing."""
    if battery.status == BatteryStatus.WASTE:
        raise Conflict(f"battery {battery.identifier} is waste; its passport is closed")
    sha256, size = digest(source)
    if (existing := _existing(sha256, battery)) is not None:
        return existing
    frame = parse(source, format=format, filename=filename or None, progress=progress, start=start)
    limits = condition.limits(battery)
    try:
        return _store(
            battery, frame, limits, sha256=sha256, size=size, actor=actor, user=user, filename=filename
        )
    except IntegrityError:
        # The same file arrived twice at once: the other upload won, and this one is that one.
        if (existing := _existing(sha256, battery)) is not None:
            return existing
        raise


@transaction.atomic
def _store(
    battery: Battery, frame: TelemetryFrame, limits: OperatingLimits, *, sha256, size, actor, user, filename
) -> IngestResult:
    batch_id = samples.reserve_batch_id() if len(frame) else None
    loading = samples.BackgroundCopy(batch_id, battery.pk, frame) if batch_id is not None else None
    try:
        aggregates = cycle_aggregates(frame, limits)
    finally:
        if loading is not None:
            loading.wait()
    # Cycle anomalies are carried by their aggregates; only file-level ones are counted from the frame.
    anomalies = Counter(anomaly.code for anomaly in frame.anomalies if anomaly.cycle is None)
    for aggregate in aggregates:
        anomalies.update(aggregate.anomalies)
    first = float(frame.time.min()) if len(frame) else None
    last = float(frame.time.max()) if len(frame) else None
    [event] = records.append(
        [
            records.Draft(
                battery=battery,
                type=EventType.TELEMETRY,
                actor=actor,
                occurred_at=_instant(last) or dt.datetime.now(dt.UTC),
                payload={
                    "sha256": sha256,
                    "format": frame.source_format,
                    "filename": filename,
                    "size_bytes": size,
                    "samples": len(frame),
                    "cycles": len(aggregates),
                    "first_sample_at": records.timestamp(_instant(first)) if first is not None else None,
                    "last_sample_at": records.timestamp(_instant(last)) if last is not None else None,
                    "anomalies": dict(sorted(anomalies.items())),
                },
                recorded_by=user if getattr(user, "is_authenticated", False) else None,
            )
        ]
    )
    batch = TelemetryBatch.objects.create(
        id=batch_id,
        battery=battery,
        sha256=sha256,
        format=frame.source_format,
        filename=filename[:255],
        size_bytes=size,
        sample_count=len(frame),
        cycle_count=len(aggregates),
        first_sample_at=_instant(first),
        last_sample_at=_instant(last),
        anomalies=[
            {"cycle": anomaly.cycle, "code": anomaly.code, "message": anomaly.message}
            for anomaly in frame.anomalies
        ],
        event=event,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if loading is None:
        samples.store(batch.pk, battery.pk, frame)
    CycleAggregate.objects.bulk_create(
        [
            CycleAggregate(
                battery=battery,
                batch=batch,
                **{**aggregate.to_dict(), "started_at": _instant(aggregate.started_at)},
            )
            for aggregate in aggregates
        ],
        batch_size=2000,
    )
    condition.refresh(battery)
    batch_id = batch.pk
    transaction.on_commit(
        lambda: signals.telemetry_ingested.send(
            sender=TelemetryBatch, battery_id=battery.pk, batch_id=batch_id
        )
    )
    return IngestResult(batch, created=True)
