from django.db import models


class EventType(models.TextChoices):
    """What happened to a battery. The prefix is the lifecycle stage."""

    FORMATION = "manufacturing.formation", "Formation"
    END_OF_LINE_TEST = "manufacturing.end_of_line_test", "End-of-line test"
    QUALITY_RELEASE = "manufacturing.quality_release", "Quality release"
    TELEMETRY = "operation.telemetry", "Telemetry batch"
    NEGATIVE_EVENT = "operation.negative_event", "Negative event"
    INSPECTION = "service.inspection", "Inspection"
    REPAIR = "service.repair", "Repair"
    REPLACEMENT = "service.replacement", "Module or cell replacement"
    OPERATOR_TRANSFER = "ownership.transfer", "Ownership and operator transfer"
    STATUS_CHANGE = "status.change", "Status change (repurposed, re-used, remanufactured)"
    COLLECTION = "end_of_life.collection", "Collection as waste"
    DISMANTLING = "end_of_life.dismantling", "Dismantling"
    MATERIAL_RECOVERY = "end_of_life.material_recovery", "Recovered materials"
    CORRECTION = "record.correction", "Correction of an earlier record"
    TWIN_RESULT = "twin.result", "Digital twin result"


# Written by the service that owns them (telemetry ingest, health twins), never posted directly.
SYSTEM_EVENT_TYPES = frozenset({EventType.TELEMETRY, EventType.TWIN_RESULT})
# Still accepted once a battery is waste and its passport is closed.
END_OF_LIFE_TYPES = frozenset(
    {EventType.DISMANTLING, EventType.MATERIAL_RECOVERY, EventType.CORRECTION, EventType.TWIN_RESULT}
)
MANUFACTURING_TYPES = frozenset({EventType.FORMATION, EventType.END_OF_LINE_TEST, EventType.QUALITY_RELEASE})


class NegativeEventKind(models.TextChoices):
    ACCIDENT = "accident", "Accident"
    THERMAL_EVENT = "thermal_event", "Thermal event"
    DEEP_DISCHARGE = "deep_discharge", "Deep discharge"
    OVERCHARGE = "overcharge", "Overcharge"
    OUT_OF_RANGE_TEMPERATURE = "out_of_range_temperature", "Out-of-range temperature"


class TelemetryFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"
    NASA_MAT = "nasa-mat", "NASA PCoE MATLAB"


class AnchorState(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed on chain"
    FAILED = "failed", "Failed (superseded by a later anchor)"
