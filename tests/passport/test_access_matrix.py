"""The 93 x 4 access matrix: each longlist attribute reaches exactly the roles its access column names.

The expected audiences are worked out here from the conformance copy of the longlist and the
Regulation's wording, independently of the code under test; only where each attribute sits in
the payloads (passport/data/attribute_selectors.toml) is shared.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from passport import batterypass
from passport.choices import PassportCategory, Role
from passport.models import Battery, Passport, PassportSection
from passport.selectors import leaf_paths
from passport.services import content
from passport.services.content import REGISTRY_MEMBERS
from tests.support.conformance import conformance_file
from tests.support.fixtures import MANUFACTURED, cell_rows
from tests.support.payloads import maximal_payload

pytestmark = pytest.mark.django_db

ROLES = [Role.PUBLIC, Role.LEGITIMATE_INTEREST, Role.AUTHORITY, Role.ECONOMIC_OPERATOR]

# Art. 77(2), Annex XIII: who each audience of the access column is.
EXPECTED_AUDIENCE = {
    "Public": set(ROLES),
    "persons with a legitimate interest": {Role.LEGITIMATE_INTEREST, Role.ECONOMIC_OPERATOR},
    "persons with a legitimate interest and the Commission": {
        Role.LEGITIMATE_INTEREST,
        Role.AUTHORITY,
        Role.ECONOMIC_OPERATOR,
    },
    "Notified bodies, market surveillance authorities and the Commission": {
        Role.AUTHORITY,
        Role.ECONOMIC_OPERATOR,
    },
}


def expected_audiences() -> dict[int, set[str]]:
    with conformance_file("attributes_v1.2.csv").open(newline="", encoding="utf-8") as handle:
        return {
            int(row["#"]): EXPECTED_AUDIENCE[row["Access rights according to Battery Regulation"].strip()]
            for row in csv.DictReader(handle)
        }


@pytest.fixture
def complete_passport(operator_client, cell_model) -> Passport:
    row = {**cell_rows(1)[0], "put_into_service_at": "2026-04-01T00:00:00Z"}
    assert operator_client.post("/api/batteries/", row, format="json").status_code == 201
    passport = Passport.objects.get(battery__identifier="04012345C00000000")
    for category in PassportCategory:
        payload = maximal_payload(category)
        for member in REGISTRY_MEMBERS.get(category, ()):
            payload.pop(member)
        response = operator_client.put(
            f"/api/passports/{passport.id}/{category.value}/", payload, format="json"
        )
        assert response.status_code == 200, response.json()
    return passport


def _leaves(document: dict, category: str) -> dict[tuple, object]:
    return {(category, *path): value for path, value in leaf_paths(document)}


def _reached(attribute: batterypass.Attribute, full: dict[str, dict]) -> set[tuple]:
    reached = set()
    for category, selector in attribute.selectors:
        for path, value in selector.matches(full.get(category, {})):
            reached |= (
                set(_leaves(value, category))
                if not path
                else {(category, *path, *sub) for sub, _ in leaf_paths(value)}
            )
    return reached


def test_longlist_has_93_attributes_all_placed():
    catalogue = batterypass.attributes()
    assert sorted(catalogue) == list(range(1, 94))
    assert all(a.selectors for a in catalogue.values())


def test_access_matrix_93_by_4(role_clients, complete_passport):
    audiences = expected_audiences()
    assert len(audiences) == 93
    views = {}
    for role, client in role_clients.items():
        response = client.get(f"/api/passports/{complete_passport.id}/")
        assert response.status_code == 200
        assert response.json()["role"] == role
        views[role] = response.json()["categories"]
    full = views[Role.ECONOMIC_OPERATOR]
    assert set(full) == set(PassportCategory.values)
    # The operator is shown its passport whole: no member falls outside every attribute's selectors.
    assert full == json_roundtrip(content.full_content(complete_passport))
    for category, document in full.items():
        assert batterypass.validate(category, document) == [], category

    reached = {n: _reached(a, full) for n, a in batterypass.attributes().items()}
    assert all(reached.values()), [n for n, r in reached.items() if not r]
    cells = 0
    for role in ROLES:
        shown = {leaf: value for c, doc in views[role].items() for leaf, value in _leaves(doc, c).items()}
        allowed_leaves = set().union(*(reached[n] for n in audiences if role in audiences[n]))
        leaks = set(shown) - allowed_leaves
        assert not leaks, f"{role} is shown leaves no allowed attribute covers: {sorted(leaks)[:5]}"
        for number, audience in audiences.items():
            cells += 1
            if role in audience:
                missing = reached[number] - set(shown)
                assert not missing, f"attribute #{number} not served to {role}: {sorted(missing)[:3]}"
            else:
                exclusive = reached[number] - allowed_leaves
                assert exclusive, f"attribute #{number} has no value of its own to withhold from {role}"
                assert not exclusive & set(shown), f"attribute #{number} leaks to {role}"
        withheld = {n for n, audience in audiences.items() if role not in audience}
        assert set(client_withheld(role_clients[role], complete_passport)) == withheld
    assert cells == 93 * 4


def json_roundtrip(value):
    return json.loads(json.dumps(value))


def client_withheld(client, passport) -> list[int]:
    return client.get(f"/api/passports/{passport.id}/").json()["withheld_attributes"]


def test_spot_checks_against_the_regulation(role_clients, complete_passport):
    def view(role):
        return role_clients[role].get(f"/api/passports/{complete_passport.id}/").json()["categories"]

    public, interest, authority = view(Role.PUBLIC), view(Role.LEGITIMATE_INTEREST), view(Role.AUTHORITY)
    # Remaining capacity (#53) is for persons with a legitimate interest only.
    assert (
        "batteryCondition" not in public["PerformanceAndDurability"]
        or "remainingCapacity" not in public["PerformanceAndDurability"]["batteryCondition"]
    )
    assert "remainingCapacity" in interest["PerformanceAndDurability"]["batteryCondition"]
    assert "remainingCapacity" not in authority["PerformanceAndDurability"].get("batteryCondition", {})
    # Test reports (#18) are for notified bodies, market surveillance and the Commission.
    assert "resultOfTestReport" in authority["Labels"]
    assert "resultOfTestReport" not in interest["Labels"]
    assert "resultOfTestReport" not in public["Labels"]
    # Dismantling manuals (#36) are for legitimate interest and the Commission.
    assert "dismantlingAndRemovalInformation" in authority["Circularity"]
    assert "dismantlingAndRemovalInformation" not in public["Circularity"]
    # The extinguishing agent (#15) is public although it sits inside the restricted safety measures (#39).
    assert public["Circularity"]["safetyMeasures"] == {
        "extinguishingAgent": interest["Circularity"]["safetyMeasures"]["extinguishingAgent"]
    }
    # Battery status (#11) and putting into service (#7) are legitimate-interest data.
    assert "batteryStatus" not in public["GeneralProductInformation"]
    assert "puttingIntoService" not in public["GeneralProductInformation"]
    assert interest["GeneralProductInformation"]["batteryStatus"] == "Original"
    # The public learns which critical raw materials are in the battery, not their mass or place.
    materials = public["MaterialComposition"]["batteryMaterials"]
    assert materials and all(m["isCriticalRawMaterial"] for m in materials)
    assert all(
        set(m) == {"batteryMaterialName", "batteryMaterialIdentifier", "isCriticalRawMaterial"}
        for m in materials
    )


def test_registry_fields_follow_the_longlist(role_clients, complete_passport):
    battery = complete_passport.battery
    public = role_clients[Role.PUBLIC].get(f"/api/batteries/{battery.id}/").json()
    interest = role_clients[Role.LEGITIMATE_INTEREST].get(f"/api/batteries/{battery.id}/").json()
    assert "status" not in public and "put_into_service_at" not in public
    assert interest["status"] == "Original"
    assert interest["put_into_service_at"].startswith("2026-04-01")


def test_another_operator_reads_like_the_public(other_operator_client, public_client, complete_passport):
    theirs = other_operator_client.get(f"/api/passports/{complete_passport.id}/").json()
    public = public_client.get(f"/api/passports/{complete_passport.id}/").json()
    assert theirs["role"] == Role.PUBLIC
    assert theirs["categories"] == public["categories"]


def test_restricted_filters_do_not_reveal_status(role_clients, other_operator_client, complete_passport):
    assert role_clients[Role.PUBLIC].get("/api/batteries/?status=Original").status_code == 403
    assert role_clients[Role.AUTHORITY].get("/api/batteries/?status=Original").status_code == 403
    assert role_clients[Role.LEGITIMATE_INTEREST].get("/api/batteries/?status=Original").json()["count"] == 1
    assert role_clients[Role.ECONOMIC_OPERATOR].get("/api/batteries/?status=Original").json()["count"] == 1
    # Another operator's status filter only runs over its own batteries.
    assert other_operator_client.get("/api/batteries/?status=Original").json()["count"] == 0
    assert role_clients[Role.PUBLIC].get("/api/batteries/?chemistry=nmc811").json()["count"] == 1


def test_section_writes_keep_registry_members_authoritative(operator_client, complete_passport):
    url = f"/api/passports/{complete_passport.id}/GeneralProductInformation/"
    response = operator_client.patch(url, {"batteryStatus": "Waste"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/batteryStatus"
    assert Battery.objects.get().status == "Original"
    same = operator_client.patch(url, {"batteryStatus": "Original", "batteryMass": 0.069}, format="json")
    assert same.status_code == 200, same.json()
    assert not PassportSection.objects.filter(payload__has_key="batteryStatus").exists()


def test_vendored_longlist_is_the_conformance_copy():
    shared = conformance_file("attributes_v1.2.csv")
    assert (batterypass.STANDARD_DIR / "attributes_v1.2.csv").read_bytes() == shared.read_bytes()


def test_put_into_service_date_is_used(complete_passport):
    battery = complete_passport.battery
    assert battery.put_into_service_at == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert battery.manufactured_at == MANUFACTURED
