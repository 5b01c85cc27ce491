"""Request and response shapes of the twin endpoints."""

from __future__ import annotations

from rest_framework import serializers

from twins.models import CalibrationJob, WhatIfRun
from twins.physics.whatif import MAX_PROTOCOLS
from twins.services.calibration import (
    BUDGET_RANGE_S,
    BUDGET_SIMULATIONS_RANGE,
    DEFAULT_BUDGET_S,
    MAX_DISCHARGES,
    PHYSICS_MODELS,
)
from twins.services.calibration_start import DEFAULT_START, STARTS


class _StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know: a misspelt ``charge_rate`` must not silently become the default."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return super().to_internal_value(data)


def _open_low(name: str, low: float, high: float):
    """A validator for the interval (low, high]."""

    def check(value: float) -> None:
        if not low < value <= high:
            raise serializers.ValidationError(f"{name} must be in ({low:g}, {high:g}]")

    return check


class WhatIfProtocolSerializer(_StrictSerializer):
    name = serializers.CharField(max_length=64)
    charge_c_rate = serializers.FloatField(
        validators=[_open_low("charge_c_rate", 0, 5)], help_text="Charge C-rate, in (0, 5]"
    )
    discharge_c_rate = serializers.FloatField(
        default=1.0, validators=[_open_low("discharge_c_rate", 0, 5)], help_text="Discharge C-rate, in (0, 5]"
    )
    ambient_c = serializers.FloatField(default=25.0, min_value=-20, max_value=60, help_text="Ambient, °C")
    upper_voltage_v = serializers.FloatField(
        default=4.2, min_value=3.9, max_value=4.3, help_text="Charge (CV) voltage of the cell, V"
    )
    depth_of_discharge = serializers.FloatField(
        default=1.0,
        validators=[_open_low("depth_of_discharge", 0.1, 1.0)],
        help_text="Share of the capacity each discharge takes out, in (0.1, 1]",
    )


class WhatIfRequestSerializer(_StrictSerializer):
    protocols = WhatIfProtocolSerializer(many=True, help_text=f"1 to {MAX_PROTOCOLS} protocols")
    baseline = serializers.CharField(help_text="Name of the protocol the battery has been used under")
    threshold = serializers.FloatField(
        default=0.7, help_text="End of life as a share of rated capacity, in (0, 1)"
    )
    cycles = serializers.IntegerField(
        default=40, min_value=10, max_value=100, help_text="Simulated cycles per protocol"
    )
    plating = serializers.BooleanField(default=True, help_text="Simulate lithium plating as well as SEI")

    def validate_protocols(self, value: list) -> list:
        # Here rather than the list's min/max_length, whose errors land under /protocols/non_field_errors.
        if not 1 <= len(value) <= MAX_PROTOCOLS:
            raise serializers.ValidationError(f"between 1 and {MAX_PROTOCOLS} protocols, got {len(value)}")
        return value

    def validate_threshold(self, value: float) -> float:
        if not 0 < value < 1:
            raise serializers.ValidationError("threshold must be in (0, 1)")
        return value

    def validate(self, data: dict) -> dict:
        names = [protocol["name"] for protocol in data["protocols"]]
        duplicates = {
            index: {"name": [f"duplicate protocol name {name!r}"]}
            for index, name in enumerate(names)
            if name in names[:index]
        }
        if duplicates:
            raise serializers.ValidationError({"protocols": duplicates})
        if data["baseline"] not in names:
            raise serializers.ValidationError({"baseline": [f"must be one of the protocol names {names}"]})
        return data


JOB_FIELDS = [
    "id", "url", "battery", "status", "request", "result", "error", "twin_run", "created_at", "started_at",
    "finished_at",
]  # fmt: skip


