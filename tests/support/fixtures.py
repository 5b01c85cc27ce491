"""Organisations, users of every role with their API tokens, and battery models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from passport.choices import BatteryCategory, BatteryKind, Role

MANUFACTURED = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


def make_organisation(name: str, prefix: str, agency: str = "0"):
    from passport.models import Organisation

    return Organisation.objects.create(
        name=name,
        issuing_agency_code=agency,
        company_prefix=prefix,
        street_address="Werkstr. 1",
        postal_code="38440",
        country="DE",
        email=f"passport@{name.lower().replace(' ', '')}.example",
        website=f"https://{name.lower().replace(' ', '')}.example",
    )


def make_client(role: str, organisation) -> APIClient:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from passport.models import Membership

    client = APIClient()
    if role == Role.PUBLIC:
        return client
    user = get_user_model().objects.create_user(username=f"{role}-{organisation.company_prefix}")
    Membership.objects.create(user=user, organisation=organisation, role=role)
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = user
    return client


def make_model(manufacturer, number: str, kind: str, **overrides):
    from passport.models import BatteryModel

    defaults = {
        "name": f"{kind.title()} {number}",
        "category": BatteryCategory.EV,
        "chemistry": "NMC811",
        "rated_capacity_ah": Decimal("5.0"),
        "nominal_voltage_v": Decimal("3.6"),
    }
    defaults.update(overrides)
    return BatteryModel.objects.create(manufacturer=manufacturer, model_number=number, kind=kind, **defaults)


@pytest.fixture
def manufacturer(db):
    return make_organisation("Voltora Cells", "4012345")


@pytest.fixture
def other_manufacturer(db):
    return make_organisation("Nordpack Systems", "4098765")


@pytest.fixture
def recycler(db):
    return make_organisation("Circulum Recycling", "4055555")


@pytest.fixture
def authority_org(db):
    return make_organisation("Federal Market Surveillance", "4077777")


@pytest.fixture
def public_client(db) -> APIClient:
    return APIClient()


@pytest.fixture
def operator_client(manufacturer) -> APIClient:
    return make_client(Role.ECONOMIC_OPERATOR, manufacturer)


@pytest.fixture
def other_operator_client(other_manufacturer) -> APIClient:
    return make_client(Role.ECONOMIC_OPERATOR, other_manufacturer)


@pytest.fixture
def legitimate_interest_client(recycler) -> APIClient:
    return make_client(Role.LEGITIMATE_INTEREST, recycler)


@pytest.fixture
def authority_client(authority_org) -> APIClient:
    return make_client(Role.AUTHORITY, authority_org)


@pytest.fixture
def role_clients(public_client, legitimate_interest_client, authority_client, operator_client) -> dict:
    return {
        Role.PUBLIC: public_client,
        Role.LEGITIMATE_INTEREST: legitimate_interest_client,
        Role.AUTHORITY: authority_client,
        Role.ECONOMIC_OPERATOR: operator_client,
    }


@pytest.fixture
def cell_model(manufacturer):
    return make_model(manufacturer, "VC-21700-50E", BatteryKind.CELL, mass_kg=Decimal("0.069"))


@pytest.fixture
def module_model(manufacturer):
    return make_model(
        manufacturer,
        "VC-M12",
        BatteryKind.MODULE,
        rated_capacity_ah=Decimal("50"),
        nominal_voltage_v=Decimal("43.2"),
    )


@pytest.fixture
def pack_model(manufacturer):
    return make_model(
        manufacturer,
        "VC-P75",
        BatteryKind.PACK,
        rated_capacity_ah=Decimal("200"),
        nominal_voltage_v=Decimal("400"),
        rated_energy_kwh=Decimal("75"),
        mass_kg=Decimal("450"),
    )


def cell_rows(count: int, *, model: str = "VC-21700-50E", prefix: str = "C", start: int = 0) -> list[dict]:
    return [
        {
            "serial_number": f"{prefix}{start + i:08d}",
            "model": model,
            "manufactured_at": MANUFACTURED.isoformat(),
        }
        for i in range(count)
    ]
