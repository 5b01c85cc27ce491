"""Changes to a battery's registry record that are not lifecycle events."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from passport.exceptions import ErrorCollector, NotFound
from passport.models import Battery

_UNSET = object()


@transaction.atomic
def update_battery(battery: Battery, *, put_into_service_at: dt.datetime | object | None = _UNSET) -> Battery:
    errors = ErrorCollector()
    fields = []
    if put_into_service_at is not _UNSET:
        if put_into_service_at is not None and put_into_service_at < battery.manufactured_at:
            errors.add("/put_into_service_at", "is before the manufacturing date")
        battery.put_into_service_at = put_into_service_at
        fields.append("put_into_service_at")
    errors.raise_if_any()
    if fields:
        battery.save(update_fields=[*fields, "updated_at"])
        Battery.objects.filter(pk=battery.pk).update(revision=F("revision") + 1)
        battery.refresh_from_db(fields=["revision"])
    return battery


def get_battery(pk) -> Battery:
    """The battery with this UUID, with its model and operator; NotFound (404) otherwise."""
    battery = Battery.objects.select_related("model__manufacturer", "operator").filter(pk=pk).first()
    if battery is None:
        raise NotFound(f"no battery {pk}")
    return battery
