"""Battery Pass v1.2 conformance: import each sample payload, export it again, validate both ways."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from passport import batterypass
from passport.choices import PassportCategory
from passport.models import Battery
from tests.support.conformance import conformance_file
from tests.support.fixtures import make_model

pytestmark = pytest.mark.django_db

DATE_MEMBERS = {"manufacturingDate", "puttingIntoService"}


def sample(category: str) -> dict:
    return json.loads(conformance_file(category, "sample-payload.json").read_text())


def as_ijson(value):
    """Numbers as RFC 7493 (I-JSON) reads them: IEEE 754 doubles."""
    if isinstance(value, dict):
        return {k: as_ijson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_ijson(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def imported_battery(operator_client, manufacturer) -> str:
    make_model(manufacturer, "LMT-48", "pack", category="lmt")
    payload = sample("GeneralProductInformation")
    response = operator_client.post(
        "/api/import/GeneralProductInformation/?model=LMT-48", payload, format="json"
    )
    assert response.status_code == 201, response.json()
    return payload["productIdentifier"]


def test_vendored_schemas_are_the_conformance_copies():
    for category in PassportCategory:
        shared = conformance_file(category.value, "schema.json")
        vendored = batterypass.STANDARD_DIR / f"{category.value}.schema.json"
        assert vendored.read_bytes() == shared.read_bytes(), category


def test_errata_only_widen_the_schemas():
    """Every sample keeps the verdict the upstream schema gives it."""
    from jsonschema import Draft4Validator

    for category in PassportCategory:
        payload = sample(category.value)
        upstream = Draft4Validator(
            batterypass.upstream_schema(category.value), format_checker=Draft4Validator.FORMAT_CHECKER
        )
        assert upstream.is_valid(payload) == (batterypass.validate(category.value, payload) == []), category
    assert (
        batterypass.validate(
            "GeneralProductInformation",
            {
                **sample("GeneralProductInformation"),
                "manufacturerInformation": {
                    **sample("GeneralProductInformation")["manufacturerInformation"],
                    "emailAddress": "passport@voltora.example",
                },
            },
        )
        == []
    )


@pytest.mark.parametrize("category", [c.value for c in PassportCategory if c.value != "MaterialComposition"])
def test_sample_payload_round_trips(operator_client, imported_battery, category):
    payload = sample(category)
    if category != "GeneralProductInformation":
        response = operator_client.post(
            f"/api/import/{category}/?battery={imported_battery}", payload, format="json"
        )
        assert response.status_code == 200, response.json()
    passport = Battery.objects.get(identifier=imported_battery).passports.get()
    exported = operator_client.get(f"/api/passports/{passport.id}/{category}/").json()
    assert batterypass.validate(category, exported) == []
    for member in DATE_MEMBERS & set(payload):
        assert _instant(exported.pop(member)) == _instant(payload.pop(member))
    assert as_ijson(exported) == as_ijson(payload)


def test_material_composition_sample_is_rejected_with_its_offending_path(operator_client, imported_battery):
    response = operator_client.post(
        f"/api/import/MaterialComposition/?battery={imported_battery}",
        sample("MaterialComposition"),
        format="json",
    )
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["/batteryMaterials/0/batteryMaterialIdentifier"]
    passport = Battery.objects.get(identifier=imported_battery).passports.get()
    assert not passport.sections.filter(category="MaterialComposition").exists()


def test_import_of_a_new_battery_needs_its_model(operator_client, manufacturer):
    response = operator_client.post(
        "/api/import/GeneralProductInformation/", sample("GeneralProductInformation"), format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "model"
    assert not Battery.objects.exists()


def test_import_refuses_a_category_mismatch_and_writes_nothing(operator_client, manufacturer):
    make_model(manufacturer, "EV-1", "pack", category="ev")
    response = operator_client.post(
        "/api/import/GeneralProductInformation/?model=EV-1",
        sample("GeneralProductInformation"),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/batteryCategory"
    assert not Battery.objects.exists()


def test_another_operator_cannot_import_onto_my_battery(other_operator_client, imported_battery):
    response = other_operator_client.post(
        f"/api/import/CarbonFootprint/?battery={imported_battery}", sample("CarbonFootprint"), format="json"
    )
    assert response.status_code == 403
