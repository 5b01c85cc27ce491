"""Twin results as lifecycle records: the one payload shape every twin's record has (the RDF projection
reads ``model``, ``version``, ``model_hash``, ``inputs`` and ``outputs``), and the latest run of a model."""

from __future__ import annotations

import datetime as dt

from lifecycle.choices import EventType
from lifecycle.services import records
from passport.models import Battery
from twins.models import TwinRun


def record_draft(
    battery: Battery,
    *,
    model: str,
    version: str,
    model_hash: str,
    inputs: list[str],
    outputs: dict,
    at: dt.datetime,
) -> records.Draft:
    """The lifecycle record of one twin result, written by the battery's operator."""
    return records.Draft(
        battery=battery,
        type=EventType.TWIN_RESULT,
        actor=battery.operator,
        occurred_at=at,
        payload={
            "model": model,
            "version": version,
            "model_hash": model_hash,
            "inputs": inputs,
            "outputs": outputs,
        },
    )


def latest_run(battery: Battery, model: str) -> TwinRun | None:
    return TwinRun.objects.filter(battery=battery, model=model).order_by("-created_at").first()
