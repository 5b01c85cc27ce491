"""Import of Battery Pass v1.2 payloads, one category at a time, e.g. from another passport system."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from passport import batterypass
from passport.choices import PassportCategory, PassportState
from passport.exceptions import Conflict, ErrorCollector, FieldError, Forbidden, NotFound, ValidationFailed
from passport.models import Battery, BatteryModel, Organisation, Passport
from passport.services import content
from passport.services.identifiers import EXTERNAL_IDENTIFIER_PATTERN

GPI = PassportCategory.GENERAL_PRODUCT_INFORMATION.value


@transaction.atomic
def import_payload(
    organisation: Organisation,
    category: str,
    payload: object,
    *,
    battery: str | None = None,
    model: str | None = None,
    user=None,
) -> tuple[Passport, dict, bool]:
    """Store ``payload`` as the battery's ``category`` content.

    General product information identifies its battery itself and registers it when it is
    new (``model`` names the battery model); other categories name the battery in ``battery``.
    Returns the passport, the payload as served, and whether a battery was created.
    """
    category = PassportCategory(category).value
    problems = batterypass.validate(category, payload)
    if problems:
        raise ValidationFailed(
            [FieldError(p.path, p.message) for p in problems],
            f"the {category} payload does not conform to Battery Pass v1.2; nothing was written",
        )
    created = False
    if category == GPI:
        identifier = payload["productIdentifier"]
        target = Battery.objects.filter(identifier=identifier).first()
        if target is None:
            target, created = _register_from_payload(organisation, payload, model), True
    else:
        if not battery:
            raise ValidationFailed([FieldError("battery", "name the battery the payload belongs to")])
        target = Battery.objects.filter(identifier=battery).first()
        if target is None:
            raise NotFound(f"no battery {battery!r} is registered")
    if target.operator_id != organisation.id:
        raise Forbidden(f"battery {target.identifier} is operated by another economic operator")
    passport = Passport.objects.filter(battery=target, state=PassportState.ACTIVE).first()
    if passport is None:
        raise Conflict(f"battery {target.identifier} has no active passport")
    served = content.write_section(passport, category, payload, user=user)
    return passport, served, created


def _register_from_payload(organisation: Organisation, payload: dict, model_number: str | None) -> Battery:
    errors = ErrorCollector()
    if not model_number:
        errors.add("model", "name the battery model of the new battery ?model=<model number>")
        errors.raise_if_any()
    battery_model = BatteryModel.objects.filter(manufacturer=organisation, model_number=model_number).first()
    if battery_model is None:
        errors.add("model", f"no battery model {model_number!r} of {organisation.name}")
        errors.raise_if_any()
    identifier = payload["productIdentifier"]
    if not EXTERNAL_IDENTIFIER_PATTERN.match(identifier):
        errors.add("/productIdentifier", "must be 1-64 printable ASCII characters without spaces")
    if payload["batteryCategory"] != battery_model.category:
        errors.add(
            "/batteryCategory",
            f"is {payload['batteryCategory']!r} but model {model_number} is {battery_model.category!r}",
        )
    if Passport.objects.filter(identifier=payload["batteryPassportIdentifier"]).exists():
        raise Conflict(f"passport identifier {payload['batteryPassportIdentifier']} is already in use")
    manufactured_at = _moment(payload["manufacturingDate"], "/manufacturingDate", errors)
    in_service = _moment(payload["puttingIntoService"], "/puttingIntoService", errors)
    errors.raise_if_any()
    try:
        with transaction.atomic():
            battery = Battery.objects.create(
                identifier=identifier,
                kind=battery_model.kind,
                model=battery_model,
                operator=organisation,
                status=payload["batteryStatus"],
                manufactured_at=manufactured_at,
                put_into_service_at=in_service,
            )
            Passport.objects.create(
                battery=battery, identifier=payload["batteryPassportIdentifier"], issued_by=organisation
            )
    except IntegrityError as exc:
        raise Conflict(f"battery {identifier} was registered meanwhile") from exc
    return battery


def _moment(text: str, path: str, errors: ErrorCollector) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        errors.add(path, f"{text!r} is not an ISO 8601 date-time")
        return None
    if moment.tzinfo is None:
        errors.add(path, "needs a UTC offset")
        return None
    return moment
