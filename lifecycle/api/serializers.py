from rest_framework import serializers

from lifecycle.choices import EventType
from lifecycle.models import CycleAggregate, LifecycleEvent, TelemetryBatch, TelemetryIngestJob


class EventSerializer(serializers.ModelSerializer):
    battery = serializers.UUIDField(source="battery_id", read_only=True)
    actor = serializers.UUIDField(source="actor_id", read_only=True)
    corrects = serializers.UUIDField(source="corrects_id", read_only=True, allow_null=True)
    iri = serializers.CharField(read_only=True)

    class Meta:
        model = LifecycleEvent
        fields = [
            "id",
            "iri",
            "battery",
            "sequence",
            "type",
            "actor",
            "occurred_at",
            "payload",
            "corrects",
            "previous_hash",
            "record_hash",
            "log_index",
            "recorded_at",
        ]
        read_only_fields = fields


class EventInputSerializer(serializers.Serializer):
    """Documents the request body; validation happens in ``lifecycle.services.events``."""

    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField()
    payload = serializers.JSONField()
    corrects = serializers.UUIDField(required=False, help_text=f"Only for {EventType.CORRECTION}")


class TelemetryBatchSerializer(serializers.ModelSerializer):
    battery = serializers.UUIDField(source="battery_id", read_only=True)
    event = serializers.UUIDField(source="event_id", read_only=True)

    class Meta:
        model = TelemetryBatch
        fields = [
            "id",
            "battery",
            "sha256",
            "format",
            "filename",
            "size_bytes",
            "sample_count",
            "cycle_count",
            "first_sample_at",
            "last_sample_at",
            "anomalies",
            "event",
            "created_at",
        ]
        read_only_fields = fields


class TelemetryUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=["csv", "parquet", "nasa-mat"], required=False)
    start = serializers.DateTimeField(required=False, help_text="Origin of a relative time[s] column")


class CycleAggregateSerializer(serializers.ModelSerializer):
    class Meta:
        model = CycleAggregate
        exclude = ["battery"]


class TelemetryJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = TelemetryIngestJob
        fields = [
            "id",
            "battery",
            "filename",
            "format",
            "state",
            "result",
            "errors",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
