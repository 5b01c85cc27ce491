"""What each event type's payload must hold. Unknown members are refused so typos never pass silently."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lifecycle.choices import EventType, NegativeEventKind
from passport.exceptions import FieldError

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)


class Formation(Payload):
    cycles: Annotated[int, Field(ge=1, le=100)]
    capacity_ah: Positive
    duration_h: Positive | None = None
    temperature_c: Annotated[float, Field(ge=-40, le=80)] | None = None


class EndOfLineTest(Payload):
    capacity_ah: Positive
    internal_resistance_mohm: Positive
    ocv_v: Positive
    passed: bool
    test_station: Short | None = None


class QualityRelease(Payload):
    released: bool
    certificate: Short | None = None
    notes: Text | None = None


class NegativeEvent(Payload):
    kind: NegativeEventKind
    description: Text
    severity: Literal["low", "medium", "high"] = "medium"
    measured_value: float | None = None
    unit: Short | None = None


class Inspection(Payload):
    passed: bool
    findings: Text


class Repair(Payload):
    description: Text
    parts: list[Short] = []


class Replacement(Payload):
    removed: Short = Field(description="Identifier of the component taken out")
    installed: Short = Field(description="Identifier of the component put in its place")
    position: Annotated[str, Field(max_length=64)] = ""
    reason: Annotated[str, Field(max_length=200)] = ""


class OperatorTransfer(Payload):
    to: UUID = Field(description="Organisation taking over responsibility")
    reason: Annotated[str, Field(max_length=200)] = ""


class StatusChange(Payload):
    status: Literal["Repurposed", "Reused", "Remanufactured"]
    new_operator: UUID | None = None
    application: Annotated[str, Field(max_length=200)] = ""
    reason: Annotated[str, Field(max_length=200)] = ""


class Collection(Payload):
    collector: UUID | None = Field(None, description="Waste operator taking over (default: the recorder)")
    site: Annotated[str, Field(max_length=200)] = ""
    reason: Annotated[str, Field(max_length=200)] = ""


class Dismantling(Payload):
    steps: list[Text] = Field(min_length=1)
    components: list[Short] = []
    safety_notes: Text | None = None
    duration_h: Positive | None = None


class RecoveredMaterial(Payload):
    material: Short
    mass_kg: Positive
    recycling_efficiency_pct: Annotated[float, Field(ge=0, le=100)]


class MaterialRecovery(Payload):
    process: Short
    materials: list[RecoveredMaterial] = Field(min_length=1)


class Correction(Payload):
    reason: Text
    correction: dict


PAYLOADS: dict[str, type[Payload]] = {
    EventType.FORMATION: Formation,
    EventType.END_OF_LINE_TEST: EndOfLineTest,
    EventType.QUALITY_RELEASE: QualityRelease,
    EventType.NEGATIVE_EVENT: NegativeEvent,
    EventType.INSPECTION: Inspection,
    EventType.REPAIR: Repair,
    EventType.REPLACEMENT: Replacement,
    EventType.OPERATOR_TRANSFER: OperatorTransfer,
    EventType.STATUS_CHANGE: StatusChange,
    EventType.COLLECTION: Collection,
    EventType.DISMANTLING: Dismantling,
    EventType.MATERIAL_RECOVERY: MaterialRecovery,
    EventType.CORRECTION: Correction,
}


def clean_payload(event_type: str, payload: object) -> tuple[dict, list[FieldError]]:
    """The payload as stored (JSON types, defaults filled in) or the errors naming each member."""
    model = PAYLOADS[event_type]
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        errors = [
            FieldError("/payload" + "".join(f"/{part}" for part in error["loc"]), error["msg"])
            for error in exc.errors()
        ]
        return {}, errors
    return parsed.model_dump(mode="json", exclude_none=True), []
