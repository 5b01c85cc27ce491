"""An operator writes its own batteries and nobody else's; readers never write."""

from __future__ import annotations

import datetime as dt

import pytest

from passport.models import Battery, BatteryModel, PassportSection
from tests.support.fixtures import cell_rows, make_model

pytestmark = pytest.mark.django_db

SCDD = {"supplyChainDueDiligenceReport": "https://voltora.example/due-diligence-2026.pdf"}


@pytest.fixture
def battery(operator_client, cell_model) -> dict:
    response = operator_client.post("/api/batteries/", cell_rows(1)[0], format="json")
    assert response.status_code == 201
    return response.json()


def test_operator_writes_its_own_passport(operator_client, battery):
    url = f"/api/passports/{battery['passport']['id']}/SupplyChainDueDiligence/"
    response = operator_client.put(url, SCDD, format="json")
    assert response.status_code == 200, response.json()
    assert operator_client.get(url).json() == SCDD


@pytest.mark.parametrize(
    "client_name",
    ["other_operator_client", "legitimate_interest_client", "authority_client", "public_client"],
)
def test_nobody_else_writes_it(request, battery, client_name):
    client = request.getfixturevalue(client_name)
    url = f"/api/passports/{battery['passport']['id']}/SupplyChainDueDiligence/"
    assert client.put(url, SCDD, format="json").status_code in (401, 403)
    assert client.patch(
        f"/api/batteries/{battery['id']}/", {"put_into_service_at": "2026-06-01T00:00:00Z"}, format="json"
    ).status_code in (401, 403)
    assert not PassportSection.objects.exists()
    assert Battery.objects.get().put_into_service_at is None


def test_other_operator_cannot_use_my_cells_or_my_models(other_operator_client, other_manufacturer, battery):
    make_model(other_manufacturer, "NP-M1", "module")
    row = {
        **cell_rows(1, prefix="X")[0],
        "model": "NP-M1",
        "components": [{"identifier": battery["identifier"]}],
    }
    response = other_operator_client.post("/api/batteries/", row, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/components/0/identifier"
    mine = cell_rows(1, prefix="Y")[0]  # model VC-21700-50E belongs to the first manufacturer
    response = other_operator_client.post("/api/batteries/", mine, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "/model"
    assert Battery.objects.count() == 1


def test_other_operator_cannot_change_my_model(other_operator_client, cell_model):
    response = other_operator_client.patch(
        f"/api/battery-models/{cell_model.id}/", {"name": "mine now"}, format="json"
    )
    assert response.status_code == 403
    response = other_operator_client.put(
        f"/api/battery-models/{cell_model.id}/content/SupplyChainDueDiligence/", SCDD, format="json"
    )
    assert response.status_code == 403
    assert BatteryModel.objects.get(pk=cell_model.pk).name != "mine now"


def test_model_content_is_shared_by_the_series_and_checked_against_each_passport(
    operator_client, cell_model, battery
):
    url = f"/api/battery-models/{cell_model.id}/content/SupplyChainDueDiligence/"
    assert operator_client.put(url, SCDD, format="json").status_code == 200
    passport = operator_client.get(f"/api/passports/{battery['passport']['id']}/").json()
    assert passport["categories"]["SupplyChainDueDiligence"] == SCDD
    bad = operator_client.put(url, {"supplyChainIndicies": "very"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["path"] == "/supplyChainIndicies"


def test_model_content_cannot_claim_registry_members(operator_client, cell_model):
    url = f"/api/battery-models/{cell_model.id}/content/GeneralProductInformation/"
    response = operator_client.put(url, {"batteryStatus": "Original"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/batteryStatus"


def test_passport_write_with_bad_content_names_the_path_and_keeps_the_old(operator_client, battery):
    url = f"/api/passports/{battery['passport']['id']}/SupplyChainDueDiligence/"
    operator_client.put(url, SCDD, format="json")
    response = operator_client.patch(url, {"supplyChainIndicies": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "/supplyChainIndicies", "message": "'x' is not of type 'number'"}
    ]
    assert PassportSection.objects.get().payload == SCDD


def test_unknown_category_is_404(operator_client, battery):
    response = operator_client.get(f"/api/passports/{battery['passport']['id']}/Colour/")
    assert response.status_code == 404
    assert "GeneralProductInformation" in response.json()["message"]


def test_qr_landing_serves_the_public_passport(public_client, battery):
    response = public_client.get(f"/p/{battery['identifier']}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert battery["identifier"] in response.content.decode()
    assert "Battery status" in response.content.decode()  # listed among what is not shown
    as_json = public_client.get(f"/p/{battery['identifier']}").json()
    assert as_json["role"] == "public"
    assert dt.datetime.fromisoformat(as_json["created_at"].replace("Z", "+00:00"))
    assert public_client.get("/p/NOPE").status_code == 404


def test_iri_dereferences_to_the_resource(public_client, battery):
    response = public_client.get(f"/id/battery/{battery['id']}")
    assert response.status_code == 303
    assert response["Location"] == f"/api/batteries/{battery['id']}/"


def test_openapi_schema_is_served(public_client):
    response = public_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/batteries/bulk/" in schema["paths"]
    assert public_client.get("/api/docs/").status_code == 200
