"""The lifecycle app's interface to the rest of Cellpass.

Other apps record events with ``events.record_event`` (or ``records.append`` for system records such
as twin results), ingest telemetry with ``telemetry.ingest`` and get proofs from ``bundles``.
"""
