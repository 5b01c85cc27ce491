"""Passport content: composing, validating and serving the seven Battery Pass categories.

What a reader gets for a category is three layers, later ones winning:
1. the battery model's series content (``BatteryModel.content``);
2. the passport's own section (``PassportSection.payload``);
3. members the registry owns (identifiers, category, status, dates, mass), which are never
   stored in a section: a write that carries them must agree with the registry.
Organisations' contact data fill in the manufacturer and operator information when neither
layer 1 nor 2 gives it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import json_merge_patch
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from passport import batterypass
from passport.choices import PassportCategory, PassportState
from passport.exceptions import ErrorCollector, FieldError, ValidationFailed
from passport.models import Battery, BatteryModel, Passport, PassportSection
from passport.selectors import project

GPI = PassportCategory.GENERAL_PRODUCT_INFORMATION
PERFORMANCE = PassportCategory.PERFORMANCE_AND_DURABILITY
TECHNICAL_PROPERTIES = "batteryTechicalProperties"  # sic: the member's name in Battery Pass v1.2
REGISTRY_MEMBERS = {
    GPI: (
        "productIdentifier",
        "batteryPassportIdentifier",
        "batteryCategory",
        "batteryStatus",
        "manufacturingDate",
        "puttingIntoService",
        "batteryMass",
    )
}


def isoformat(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def registry_members(passport: Passport, battery: Battery, model: BatteryModel) -> dict[str, dict]:
    """Per category, the members whose values the registry owns."""
    members: dict = {
        "productIdentifier": battery.identifier,
        "batteryPassportIdentifier": passport.identifier,
        "batteryCategory": model.category,
        "batteryStatus": battery.status,
        "manufacturingDate": isoformat(battery.manufactured_at),
    }
    if battery.put_into_service_at:
        members["puttingIntoService"] = isoformat(battery.put_into_service_at)
    if model.mass_kg is not None:
        members["batteryMass"] = _number(model.mass_kg)
    return {GPI: members}


def _defaults(battery: Battery, model: BatteryModel) -> dict[str, dict]:
    return {
        GPI: {
            "manufacturerInformation": model.manufacturer.contact_information(),
            "operatorInformation": battery.operator.contact_information(),
        }
    }


def compose(
    passport: Passport, category: str, section: dict | None, *, battery: Battery | None = None
) -> dict:
    """The effective payload of ``category`` for ``passport``, given its section payload."""
    battery = battery or passport.battery
    model = battery.model
    document = dict(_defaults(battery, model).get(category, {}))
    document.update(json_merge_patch.merge(dict(model.content.get(category, {})), section or {}))
    document.update(registry_members(passport, battery, model).get(category, {}))
    return document


def sections_of(passport: Passport) -> dict[str, dict]:
    return dict(passport.sections.values_list("category", "payload"))


def present_categories(passport: Passport, sections: dict[str, dict]) -> list[str]:
    """Categories the passport says anything about: its sections, the model's content, and GPI."""
    model_content = passport.battery.model.content
    return [
        c.value for c in PassportCategory if c == GPI or c.value in sections or model_content.get(c.value)
    ]


def full_content(passport: Passport) -> dict[str, dict]:
    sections = sections_of(passport)
    return {c: compose(passport, c, sections.get(c)) for c in present_categories(passport, sections)}


# --- reading ---------------------------------------------------------------------------------


def _cache_key(passport: Passport, role: str) -> str:
    battery = passport.battery
    return (
        f"passport-view:{passport.id}:{passport.revision}:{battery.revision}:{battery.model.revision}:{role}"
    )


def role_view(passport: Passport, role: str) -> dict[str, dict]:
    """The categories of ``passport`` projected to what ``role`` may see (cached)."""
    key = _cache_key(passport, role)
    view = cache.get(key)
    if view is None:
        visible = batterypass.visible_selectors(role)
        view = {}
        for category, document in full_content(passport).items():
            shown = project(document, visible[category])
            if shown:
                view[category] = shown
        cache.set(key, view, settings.CELLPASS_PASSPORT_CACHE_SECONDS)
    return view


def category_view(passport: Passport, category: str, role: str) -> dict:
    return role_view(passport, role).get(PassportCategory(category).value, {})


def technical_properties(batteries: Iterable[Battery]) -> dict[object, dict]:
    """Each battery's effective ``batteryTechicalProperties`` of PerformanceAndDurability (its model's
    series content merged with its active passport's section), by battery id, in one query; what the
    twins read for the design life (#77 ``expectedNumberOfCycles``, #83 ``capacityThresholdForExhaustion``).
    The batteries must come with their model loaded."""
    batteries = list(batteries)
    sections = dict(
        PassportSection.objects.filter(
            passport__battery_id__in=[battery.pk for battery in batteries],
            passport__state=PassportState.ACTIVE,
            category=PERFORMANCE,
        ).values_list("passport__battery_id", "payload")
    )
    result = {}
    for battery in batteries:
        series = battery.model.content.get(PERFORMANCE, {})
        merged = json_merge_patch.merge(dict(series), sections.get(battery.pk) or {})
        properties = merged.get(TECHNICAL_PROPERTIES)
        result[battery.pk] = properties if isinstance(properties, dict) else {}
    return result


# --- writing ---------------------------------------------------------------------------------


def check_registry_members(
    passport: Passport,
    category: str,
    payload: dict,
    errors: ErrorCollector,
    *,
    row: int | None = None,
    prefix: str = "",
) -> dict:
    """``payload`` without registry-owned members, after checking they agree with the registry."""
    owned = registry_members(passport, passport.battery, passport.battery.model).get(category, {})
    clean = dict(payload)
    for member in REGISTRY_MEMBERS.get(category, ()):
        # A member the registry holds no value for (no service date yet, no model mass) stays
        # in the section as the operator gave it.
        if member not in clean or member not in owned:
            continue
        given = clean.pop(member)
        expected = owned[member]
        if not _same(member, given, expected):
            errors.add(
                f"{prefix}/{member}",
                f"is {given!r} but the registry holds {expected!r}; change it through the registry",
                row,
            )
    return clean


