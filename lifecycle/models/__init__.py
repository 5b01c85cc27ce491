from lifecycle.models.events import LifecycleEvent
from lifecycle.models.log import Anchor, LogHead, MerkleNode, TreeHead
from lifecycle.models.telemetry import CycleAggregate, TelemetryBatch, TelemetryIngestJob, TelemetrySample

__all__ = [
    "Anchor",
    "CycleAggregate",
    "LifecycleEvent",
    "LogHead",
    "MerkleNode",
    "TelemetryBatch",
    "TelemetryIngestJob",
    "TelemetrySample",
    "TreeHead",
]
