"""Registering batteries, one at a time or ten thousand in one request, all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from passport.choices import BatteryKind, BatteryStatus, PassportCategory, PassportState
from passport.exceptions import CellpassError, Conflict, ErrorCollector
from passport.models import Battery, BatteryModel, Composition, Organisation, Passport, PassportSection
from passport.selectors import pointer
from passport.services import content
from passport.services.identifiers import compose_identifier, identifier_problem

BULK_BATCH_SIZE = 2000


class ComponentSpec(BaseModel):
    """A component of a battery being registered: an existing battery, or a new one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    position: str = Field("", max_length=64, description="Slot label within the parent")
    identifier: str | None = Field(None, description="Identifier of an already registered battery")
    battery: BatteryRegistration | None = Field(None, description="A battery registered with its parent")

    @model_validator(mode="after")
    def _one_reference(self) -> ComponentSpec:
        if (self.identifier is None) == (self.battery is None):
            raise ValueError("give exactly one of 'identifier' or 'battery'")
        return self


class BatteryRegistration(BaseModel):
    """One battery to register under the registering manufacturer's ISO/IEC 15459 prefix."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    serial_number: str = Field(min_length=1, max_length=47, description="Serial number, unique per company")
    model: str = Field(min_length=1, max_length=64, description="Model number of one of your battery models")
    manufactured_at: AwareDatetime
    put_into_service_at: AwareDatetime | None = None
    status: BatteryStatus = BatteryStatus.ORIGINAL
    passport: dict[PassportCategory, dict] = Field(
        default_factory=dict, description="Battery Pass content per category (battery-level members)"
    )
    components: list[ComponentSpec] = Field(default_factory=list)


ComponentSpec.model_rebuild()


class BulkRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batteries: list[BatteryRegistration]


@dataclass
class _Planned:
    """A battery of the request, flattened out of its row, ready to be written."""

    row: int
    path: str  # JSON pointer of this battery within its row ('' for the row itself)
    spec: BatteryRegistration
    parent: _Planned | None = None
    position: str = ""
    battery: Battery | None = None
    passport: Passport | None = None
    existing_children: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (identifier, position, path)


@dataclass
class RegistrationResult:
    batteries: list[Battery]
    passports: list[Passport]

    def summary(self) -> list[dict]:
        return [
            {
                "id": str(b.id),
                "identifier": b.identifier,
                "kind": b.kind,
                "passport": {"id": str(p.id), "identifier": p.identifier},
            }
            for b, p in zip(self.batteries, self.passports, strict=True)
        ]


def parse_rows(rows: object, *, max_rows: int) -> list[BatteryRegistration]:
    """Validate the shape of every row, collecting all errors with their row index."""
    errors = ErrorCollector()
    if not isinstance(rows, list):
        errors.add("/batteries", "must be a list of batteries")
        errors.raise_if_any()
    if not rows:
        errors.add("/batteries", "is empty")
    if len(rows) > max_rows:
        errors.add("/batteries", f"has {len(rows)} rows; at most {max_rows} per request (use the async job)")
    errors.raise_if_any()
    parsed = []
    for index, row in enumerate(rows):
        try:
            parsed.append(BatteryRegistration.model_validate(row))
        except ValidationError as exc:
            for problem in exc.errors(include_url=False):
                errors.add(pointer(problem["loc"]), problem["msg"], index)
    errors.raise_if_any()
    return parsed


def _flatten(specs: list[BatteryRegistration]) -> Iterator[_Planned]:
    def visit(row: int, path: str, spec: BatteryRegistration, parent: _Planned | None, position: str):
        planned = _Planned(row=row, path=path, spec=spec, parent=parent, position=position)
        yield planned
        for index, component in enumerate(spec.components):
            component_path = f"{path}/components/{index}"
            if component.battery is not None:
                yield from visit(
                    row, f"{component_path}/battery", component.battery, planned, component.position
                )
            else:
                planned.existing_children.append(
                    (component.identifier, component.position, f"{component_path}/identifier")
                )

    for row, spec in enumerate(specs):
        yield from visit(row, "", spec, None, "")


def register(
    organisation: Organisation, specs: list[BatteryRegistration], *, user=None
) -> RegistrationResult:
    """Register ``specs`` (and their components) for ``organisation``; nothing is written on error."""
    planned = list(_flatten(specs))
    errors = ErrorCollector()
    models = _resolve_models(organisation, planned, errors)
    identifiers = _assign_identifiers(organisation, planned, errors)
    existing_children = _resolve_existing_children(organisation, planned, models, errors)
    errors.raise_if_any()
    _refuse_duplicates(identifiers)

    now = timezone.now()
    for item in planned:
        model = models[item.spec.model]
        item.battery = Battery(
            id=uuid.uuid4(),
            identifier=identifiers[id(item)],
            issuing_agency_code=organisation.issuing_agency_code,
            company_prefix=organisation.company_prefix,
            serial_number=item.spec.serial_number,
            kind=model.kind,
            model=model,
            operator=organisation,
            status=item.spec.status,
            manufactured_at=item.spec.manufactured_at,
            put_into_service_at=item.spec.put_into_service_at,
            created_at=now,
            updated_at=now,
        )
        item.passport = Passport(
            id=uuid.uuid4(),
            battery=item.battery,
            issued_by=organisation,
            state=PassportState.ACTIVE,
            created_at=now,
            updated_at=now,
        )
    sections = _validated_sections(planned, errors)
    errors.raise_if_any()

    compositions = [
        Composition(parent=item.parent.battery, child=item.battery, position=item.position, installed_at=now)
        for item in planned
        if item.parent is not None
    ] + [
        Composition(parent=item.battery, child=existing_children[path], position=position, installed_at=now)
        for item in planned
        for (_, position, path) in item.existing_children
    ]
    try:
        with transaction.atomic():
            Battery.objects.bulk_create([p.battery for p in planned], batch_size=BULK_BATCH_SIZE)
            Passport.objects.bulk_create([p.passport for p in planned], batch_size=BULK_BATCH_SIZE)
            for section in sections:
                section.updated_by = user
            PassportSection.objects.bulk_create(sections, batch_size=BULK_BATCH_SIZE)
            Composition.objects.bulk_create(compositions, batch_size=BULK_BATCH_SIZE)
    except IntegrityError as exc:
        # Another request registered one of these identifiers, or installed a component, meanwhile.
        raise Conflict(
            f"registration conflicts with a concurrent change; nothing was written ({exc})"
        ) from exc
    return RegistrationResult([p.battery for p in planned], [p.passport for p in planned])


def _resolve_models(
    organisation: Organisation, planned: list[_Planned], errors: ErrorCollector
) -> dict[str, BatteryModel]:
    numbers = {p.spec.model for p in planned}
    models = {
        m.model_number: m
        for m in BatteryModel.objects.filter(
            manufacturer=organisation, model_number__in=numbers
        ).select_related("manufacturer")
    }
    for item in planned:
        model = models.get(item.spec.model)
        if model is None:
            errors.add(
                f"{item.path}/model", f"no battery model {item.spec.model!r} of {organisation.name}", item.row
            )
        elif item.parent is not None and item.parent.spec.model in models:
            parent_kind = models[item.parent.spec.model].kind
            if BatteryKind.rank(model.kind) >= BatteryKind.rank(parent_kind):
                errors.add(
                    f"{item.path}/model", f"a {model.kind} cannot be a component of a {parent_kind}", item.row
                )
    return models


def _assign_identifiers(organisation: Organisation, planned: list[_Planned], errors: ErrorCollector) -> dict:
    identifiers = {}
    for item in planned:
        problem = identifier_problem(
            organisation.issuing_agency_code, organisation.company_prefix, item.spec.serial_number
        )
        if problem:
            errors.add(f"{item.path}/serial_number", problem, item.row)
        identifiers[id(item)] = compose_identifier(
            organisation.issuing_agency_code, organisation.company_prefix, item.spec.serial_number
        )
    return identifiers


def _refuse_duplicates(identifiers: dict) -> None:
    seen: dict[str, int] = {}
    repeated = set()
    for identifier in identifiers.values():
        seen[identifier] = seen.get(identifier, 0) + 1
        if seen[identifier] == 2:
            repeated.add(identifier)
    if repeated:
        raise Conflict(f"identifiers given more than once in this request: {_listing(sorted(repeated))}")
    taken: list[str] = []
    values = list(identifiers.values())
    for start in range(0, len(values), 5000):
        taken += Battery.objects.filter(identifier__in=values[start : start + 5000]).values_list(
            "identifier", flat=True
        )
    if taken:
        raise Conflict(f"battery identifiers already registered: {_listing(sorted(taken))}")


def _listing(values: list[str], limit: int = 20) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _resolve_existing_children(
    organisation: Organisation, planned: list[_Planned], models: dict, errors: ErrorCollector
) -> dict[str, Battery]:
    wanted = {identifier for p in planned for (identifier, _, _) in p.existing_children}
    if not wanted:
        return {}
    found = {b.identifier: b for b in Battery.objects.filter(identifier__in=wanted)}
    installed = dict(
        Composition.objects.filter(child__identifier__in=wanted, removed_at__isnull=True).values_list(
            "child__identifier", "parent__identifier"
        )
    )
    by_path: dict[str, Battery] = {}
    claimed: dict[str, str] = {}
    for item in planned:
        parent_model = models.get(item.spec.model)
        for identifier, _, path in item.existing_children:
            battery = found.get(identifier)
            if battery is None:
                errors.add(path, f"no battery {identifier!r} is registered", item.row)
            elif battery.operator_id != organisation.id:
                errors.add(path, f"battery {identifier} is operated by another economic operator", item.row)
            elif identifier in installed:
                errors.add(path, f"battery {identifier} is installed in {installed[identifier]}", item.row)
            elif identifier in claimed:
                errors.add(
                    path, f"battery {identifier} is already a component at {claimed[identifier]}", item.row
                )
            elif parent_model and BatteryKind.rank(battery.kind) >= BatteryKind.rank(parent_model.kind):
                errors.add(path, f"a {battery.kind} cannot be a component of a {parent_model.kind}", item.row)
            else:
                claimed[identifier] = f"row {item.row} {path}"
                by_path[path] = battery
    return by_path


def _validated_sections(planned: list[_Planned], errors: ErrorCollector) -> list[PassportSection]:
    sections = []
    for item in planned:
        for category, payload in item.spec.passport.items():
            prefix = f"{item.path}/passport/{category.value}"
            clean = content.check_registry_members(
                item.passport, category.value, payload, errors, row=item.row, prefix=prefix
            )
            content.validate_section(
                item.passport,
                category.value,
                clean,
                errors,
                row=item.row,
                prefix=prefix,
                battery=item.battery,
            )
            sections.append(PassportSection(passport=item.passport, category=category.value, payload=clean))
    return sections


def register_one(organisation: Organisation, row: object, *, user=None) -> RegistrationResult:
    """Register a single battery (with any components); errors carry no row index."""
    try:
        return register(organisation, parse_rows([row], max_rows=1), user=user)
    except CellpassError as exc:
        for error in exc.errors:
            error.row = None
        raise
