"""What the lifecycle app announces to the others (sent after the transaction commits)."""

from django.dispatch import Signal

# A new telemetry batch was stored for a battery: kwargs ``battery_id`` and ``batch_id``.
telemetry_ingested = Signal()
