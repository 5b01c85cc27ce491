"""The demo fleet: three manufacturers' product lines, readers of every role, and their tokens."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from passport.choices import Role
from passport.demo_content import DEMO_MODELS, ModelSpec, battery_content, model_content
from passport.models import Battery, BatteryModel, Membership, Organisation, Passport
from passport.services import content, registration

AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

ORGANISATIONS = {
    "voltora": dict(
        name="Voltora Cells GmbH",
        issuing_agency_code="0",
        company_prefix="4061234",
        street_address="Zellenring 12",
        postal_code="38440",
        country="Germany",
        email="passport@voltora.example",
        website="https://voltora.example",
    ),
    "lumen": dict(
        name="Lumen Storage AG",
        issuing_agency_code="0",
        company_prefix="7612345",
        street_address="Speicherweg 3",
        postal_code="8005",
        country="Switzerland",
        email="passport@lumen.example",
        website="https://lumen.example",
    ),
    "velora": dict(
        name="Velora Bikes B.V.",
        issuing_agency_code="0",
        company_prefix="8712345",
        street_address="Fietsstraat 40",
        postal_code="3511",
        country="Netherlands",
        email="passport@velora.example",
        website="https://velora.example",
    ),
    "secondlife": dict(
        name="SecondLife Energy Ltd",
        street_address="2 Reuse Yard",
        postal_code="M1 1AA",
        country="United Kingdom",
        email="buying@secondlife.example",
    ),
    "urbanmine": dict(
        name="Urban Mine Recycling B.V.",
        issuing_agency_code="0",
        company_prefix="8790001",
        street_address="Havenweg 7",
        postal_code="3089",
        country="Netherlands",
        email="intake@urbanmine.example",
        website="https://urbanmine.example",
    ),
    "authority": dict(
        name="Federal Battery Market Surveillance",
        street_address="Amtsplatz 1",
        postal_code="10115",
        country="Germany",
        email="msa@authority.example",
    ),
}
# Which organisation makes which product line (the model number prefix).
LINES = {"VX": "voltora", "LF": "lumen", "EB": "velora"}
USERS = [
    ("voltora-operator", "voltora", Role.ECONOMIC_OPERATOR),
    ("lumen-operator", "lumen", Role.ECONOMIC_OPERATOR),
    ("velora-operator", "velora", Role.ECONOMIC_OPERATOR),
    ("recycler-operator", "urbanmine", Role.ECONOMIC_OPERATOR),
    ("secondlife-buyer", "secondlife", Role.LEGITIMATE_INTEREST),
    ("market-surveillance", "authority", Role.AUTHORITY),
]


@dataclass
class DemoAccess:
    role: str
    username: str
    organisation: str
    token: str


def _spec(number: str) -> ModelSpec:
    return next(spec for spec in DEMO_MODELS if spec.model_number == number)


def _organisations() -> dict[str, Organisation]:
    return {
        key: Organisation.objects.get_or_create(name=data["name"], defaults=data)[0]
        for key, data in ORGANISATIONS.items()
    }


def _models(organisations: dict[str, Organisation]) -> dict[str, BatteryModel]:
    models = {}
    for spec in DEMO_MODELS:
        maker = organisations[LINES[spec.model_number[:2]]]
        model, created = BatteryModel.objects.get_or_create(
            manufacturer=maker,
            model_number=spec.model_number,
            defaults=dict(
                name=spec.name,
                kind=spec.kind,
                category=spec.category,
                chemistry=spec.chemistry,
                rated_capacity_ah=Decimal(str(spec.rated_capacity_ah)),
                nominal_voltage_v=Decimal(str(spec.nominal_voltage_v)),
                rated_energy_kwh=None
                if spec.rated_energy_kwh is None
                else Decimal(str(spec.rated_energy_kwh)),
                mass_kg=None if spec.mass_kg is None else Decimal(str(spec.mass_kg)),
            ),
        )
        if created:
            for category, payload in model_content(spec, maker.name).items():
                content.write_model_content(model, category, payload)
        models[spec.model_number] = model
    return models


def _row(
    serial: str,
    model: str,
    manufactured: dt.datetime,
    in_service: dt.datetime | None = None,
    components: list | None = None,
) -> dict:
    row: dict = {"serial_number": serial, "model": model, "manufactured_at": manufactured.isoformat()}
    if in_service:
        row["put_into_service_at"] = in_service.isoformat()
    if components:
        row["components"] = components
    return row


def _fleet_rows(rng: random.Random) -> dict[str, list[dict]]:
    """Packs with their components; figures follow the models' layouts."""
    rows: dict[str, list[dict]] = {"voltora": [], "lumen": [], "velora": []}
    for p in range(3):
        made = AS_OF - dt.timedelta(days=900 - 200 * p)
        modules = [
            {"position": f"M{m + 1}", "battery": _row(f"VXM{p:03d}{m:02d}", "VX-M22S38P", made)}
            for m in range(5)
        ]
        rows["voltora"].append(_row(f"VXP{p:05d}", "VX-P75-400", made, made + dt.timedelta(days=30), modules))
    made = AS_OF - dt.timedelta(days=120)
    rows["voltora"] += [_row(f"VXC{c:06d}", "VX-21700-50N", made) for c in range(48)]
    for p in range(4):
        made = AS_OF - dt.timedelta(days=700 - 150 * p)
        cells = [
            {"position": f"S{c + 1:02d}", "battery": _row(f"LFC{p:03d}{c:02d}", "LF-280P", made)}
            for c in range(16)
        ]
        rows["lumen"].append(_row(f"LFS{p:05d}", "LF-ESS-14", made, made + dt.timedelta(days=21), cells))
    for p in range(5):
        made = AS_OF - dt.timedelta(days=rng.randint(200, 1000))
        rows["velora"].append(_row(f"EBP{p:05d}", "EB-36V20-N", made, made + dt.timedelta(days=14)))
    return rows


def _condition(organisation: Organisation, rng: random.Random) -> None:
    """Fill the dynamic performance data of every pack in service."""
    packs = Passport.objects.filter(
        battery__operator=organisation, battery__put_into_service_at__isnull=False
    )
    for passport in packs.select_related("battery__model"):
        battery = passport.battery
        age = (AS_OF - battery.put_into_service_at).days
        cycles = int(age * rng.uniform(0.4, 0.9))
        payload = battery_content(
            _spec(battery.model.model_number), rng, cycles=cycles, age_days=age, as_of=AS_OF
        )
        for category, section in payload.items():
            content.write_section(passport, category, section)


def _access(organisations: dict[str, Organisation]) -> list[DemoAccess]:
    access = []
    users = get_user_model().objects
    for username, key, role in USERS:
        user, _ = users.get_or_create(username=username)
        Membership.objects.get_or_create(
            user=user, defaults={"organisation": organisations[key], "role": role}
        )
        token, _ = Token.objects.get_or_create(user=user)
        access.append(DemoAccess(role, username, organisations[key].name, token.key))
    return access


@transaction.atomic
def seed(seed: int = 2027) -> tuple[list[DemoAccess], int]:
    """Create the demo fleet once (later runs only report it); returns the access tokens and fleet size."""
    rng = random.Random(seed)
    organisations = _organisations()
    _models(organisations)
    if not Battery.objects.filter(operator=organisations["voltora"]).exists():
        for key, rows in _fleet_rows(rng).items():
            specs = registration.parse_rows(rows, max_rows=len(rows))
            registration.register(organisations[key], specs)
            _condition(organisations[key], rng)
    return _access(organisations), Battery.objects.count()
