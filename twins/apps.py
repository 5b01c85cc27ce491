import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class TwinsConfig(AppConfig):
    name = "twins"

    def ready(self) -> None:
        from lifecycle.signals import telemetry_ingested

        # Register the what-if and calibration tasks; autodiscovery only finds tasks.py.
        from twins import calibration_tasks, whatif_tasks  # noqa: F401

        telemetry_ingested.connect(_assess_after_ingest, dispatch_uid="twins-assess-after-ingest")


def _assess_after_ingest(sender, battery_id, **kwargs) -> None:
    """New telemetry: the twin runs in a worker (event-driven), never in the upload's request."""
    from twins.tasks import assess_batteries

    try:
        assess_batteries.delay([str(battery_id)])
    except Exception:  # the upload is committed; the periodic fleet sweep assesses it later
        logger.warning("could not queue the health twin for battery %s", battery_id, exc_info=True)
