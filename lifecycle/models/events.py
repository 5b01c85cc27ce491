import uuid

from django.conf import settings
from django.db import models

from lifecycle.choices import EventType
from lifecycle.models.append_only import AppendOnlyModel
from passport.models.fields import IJSONDecoder


class LifecycleEvent(AppendOnlyModel):
    """One record of a battery's life. Hash-chained per battery and a leaf of the global Merkle log."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    battery = models.ForeignKey("passport.Battery", on_delete=models.PROTECT, related_name="lifecycle_events")
    sequence = models.PositiveIntegerField(help_text="Position in the battery's hash chain, from 1")
    type = models.CharField(max_length=48, choices=EventType.choices, db_index=True)
    actor = models.ForeignKey("passport.Organisation", on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField()
    payload = models.JSONField(default=dict, decoder=IJSONDecoder)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    # NULL, not "", for the first record: it is the JSON null of the hashed record.
    previous_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    record_hash = models.CharField(max_length=64, unique=True)
    log_index = models.BigIntegerField(unique=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    iri_segment = "event"

    class Meta:
        ordering = ["battery_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["battery", "sequence"], name="event_unique_chain_position"),
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="event_sequence_from_one"),
        ]
        indexes = [models.Index(fields=["battery", "type", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence} of {self.battery_id}"

    @property
    def iri(self) -> str:
        return f"{settings.CELLPASS_BASE_URL}/id/{self.iri_segment}/{self.id}"
