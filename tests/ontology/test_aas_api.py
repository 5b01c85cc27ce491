"""The AAS Part 2 API's behaviour beyond the IDTA suites: role filtering, the shell lookup, operator
writes mapped back to the passport, and metamodel-constraint rejections that write nothing."""

from __future__ import annotations

import base64
import io
import json

import pytest
from aas_test_engines import file
from django.core.management import call_command
from rest_framework.test import APIClient

from lifecycle.services import demo as lifecycle_demo
from ontology.aas import build
from passport.choices import Role
from passport.models import Battery, Organisation, Passport
from passport.services import content
from passport.services import demo as passport_demo
from tests.support.fixtures import make_client

API = "/aas/api/v3.0"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def demo(db):
    access, _ = passport_demo.seed()
    lifecycle_demo.seed()
    pack = Battery.objects.filter(kind="pack").order_by("identifier").first()
    clients = {Role.PUBLIC: APIClient()}
    for entry in access:
        if entry.role != Role.ECONOMIC_OPERATOR:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {entry.token}")
            clients.setdefault(entry.role, client)
    clients["operator"] = make_client(Role.ECONOMIC_OPERATOR, pack.operator)
    stranger = (
        Organisation.objects.exclude(pk=pack.operator_id).exclude(pk=pack.model.manufacturer_id).first()
    )
    clients["other_operator"] = make_client(Role.ECONOMIC_OPERATOR, stranger)
    return pack, clients


def submodel_url(pack: Battery, name: str, tail: str = "") -> str:
    return f"{API}/submodels/{b64(build.submodel_id(pack.pk, name))}{tail}"


def test_public_shell_lists_no_history_and_hides_restricted_attributes(demo):
    pack, clients = demo
    shell = clients[Role.PUBLIC].get(f"{API}/shells/{b64(build.shell_id(pack.pk))}").json()
    assert shell["assetInformation"]["globalAssetId"] == pack.identifier
    refs = {ref["keys"][0]["value"].rsplit("/", 1)[-1] for ref in shell["submodels"]}
    assert "GeneralProductInformation" in refs
    assert not refs & {build.HISTORY, build.PROVENANCE, build.HEALTH}
    history = clients[Role.PUBLIC].get(submodel_url(pack, build.HISTORY))
    assert history.status_code == 404
    assert history.json()["messages"][0]["messageType"] == "Error"

    passport = Passport.objects.get(battery=pack, state="active")
    for role in (Role.PUBLIC, Role.LEGITIMATE_INTEREST):
        # The value-only form of a category submodel is exactly the role's Battery Pass payload.
        expected = content.role_view(passport, role)
        for category, payload in expected.items():
            got = clients[role].get(submodel_url(pack, category, "/$value"))
            assert got.status_code == 200, got.content
            assert got.json() == json.loads(json.dumps(payload)), category
    public = content.role_view(passport, Role.PUBLIC)
    interested = content.role_view(passport, Role.LEGITIMATE_INTEREST)
    assert public != interested  # the test would prove nothing if both roles saw the same


def test_history_and_provenance_for_legitimate_interest(demo):
    pack, clients = demo
    client = clients[Role.LEGITIMATE_INTEREST]
    history = client.get(submodel_url(pack, build.HISTORY, "/$value"))
    assert history.status_code == 200
    records = history.json()["records"]
    assert records and records[0]["sequence"] == 1 and len(records[0]["recordHash"]) == 64
    provenance = client.get(submodel_url(pack, build.PROVENANCE, "/$value")).json()
    assert provenance["chainLength"] == len(records)
    assert provenance["latestRecordHash"] == records[-1]["recordHash"]
    submodel = client.get(submodel_url(pack, build.HISTORY)).json()
    assert submodel["semanticId"]["keys"][0]["value"] == "https://w3id.org/cellpass/ns#LifecycleHistory"


def test_category_submodel_uses_battery_pass_semantic_ids(demo):
    pack, clients = demo
    submodel = clients[Role.PUBLIC].get(submodel_url(pack, "GeneralProductInformation")).json()
    assert submodel["idShort"] == "GeneralProductInformation"
    assert submodel["semanticId"]["keys"][0]["value"] == (
        "urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#GeneralProductInformation"
    )
    product = next(e for e in submodel["submodelElements"] if e["idShort"] == "productIdentifier")
    assert product["valueType"] == "xs:string" and product["value"] == pack.identifier
    assert product["semanticId"]["keys"][0]["value"].endswith("#productIdentifier")
    element = clients[Role.PUBLIC].get(
        submodel_url(pack, "GeneralProductInformation", "/submodel-elements/manufacturingPlace.postalCode")
    )
    assert element.status_code == 200 and element.json()["modelType"] == "Property"


