"""Registering batteries: single, bulk, nested packs; and what bad input does (nothing)."""

from __future__ import annotations

import pytest

from passport.models import Battery, Composition, Passport
from tests.support.fixtures import MANUFACTURED, cell_rows

pytestmark = pytest.mark.django_db


def test_single_registration_mints_iso15459_identifier_and_passport(
    operator_client, cell_model, manufacturer
):
    response = operator_client.post("/api/batteries/", cell_rows(1)[0], format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["identifier"] == "04012345C00000000"  # agency code + company prefix + serial
    assert body["kind"] == "cell"
    assert body["status"] == "Original"
    assert body["passport"]["identifier"].startswith("urn:cellpass:")
    assert body["iri"].endswith(f"/id/battery/{body['id']}")
    assert body["qr_url"].endswith("/p/04012345C00000000")
    battery = Battery.objects.get(identifier="04012345C00000000")
    assert battery.operator == manufacturer
    assert battery.passports.count() == 1


def test_bulk_registration_stores_every_row(operator_client, cell_model):
    response = operator_client.post("/api/batteries/bulk/", {"batteries": cell_rows(500)}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 500
    assert Battery.objects.count() == 500
    assert Passport.objects.count() == 500


def test_bulk_with_one_bad_row_stores_nothing_and_names_the_row(operator_client, cell_model):
    rows = cell_rows(10_000)
    rows[7321]["manufactured_at"] = "yesterday"
    response = operator_client.post("/api/batteries/bulk/", {"batteries": rows}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors == [{"row": 7321, "path": "/manufactured_at", "message": errors[0]["message"]}]
    assert "datetime" in errors[0]["message"]
    assert Battery.objects.count() == 0


def test_bulk_with_unknown_model_names_row_and_field(operator_client, cell_model):
    rows = cell_rows(3)
    rows[2]["model"] = "NO-SUCH-MODEL"
    response = operator_client.post("/api/batteries/bulk/", {"batteries": rows}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] == 2
    assert response.json()["errors"][0]["path"] == "/model"
    assert Battery.objects.count() == 0


def test_unknown_field_is_rejected(operator_client, cell_model):
    row = {**cell_rows(1)[0], "colour": "blue"}
    response = operator_client.post("/api/batteries/", row, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/colour"
    assert "row" not in response.json()["errors"][0]


def test_duplicate_identifier_is_a_conflict_that_names_it(operator_client, cell_model):
    assert operator_client.post("/api/batteries/", cell_rows(1)[0], format="json").status_code == 201
    response = operator_client.post("/api/batteries/bulk/", {"batteries": cell_rows(3)}, format="json")
    assert response.status_code == 409
    assert "04012345C00000000" in response.json()["message"]
    assert Battery.objects.count() == 1


def test_duplicate_within_one_request_is_a_conflict(operator_client, cell_model):
    rows = cell_rows(2)
    rows[1]["serial_number"] = rows[0]["serial_number"]
    response = operator_client.post("/api/batteries/bulk/", {"batteries": rows}, format="json")
    assert response.status_code == 409
    assert "04012345C00000000" in response.json()["message"]
    assert Battery.objects.count() == 0


def test_serial_number_outside_iso15459_charset_is_rejected(operator_client, cell_model):
    row = {**cell_rows(1)[0], "serial_number": "c 0001"}
    response = operator_client.post("/api/batteries/", row, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/serial_number"


def test_too_many_rows_is_refused(operator_client, cell_model, settings):
    settings.CELLPASS_BULK_MAX_ROWS = 5
    response = operator_client.post("/api/batteries/bulk/", {"batteries": cell_rows(6)}, format="json")
    assert response.status_code == 400
    assert "at most 5" in response.json()["errors"][0]["message"]


def test_pack_registered_with_modules_and_cells(operator_client, cell_model, module_model, pack_model):
    pack = {
        "serial_number": "P0001",
        "model": "VC-P75",
        "manufactured_at": MANUFACTURED.isoformat(),
        "components": [
            {
                "position": f"M{m}",
                "battery": {
                    "serial_number": f"M000{m}",
                    "model": "VC-M12",
                    "manufactured_at": MANUFACTURED.isoformat(),
                    "components": [
                        {"position": f"C{c}", "battery": cell_rows(1, prefix=f"M{m}C", start=c)[0]}
                        for c in range(4)
                    ],
                },
            }
            for m in range(2)
        ],
    }
    response = operator_client.post("/api/batteries/", pack, format="json")
    assert response.status_code == 201, response.json()
    assert len(response.json()["registered"]) == 1 + 2 + 8
    tree = operator_client.get(f"/api/batteries/{response.json()['id']}/hierarchy/").json()
    assert [m["position"] for m in tree["components"]] == ["M0", "M1"]
    assert [c["identifier"] for c in tree["components"][1]["components"]] == [
        f"04012345M1C0000000{c}" for c in range(4)
    ]
    assert Composition.objects.filter(removed_at__isnull=True).count() == 10


def test_cell_cannot_contain_a_pack(operator_client, cell_model, pack_model):
    cell = {
        **cell_rows(1)[0],
        "components": [
            {
                "battery": {
                    "serial_number": "P1",
                    "model": "VC-P75",
                    "manufactured_at": MANUFACTURED.isoformat(),
                }
            }
        ],
    }
    response = operator_client.post("/api/batteries/", cell, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/components/0/battery/model"
    assert Battery.objects.count() == 0


def test_anonymous_and_non_operators_cannot_register(public_client, legitimate_interest_client, cell_model):
    assert public_client.post("/api/batteries/", cell_rows(1)[0], format="json").status_code in (401, 403)
    assert (
        legitimate_interest_client.post("/api/batteries/", cell_rows(1)[0], format="json").status_code == 403
    )
    assert Battery.objects.count() == 0


def test_registration_with_invalid_passport_content_names_the_schema_path(operator_client, cell_model):
    row = {**cell_rows(1)[0], "passport": {"SupplyChainDueDiligence": {"supplyChainIndicies": "high"}}}
    response = operator_client.post("/api/batteries/", row, format="json")
    assert response.status_code == 400
    paths = {e["path"] for e in response.json()["errors"]}
    assert "/passport/SupplyChainDueDiligence/supplyChainIndicies" in paths
    assert "/passport/SupplyChainDueDiligence" in paths  # supplyChainDueDiligenceReport is missing
    assert Battery.objects.count() == 0