def _same(member: str, given: object, expected: object) -> bool:
    if member in ("manufacturingDate", "puttingIntoService") and isinstance(given, str):
        try:
            return dt.datetime.fromisoformat(given.replace("Z", "+00:00")) == dt.datetime.fromisoformat(
                str(expected).replace("Z", "+00:00")
            )
        except ValueError:
            return False
    if isinstance(given, (int, float)) and isinstance(expected, (int, float)):
        return float(given) == float(expected)
    return given == expected


def validate_section(
    passport: Passport,
    category: str,
    section: dict,
    errors: ErrorCollector,
    *,
    row: int | None = None,
    prefix: str = "",
    battery: Battery | None = None,
) -> None:
    """Add to ``errors`` every schema violation of the category as it would be served."""
    document = compose(passport, category, section, battery=battery)
    for problem in batterypass.validate(category, document):
        errors.add(f"{prefix}{problem.path if problem.path != '/' else ''}" or "/", problem.message, row)


@transaction.atomic
def write_section(
    passport: Passport, category: str, payload: dict, *, user=None, merge: bool = False
) -> dict:
    """Replace (or RFC 7396 merge-patch) one category of a passport; returns the served payload."""
    category = PassportCategory(category).value
    if not isinstance(payload, dict):
        raise ValidationFailed([FieldError("/", "must be a JSON object")])
    passport = (
        Passport.objects.select_for_update()
        .select_related("battery__model__manufacturer", "battery__operator")
        .get(pk=passport.pk)
    )
    errors = ErrorCollector()
    clean = check_registry_members(passport, category, payload, errors)
    if merge:
        current = PassportSection.objects.filter(passport=passport, category=category).first()
        clean = json_merge_patch.merge(dict(current.payload) if current else {}, clean)
    validate_section(passport, category, clean, errors)
    errors.raise_if_any()
    PassportSection.objects.update_or_create(
        passport=passport, category=category, defaults={"payload": clean, "updated_by": user}
    )
    Passport.objects.filter(pk=passport.pk).update(revision=F("revision") + 1)
    passport.refresh_from_db(fields=["revision"])
    return compose(passport, category, clean)


@transaction.atomic
def write_model_content(model: BatteryModel, category: str, payload: dict, *, merge: bool = False) -> dict:
    """Set a category's series content; every passport of the model must stay valid."""
    category = PassportCategory(category).value
    if not isinstance(payload, dict):
        raise ValidationFailed([FieldError("/", "must be a JSON object")])
    model = BatteryModel.objects.select_for_update().get(pk=model.pk)
    errors = ErrorCollector()
    for member in REGISTRY_MEMBERS.get(category, ()):
        if member in payload:
            errors.add(f"/{member}", "is owned by each battery's registry record, not by the model")
    new = json_merge_patch.merge(dict(model.content.get(category, {})), payload) if merge else payload
    for problem in batterypass.validate(category, new, partial=True):
        errors.add(problem.path, problem.message)
    errors.raise_if_any()
    model.content = {**model.content, category: new}
    _revalidate_passports(model, category, errors)
    errors.raise_if_any()
    model.revision += 1
    model.save(update_fields=["content", "revision", "updated_at"])
    return new


def _revalidate_passports(model: BatteryModel, category: str, errors: ErrorCollector) -> None:
    sections = PassportSection.objects.filter(
        passport__battery__model=model, category=category
    ).select_related("passport__battery__operator")
    broken: list[str] = []
    for section in sections.iterator(chunk_size=500):
        battery = section.passport.battery
        battery.model = model
        if batterypass.validate(
            category, compose(section.passport, category, section.payload, battery=battery)
        ):
            broken.append(battery.identifier)
    if broken:
        listed = ", ".join(broken[:20]) + (f" and {len(broken) - 20} more" if len(broken) > 20 else "")
        errors.add("/", f"the change would make the {category} content of batteries {listed} invalid")


# --- batched reads (the RDF projection) --------------------------------------------------------


def sections_by_passport(passport_ids: Iterable) -> dict[object, dict[str, dict]]:
    """``sections_of`` for many passports in one query; every requested id is a key."""
    ids = list(passport_ids)
    result: dict[object, dict[str, dict]] = {pk: {} for pk in ids}
    rows = PassportSection.objects.filter(passport_id__in=ids).values_list(
        "passport_id", "category", "payload"
    )
    for passport_id, category, payload in rows:
        result[passport_id][category] = payload
    return result


def role_views(
    passport: Passport, battery: Battery, sections: dict[str, dict], roles: Iterable[str]
) -> dict[str, dict[str, dict]]:
    """``role_view`` for several roles from already loaded sections, without queries or the cache
    (a projection of the whole fleet composes each passport once). ``battery`` comes with its model,
    the model's manufacturer and the operator loaded."""
    model_content = battery.model.content
    categories = [
        c.value for c in PassportCategory if c == GPI or c.value in sections or model_content.get(c.value)
    ]
    full = {c: compose(passport, c, sections.get(c), battery=battery) for c in categories}
    views: dict[str, dict[str, dict]] = {}
    for role in roles:
        visible = batterypass.visible_selectors(role)
        view = {}
        for category, document in full.items():
            shown = project(document, visible[category])
            if shown:
                view[category] = shown
        views[role] = view
    return views