def test_lookup_and_asset_id_filter(demo):
    pack, clients = demo
    asset = b64(json.dumps({"name": "globalAssetId", "value": pack.identifier}))
    found = clients[Role.PUBLIC].get(f"{API}/lookup/shells", {"assetIds": asset}).json()
    assert found["result"] == [build.shell_id(pack.pk)]
    shells = clients[Role.PUBLIC].get(f"{API}/shells", {"assetIds": asset}).json()["result"]
    assert [s["id"] for s in shells] == [build.shell_id(pack.pk)]
    bad = clients[Role.PUBLIC].get(f"{API}/lookup/shells", {"assetIds": "not base64!"})
    assert bad.status_code == 400 and "base64url" in bad.json()["messages"][0]["text"]


def test_paging_with_cursor(demo):
    _, clients = demo
    first = clients[Role.PUBLIC].get(f"{API}/submodels", {"limit": 3}).json()
    second = (
        clients[Role.PUBLIC]
        .get(f"{API}/submodels", {"limit": 3, "cursor": first["paging_metadata"]["cursor"]})
        .json()
    )
    ids = [s["id"] for s in first["result"] + second["result"]]
    assert len(ids) == 6 == len(set(ids))
    assert clients[Role.PUBLIC].get(f"{API}/submodels", {"limit": 0}).status_code == 400


def _mass_submodel(clients, pack) -> dict:
    return clients["operator"].get(submodel_url(pack, "CarbonFootprint")).json()


def test_operator_writes_a_category_submodel(demo):
    pack, clients = demo
    submodel = _mass_submodel(clients, pack)
    footprint = next(e for e in submodel["submodelElements"] if e["idShort"] == "absoluteCarbonFootprint")
    footprint["value"] = "4321"
    response = clients["operator"].put(submodel_url(pack, "CarbonFootprint"), submodel, format="json")
    assert response.status_code == 204, response.content
    passport = Passport.objects.get(battery=pack, state="active")
    assert content.full_content(passport)["CarbonFootprint"]["absoluteCarbonFootprint"] == 4321
    value = clients["operator"].get(submodel_url(pack, "CarbonFootprint", "/$value")).json()
    assert value["absoluteCarbonFootprint"] == 4321

    element = dict(footprint, value="1234")
    path = "/submodel-elements/absoluteCarbonFootprint"
    response = clients["operator"].put(submodel_url(pack, "CarbonFootprint", path), element, format="json")
    assert response.status_code == 204, response.content
    passport.refresh_from_db()
    assert content.full_content(passport)["CarbonFootprint"]["absoluteCarbonFootprint"] == 1234


@pytest.mark.parametrize("who", [Role.PUBLIC, Role.LEGITIMATE_INTEREST, "other_operator"])
def test_only_the_operator_writes(demo, who):
    pack, clients = demo
    submodel = _mass_submodel(clients, pack)
    response = clients[who].put(submodel_url(pack, "CarbonFootprint"), submodel, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["messages"][0]["text"]


def test_constraint_violation_is_rejected_with_its_number_and_writes_nothing(demo):
    pack, clients = demo
    passport = Passport.objects.get(battery=pack, state="active")
    before = (passport.revision, content.full_content(passport))
    submodel = _mass_submodel(clients, pack)
    submodel["submodelElements"][0]["idShort"] = "1starts-with-a-digit"
    response = clients["operator"].put(submodel_url(pack, "CarbonFootprint"), submodel, format="json")
    assert response.status_code == 400
    text = response.json()["messages"][0]["text"]
    assert "Constraint AASd-002" in text and "nothing was written" in text
    passport.refresh_from_db()
    assert (passport.revision, content.full_content(passport)) == before


def test_schema_violation_names_the_field_and_writes_nothing(demo):
    pack, clients = demo
    passport = Passport.objects.get(battery=pack, state="active")
    revision = passport.revision
    submodel = clients["operator"].get(submodel_url(pack, "GeneralProductInformation")).json()
    status = next(e for e in submodel["submodelElements"] if e["idShort"] == "batteryStatus")
    status["value"] = "Waste"  # the registry owns the status: a write must agree with it
    response = clients["operator"].put(
        submodel_url(pack, "GeneralProductInformation"), submodel, format="json"
    )
    assert response.status_code == 400
    assert "/batteryStatus" in response.json()["messages"][0]["text"]
    passport.refresh_from_db()
    assert passport.revision == revision


def test_derived_submodels_are_read_only(demo):
    pack, clients = demo
    submodel = clients["operator"].get(submodel_url(pack, build.HISTORY)).json()
    response = clients["operator"].put(submodel_url(pack, build.HISTORY), submodel, format="json")
    assert response.status_code == 403 and "cannot be written" in response.json()["messages"][0]["text"]


def test_export_download_and_command(demo, tmp_path):
    pack, clients = demo
    response = clients[Role.PUBLIC].get(f"/aas/export/{pack.pk}", {"format": "aasx"})
    assert response.status_code == 200
    assert file.check_aasx_file(io.BytesIO(response.content)).ok()
    target = tmp_path / "pack.xml"
    call_command("aas_export", pack.identifier, "--format", "xml", "-o", str(target), stdout=io.StringIO())
    data = target.read_bytes()
    assert b"https://admin-shell.io/aas/3/0" in data and build.HISTORY.encode() in data
    assert file.check_xml_file(io.BytesIO(data)).ok()