class _JobSerializer(serializers.ModelSerializer):
    """A twin job: its request, status and result, and the URL to poll (the view named ``url_name``)."""

    url_name = ""
    url = serializers.SerializerMethodField()

    def get_url(self, job) -> str:
        from django.urls import reverse

        path = reverse(self.url_name, args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class WhatIfRunSerializer(_JobSerializer):
    url_name = "what-if-run"

    class Meta:
        model = WhatIfRun
        fields = JOB_FIELDS
        read_only_fields = fields


class CalibrationRequestSerializer(_StrictSerializer):
    cycle = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="Index of the stored discharge cycle to fit (as numbered in the upload); default: latest",
    )
    cycles = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        min_length=2,
        max_length=MAX_DISCHARGES,
        help_text=(
            f"Instead of cycle: two to {MAX_DISCHARGES} discharge cycles of the cell (e.g. at different "
            "rates or temperatures) fitted jointly with one set of parameters"
        ),
    )
    model = serializers.ChoiceField(
        choices=PHYSICS_MODELS,
        default="auto",
        help_text="The PyBaMM model: SPMe, DFN, or auto (the DFN for a steady current profile, the SPMe "
        "for a dynamic one)",
    )
    budget_s = serializers.FloatField(
        default=DEFAULT_BUDGET_S,
        min_value=BUDGET_RANGE_S[0],
        max_value=BUDGET_RANGE_S[1],
        help_text="Wall-clock budget of the fit, seconds; the best fit found by then is kept",
    )
    budget_simulations = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=BUDGET_SIMULATIONS_RANGE[0],
        max_value=BUDGET_SIMULATIONS_RANGE[1],
        help_text=(
            "Instead of budget_s: a budget in model simulations, so the fit is the same on any machine and "
            "anyone can repeat it (the result says reproducible); it still stops at "
            f"{BUDGET_RANGE_S[1]:g} s"
        ),
    )
    start = serializers.ChoiceField(
        choices=STARTS,
        default=DEFAULT_START,
        help_text=(
            "Where the fit starts: previous (default), the battery's nearest earlier calibration that "
            "fitted its discharge (voltage MAPE at most 3 %), its capacity scaled by the charge delivered, "
            "or the base parameter set if there is none; model, the same, and with none of its own such a "
            "calibration of another battery of its model (those under 1 % first, then the nearest in charge "
            "delivered); base, the base parameter set. The one started from is chosen when the job first "
            "runs, recorded in the job's request (start_from) and among the result's inputs"
        ),
    )
    start_from = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=(
            "With start previous or model: the physics calibration (twin run id) of this battery or of "
            "another of its model to start from instead of the one chosen; it must have fitted its discharge"
        ),
    )

    def validate(self, attrs: dict) -> dict:
        if attrs.get("start_from") is not None and attrs.get("start") == "base":
            raise serializers.ValidationError({"start_from": ["start base fits from the base set: drop one"]})
        if attrs.get("cycles") and attrs.get("cycle") is not None:
            raise serializers.ValidationError({"cycles": ["give cycle or cycles, not both"]})
        if attrs.get("budget_simulations") is not None:
            if "budget_s" in self.initial_data:
                raise serializers.ValidationError(
                    {"budget_simulations": ["give budget_s or budget_simulations, not both"]}
                )
            attrs.pop("budget_s", None)  # the default must not make the request look wall-clock bound
        return attrs


class CalibrationJobSerializer(_JobSerializer):
    url_name = "physics-calibration-job"
    result = serializers.SerializerMethodField()

    class Meta:
        model = CalibrationJob
        fields = JOB_FIELDS
        read_only_fields = fields

    def get_result(self, job: CalibrationJob) -> dict | None:
        """The calibration's outputs and the lifecycle record that carries them."""
        run = job.twin_run
        return twin_run_body(run) if run else None


def twin_run_body(run) -> dict:
    """A twin run as the API shows it: model, hashes, outputs and its lifecycle record."""
    return {
        "battery": str(run.battery_id),
        "model": run.model,
        "version": run.model_version,
        "model_hash": run.model_hash,
        "input_hash": run.input_hash,
        "outputs": run.outputs,
        "record": str(run.record_id),
        "created_at": run.created_at,
    }
