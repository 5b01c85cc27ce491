import uuid

from django.conf import settings
from django.db import models

from passport.choices import JobState


class TwinRun(models.Model):
    """One evaluation of a health twin on a battery's recorded history.

    Keyed by (battery, model, version, input hash): running the same model on the same records again,
    e.g. when a crashed worker's task is redelivered, finds this row instead of storing a second result.
    The result itself is a lifecycle record (``record``), so it is hashed, chained and anchored.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    battery = models.ForeignKey("passport.Battery", on_delete=models.PROTECT, related_name="twin_runs")
    model = models.CharField(max_length=64)
    model_version = models.CharField(max_length=32)
    model_hash = models.CharField(max_length=64, help_text="SHA-256 of the model's code and parameters")
    input_hash = models.CharField(max_length=64, help_text="SHA-256 over the input records' hashes")
    outputs = models.JSONField()
    # Copied out of ``outputs`` so a buyer can search the fleet by them.
    soh = models.FloatField(null=True, db_index=True, help_text="Capacity SoH, fraction of rated")
    soh_std = models.FloatField(null=True)
    rul_cycles = models.FloatField(null=True, help_text="Median cycles to the primary threshold")
    rul_threshold = models.FloatField(null=True)
    route = models.CharField(max_length=24, blank=True)
    record = models.OneToOneField("lifecycle.LifecycleEvent", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["battery_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["battery", "model", "model_version", "input_hash"], name="twin_run_once_per_input"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.model_version} on {self.battery_id}"


class TwinJob(models.Model):
    """A twin computation someone asked for, run by a Celery worker: who asked what, and how it went.

    A redelivered task finds a finished job and leaves it; one found running (its worker died) runs again.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    battery = models.ForeignKey("passport.Battery", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    error = models.TextField(blank=True)
    twin_run = models.ForeignKey(TwinRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class WhatIfRun(TwinJob):
    """A what-if request on a battery (protocols to compare). ``twin_run`` is the health twin run whose RUL
    forecast the result scales (none: the result says what is missing)."""

    request = models.JSONField(help_text="The validated request: protocols, baseline, threshold, cycles")
    result = models.JSONField(null=True, blank=True)

    class Meta(TwinJob.Meta):
        pass

    def __str__(self) -> str:
        return f"what-if {self.id} on {self.battery_id} ({self.status})"


class CalibrationJob(TwinJob):
    """A request to calibrate a battery's physics twin to one of its measured discharges. The calibration
    itself is ``twin_run`` (a lifecycle record)."""

    request = models.JSONField(help_text="The validated request: cycle, physics model, budget")

    class Meta(TwinJob.Meta):
        pass

    def __str__(self) -> str:
        return f"calibration {self.id} of {self.battery_id} ({self.status})"
