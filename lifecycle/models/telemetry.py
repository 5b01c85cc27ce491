import uuid

from django.conf import settings
from django.db import models

from lifecycle.choices import TelemetryFormat
from lifecycle.models.append_only import AppendOnlyModel
from passport.choices import JobState


class TelemetryBatch(AppendOnlyModel):
    """One uploaded file of cycler or BMS data, identified by the SHA-256 of its bytes."""

    battery = models.ForeignKey(
        "passport.Battery", on_delete=models.PROTECT, related_name="telemetry_batches"
    )
    sha256 = models.CharField(max_length=64, unique=True)
    format = models.CharField(max_length=16, choices=TelemetryFormat.choices)
    filename = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField()
    sample_count = models.BigIntegerField()
    cycle_count = models.PositiveIntegerField()
    first_sample_at = models.DateTimeField(null=True, blank=True)
    last_sample_at = models.DateTimeField(null=True, blank=True)
    anomalies = models.JSONField(default=list, blank=True)
    event = models.OneToOneField(
        "lifecycle.LifecycleEvent", on_delete=models.PROTECT, related_name="telemetry_batch"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["battery_id", "created_at"]

    def __str__(self) -> str:
        return f"telemetry {self.sha256[:12]} of {self.battery_id}"


class TelemetrySample(models.Model):
    """One measured point. On PostgreSQL the table is hash-partitioned by battery and loaded with COPY;
    its DDL lives in migration 0002, so Django does not manage it."""

    pk = models.CompositePrimaryKey("batch_id", "seq")
    batch = models.ForeignKey(TelemetryBatch, on_delete=models.DO_NOTHING, db_constraint=False)
    battery_id = models.UUIDField()
    seq = models.IntegerField(help_text="Position of the sample within its batch")
    cycle = models.IntegerField()
    step = models.SmallIntegerField(help_text="0 rest, 1 charge, 2 discharge, 3 impedance")
    ts = models.DateTimeField()
    voltage_v = models.FloatField()
    current_a = models.FloatField(help_text="Positive while charging, negative while discharging")
    temperature_c = models.FloatField()

    class Meta:
        managed = False
        db_table = "lifecycle_telemetrysample"

    def __str__(self) -> str:
        return f"sample {self.batch_id}/{self.seq}"


class CycleAggregate(AppendOnlyModel):
    """Per-cycle figures computed from a batch; the dynamic passport attributes are built from these."""

    battery = models.ForeignKey("passport.Battery", on_delete=models.PROTECT, related_name="cycle_aggregates")
    batch = models.ForeignKey(TelemetryBatch, on_delete=models.PROTECT, related_name="cycles")
    cycle_index = models.IntegerField()
    kind = models.CharField(max_length=16)
    started_at = models.DateTimeField()
    duration_s = models.FloatField()
    samples = models.IntegerField()
    charge_ah = models.FloatField()
    discharge_ah = models.FloatField()
    charge_wh = models.FloatField()
    discharge_wh = models.FloatField()
    voltage_min_v = models.FloatField(null=True)
    voltage_max_v = models.FloatField(null=True)
    temperature_min_c = models.FloatField(null=True)
    temperature_max_c = models.FloatField(null=True)
    temperature_mean_c = models.FloatField(null=True)
    resistance_ohm = models.FloatField(null=True)
    reported_capacity_ah = models.FloatField(null=True)
    ambient_temperature_c = models.FloatField(null=True)
    deep_discharge_events = models.IntegerField(default=0)
    overcharge_events = models.IntegerField(default=0)
    time_above_temp_s = models.FloatField(default=0)
    time_below_temp_s = models.FloatField(default=0)
    charging_time_above_temp_s = models.FloatField(default=0)
    charging_time_below_temp_s = models.FloatField(default=0)
    anomalies = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["battery_id", "started_at", "cycle_index"]
        constraints = [models.UniqueConstraint(fields=["batch", "cycle_index"], name="cycle_unique_in_batch")]
        indexes = [models.Index(fields=["battery", "kind", "started_at"])]

    def __str__(self) -> str:
        return f"cycle {self.cycle_index} of {self.batch_id}"


class TelemetryIngestJob(models.Model):
    """An upload handed to a Celery worker; the file waits under CELLPASS_VAR_DIR/uploads."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    battery = models.ForeignKey("passport.Battery", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey("passport.Organisation", on_delete=models.CASCADE, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    path = models.CharField(max_length=500)
    filename = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    result = models.JSONField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"telemetry job {self.id} ({self.state})"
