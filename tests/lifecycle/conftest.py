"""Fixtures for the lifecycle suites: batteries with a history, and the other parties of a battery's life."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from passport.choices import BatteryKind, Role
from tests.support.fixtures import MANUFACTURED, cell_rows, make_client, make_model, make_organisation

T1 = MANUFACTURED + dt.timedelta(days=30)


def register(client, rows) -> list[dict]:
    response = client.post("/api/batteries/bulk/", {"batteries": rows}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["batteries"]


def post_event(client, battery_id, event_type: str, payload: dict, *, at: dt.datetime = T1, **extra):
    body = {"type": event_type, "occurred_at": at.isoformat(), "payload": payload, **extra}
    return client.post(f"/api/batteries/{battery_id}/events/", body, format="json")


@pytest.fixture
def second_life_operator(db):
    return make_organisation("Second Life Storage", "4099999")


@pytest.fixture
def second_life_client(second_life_operator):
    return make_client(Role.ECONOMIC_OPERATOR, second_life_operator)


@pytest.fixture
def waste_operator(db):
    return make_organisation("Urban Mine Recycling", "4088888")


@pytest.fixture
def waste_client(waste_operator):
    return make_client(Role.ECONOMIC_OPERATOR, waste_operator)


@pytest.fixture
def cells(operator_client, cell_model) -> list[dict]:
    return register(operator_client, cell_rows(4))


@pytest.fixture
def module_with_cells(operator_client, cells, module_model) -> tuple[dict, list[dict]]:
    module = register(operator_client, [{**cell_rows(1, prefix="M")[0], "model": "VC-M12"}])[0]
    for position, cell in zip(("S1", "S2", "S3"), cells[:3], strict=True):
        response = operator_client.post(
            f"/api/batteries/{module['id']}/components/",
            {
                "identifier": cell["identifier"],
                "position": position,
                "installed_at": MANUFACTURED.isoformat(),
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
    return module, cells


@pytest.fixture
def nasa_model(manufacturer):
    return make_model(
        manufacturer,
        "NASA-18650",
        BatteryKind.CELL,
        chemistry="LCO",
        rated_capacity_ah=Decimal("2.0"),
        nominal_voltage_v=Decimal("3.7"),
        rated_energy_kwh=Decimal("0.0074"),
    )


@pytest.fixture
def nasa_cell(operator_client, nasa_model) -> dict:
    row = {**cell_rows(1, prefix="NASA")[0], "model": "NASA-18650", "manufactured_at": "2007-01-01T00:00:00Z"}
    return register(operator_client, [row])[0]
