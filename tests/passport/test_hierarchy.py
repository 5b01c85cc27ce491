"""Hierarchy and composition history: which cell was in which module when."""

from __future__ import annotations

import datetime as dt

import pytest

from passport.models import Composition
from tests.support.fixtures import cell_rows

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def register(client, rows) -> list[dict]:
    response = client.post("/api/batteries/bulk/", {"batteries": rows}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["batteries"]


@pytest.fixture
def module_and_cells(operator_client, cell_model, module_model):
    cells = register(operator_client, cell_rows(3))
    module = register(operator_client, [{**cell_rows(1, prefix="M")[0], "model": "VC-M12"}])[0]
    return module, cells


def install(client, parent, child, position, at):
    return client.post(
        f"/api/batteries/{parent['id']}/components/",
        {"identifier": child["identifier"], "position": position, "installed_at": at.isoformat()},
        format="json",
    )


def test_replacing_a_cell_keeps_the_history(operator_client, module_and_cells):
    module, (a, b, c) = module_and_cells
    assert install(operator_client, module, a, "S1", T0).status_code == 201
    assert install(operator_client, module, b, "S2", T0).status_code == 201
    removed = operator_client.post(
        f"/api/batteries/{module['id']}/components/remove/",
        {
            "identifier": b["identifier"],
            "removed_at": (T0 + dt.timedelta(days=30)).isoformat(),
            "reason": "capacity outlier",
        },
        format="json",
    )
    assert removed.status_code == 200, removed.json()
    assert install(operator_client, module, c, "S2", T0 + dt.timedelta(days=30)).status_code == 201

    now = operator_client.get(f"/api/batteries/{module['id']}/hierarchy/").json()
    assert [(n["position"], n["identifier"]) for n in now["components"]] == [
        ("S1", a["identifier"]),
        ("S2", c["identifier"]),
    ]
    then = operator_client.get(
        f"/api/batteries/{module['id']}/hierarchy/", {"at": (T0 + dt.timedelta(days=1)).isoformat()}
    ).json()
    assert [(n["position"], n["identifier"]) for n in then["components"]] == [
        ("S1", a["identifier"]),
        ("S2", b["identifier"]),
    ]
    history = operator_client.get(f"/api/batteries/{module['id']}/composition-history/").json()
    assert [(h["child"], h["removed_at"] is None) for h in history] == [
        (a["identifier"], True),
        (b["identifier"], False),
        (c["identifier"], True),
    ]
    assert history[1]["reason"] == "capacity outlier"
    cell_view = operator_client.get(f"/api/batteries/{a['id']}/hierarchy/").json()
    assert [p["identifier"] for p in cell_view["parents"]] == [module["identifier"]]


def test_a_cell_is_in_one_module_at_a_time(operator_client, module_and_cells, module_model):
    module, (a, _, _) = module_and_cells
    other = register(operator_client, [{**cell_rows(1, prefix="N")[0], "model": "VC-M12"}])[0]
    assert install(operator_client, module, a, "S1", T0).status_code == 201
    response = install(operator_client, other, a, "S1", T0)
    assert response.status_code == 409
    assert module["identifier"] in response.json()["message"]
    assert Composition.objects.count() == 1


def test_a_module_cannot_go_into_a_cell(operator_client, module_and_cells):
    module, (a, _, _) = module_and_cells
    response = install(operator_client, a, module, "", T0)
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/child"


def test_removal_before_installation_is_rejected(operator_client, module_and_cells):
    module, (a, _, _) = module_and_cells
    install(operator_client, module, a, "S1", T0)
    response = operator_client.post(
        f"/api/batteries/{module['id']}/components/remove/",
        {"identifier": a["identifier"], "removed_at": (T0 - dt.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/removed_at"
    assert Composition.objects.get().removed_at is None
