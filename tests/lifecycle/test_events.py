"""Every lifecycle event type through the API: validation, who may record it, and what it changes."""

from __future__ import annotations

import datetime as dt

import pytest

from lifecycle.choices import EventType
from lifecycle.models import LifecycleEvent, MerkleNode
from lifecycle.models.append_only import AppendOnlyError
from passport.choices import BatteryStatus, PassportState
from passport.models import Battery, Passport
from tests.lifecycle.conftest import T1, post_event

pytestmark = pytest.mark.django_db

MANUFACTURING = [
    (EventType.FORMATION, {"cycles": 3, "capacity_ah": 5.02, "duration_h": 20.5, "temperature_c": 25}),
    (
        EventType.END_OF_LINE_TEST,
        {
            "capacity_ah": 5.01,
            "internal_resistance_mohm": 18.5,
            "ocv_v": 3.61,
            "passed": True,
            "test_station": "EOL-3",
        },
    ),
    (EventType.QUALITY_RELEASE, {"released": True, "certificate": "QR-2026-0001"}),
]
OPERATION = [
    (EventType.NEGATIVE_EVENT, {"kind": "thermal_event", "description": "Cell at 71 °C during fast charge"}),
    (EventType.INSPECTION, {"passed": True, "findings": "No swelling, torque marks intact"}),
    (EventType.REPAIR, {"description": "Replaced coolant hose", "parts": ["HOSE-17"]}),
]


@pytest.mark.parametrize(("event_type", "payload"), MANUFACTURING + OPERATION)
def test_each_simple_event_is_chained_and_logged(operator_client, cells, event_type, payload):
    cell = cells[0]
    response = post_event(operator_client, cell["id"], event_type, payload)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["type"] == event_type and body["sequence"] == 1 and body["previous_hash"] is None
    assert body["payload"].items() >= payload.items()
    assert len(body["record_hash"]) == 64
    stored = LifecycleEvent.objects.get(pk=body["id"])
    assert MerkleNode.objects.filter(level=0, index=stored.log_index).exists()


def test_records_form_one_chain_per_battery(operator_client, cells):
    hashes = []
    for n, (event_type, payload) in enumerate(MANUFACTURING + OPERATION):
        body = post_event(
            operator_client, cells[0]["id"], event_type, payload, at=T1 + dt.timedelta(hours=n)
        ).json()
        assert body["sequence"] == n + 1
        assert body["previous_hash"] == (hashes[-1] if hashes else None)
        hashes.append(body["record_hash"])
    other = post_event(operator_client, cells[1]["id"], *OPERATION[1]).json()
    assert other["sequence"] == 1 and other["previous_hash"] is None
    listed = operator_client.get(f"/api/batteries/{cells[0]['id']}/events/").json()["results"]
    assert [event["record_hash"] for event in listed] == hashes
    # Log positions are unique and gap-free across batteries.
    indexes = sorted(LifecycleEvent.objects.values_list("log_index", flat=True))
    assert indexes == list(range(len(indexes)))


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"type": "operation.bogus", "occurred_at": T1.isoformat(), "payload": {}}, "/type"),
        (
            {
                "type": EventType.INSPECTION,
                "occurred_at": "yesterday",
                "payload": {"passed": True, "findings": "x"},
            },
            "/occurred_at",
        ),
        (
            {
                "type": EventType.INSPECTION,
                "occurred_at": "2026-04-01T10:00:00",
                "payload": {"passed": True, "findings": "x"},
            },
            "/occurred_at",
        ),
        (
            {
                "type": EventType.INSPECTION,
                "occurred_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat(),
                "payload": {"passed": True, "findings": "x"},
            },
            "/occurred_at",
        ),
        (
            {
                "type": EventType.INSPECTION,
                "occurred_at": "2020-01-01T00:00:00Z",
                "payload": {"passed": True, "findings": "x"},
            },
            "/occurred_at",
        ),
        (
            {"type": EventType.INSPECTION, "occurred_at": T1.isoformat(), "payload": {"passed": True}},
            "/payload/findings",
        ),
        (
            {
                "type": EventType.INSPECTION,
                "occurred_at": T1.isoformat(),
                "payload": {"passed": True, "findings": "x", "colour": "red"},
            },
            "/payload/colour",
        ),
        (
            {
                "type": EventType.NEGATIVE_EVENT,
                "occurred_at": T1.isoformat(),
                "payload": {"kind": "meteor", "description": "x"},
            },
            "/payload/kind",
        ),
        (
            {
                "type": EventType.FORMATION,
                "occurred_at": T1.isoformat(),
                "payload": {"cycles": 3, "capacity_ah": -1},
            },
            "/payload/capacity_ah",
        ),
        ({"type": EventType.TELEMETRY, "occurred_at": T1.isoformat(), "payload": {}}, "/type"),
        (
            {
                "type": EventType.INSPECTION,
                "occurred_at": T1.isoformat(),
                "payload": {"passed": True, "findings": "x"},
                "severity": 3,
            },
            "/severity",
        ),
        (
            {
                "type": EventType.CORRECTION,
                "occurred_at": T1.isoformat(),
                "payload": {"reason": "typo", "correction": {}},
            },
            "/corrects",
        ),
    ],
)
def test_bad_events_are_refused_naming_the_field_and_write_nothing(operator_client, cells, body, path):
    before = (LifecycleEvent.objects.count(), MerkleNode.objects.count())
    response = operator_client.post(f"/api/batteries/{cells[0]['id']}/events/", body, format="json")
    assert response.status_code == 400, response.json()
    assert path in [error["path"] for error in response.json()["errors"]]
    assert (LifecycleEvent.objects.count(), MerkleNode.objects.count()) == before


def test_only_the_operator_records_and_only_entitled_readers_read(
    operator_client, other_operator_client, public_client, legitimate_interest_client, authority_client, cells
):
    battery = cells[0]["id"]
    assert post_event(other_operator_client, battery, *OPERATION[1]).status_code == 403
    assert post_event(legitimate_interest_client, battery, *OPERATION[1]).status_code == 403
    assert post_event(public_client, battery, *OPERATION[1]).status_code in (401, 403)
    assert LifecycleEvent.objects.count() == 0
    event = post_event(operator_client, battery, *OPERATION[1]).json()
    for client in (legitimate_interest_client, authority_client, operator_client):
        assert client.get(f"/api/batteries/{battery}/events/").status_code == 200
        assert client.get(f"/api/events/{event['id']}/").status_code == 200
    for client in (public_client, other_operator_client):
        assert client.get(f"/api/batteries/{battery}/events/").status_code == 403
        assert client.get(f"/api/events/{event['id']}/proof/").status_code == 403


def test_module_replacement_updates_the_composition_history(operator_client, module_with_cells):
    module, cells = module_with_cells
    spare = cells[3]
    response = post_event(
        operator_client,
        module["id"],
        EventType.REPLACEMENT,
        {
            "removed": cells[1]["identifier"],
            "installed": spare["identifier"],
            "position": "S2",
            "reason": "weak",
        },
    )
    assert response.status_code == 201, response.json()
    now = operator_client.get(f"/api/batteries/{module['id']}/hierarchy/").json()
    assert sorted(node["identifier"] for node in now["components"]) == sorted(
        [cells[0]["identifier"], spare["identifier"], cells[2]["identifier"]]
    )
    before = operator_client.get(
        f"/api/batteries/{module['id']}/hierarchy/", {"at": (T1 - dt.timedelta(days=1)).isoformat()}
    ).json()
    assert cells[1]["identifier"] in [node["identifier"] for node in before["components"]]


def test_replacement_of_a_cell_not_in_the_module_is_refused(operator_client, module_with_cells):
    module, cells = module_with_cells
    response = post_event(
        operator_client,
        module["id"],
        EventType.REPLACEMENT,
        {"removed": cells[3]["identifier"], "installed": cells[3]["identifier"]},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/payload/removed"
    assert LifecycleEvent.objects.count() == 0


def test_operator_transfer_moves_responsibility_with_the_components(
    operator_client, second_life_client, second_life_operator, module_with_cells
):
    module, cells = module_with_cells
    response = post_event(
        operator_client, module["id"], EventType.OPERATOR_TRANSFER, {"to": str(second_life_operator.pk)}
    )
    assert response.status_code == 201, response.json()
    assert Battery.objects.get(pk=module["id"]).operator == second_life_operator
    assert Battery.objects.get(pk=cells[0]["id"]).operator == second_life_operator
    assert Battery.objects.get(pk=cells[3]["id"]).operator != second_life_operator  # not installed
    # The new operator records now; the manufacturer no longer does (except manufacturing records).
    assert post_event(second_life_client, module["id"], *OPERATION[1]).status_code == 201
    assert post_event(operator_client, module["id"], *OPERATION[1]).status_code == 403
    assert post_event(operator_client, module["id"], *MANUFACTURING[2]).status_code == 201


def test_repurposing_creates_a_linked_passport_and_keeps_the_old_one_readable(
    operator_client, second_life_client, second_life_operator, legitimate_interest_client, cells
):
    battery = cells[0]["id"]
    old = Passport.objects.get(battery_id=battery)
    response = post_event(
        operator_client,
        battery,
        EventType.STATUS_CHANGE,
        {"status": "Repurposed", "new_operator": str(second_life_operator.pk), "application": "home storage"},
    )
    assert response.status_code == 201, response.json()
    old.refresh_from_db()
    new = Passport.objects.get(battery_id=battery, state=PassportState.ACTIVE)
    assert old.state == PassportState.SUPERSEDED and old.closed_at is not None
    assert list(new.predecessors.all()) == [old]
    assert new.issued_by == second_life_operator and new.identifier != old.identifier
    stored = Battery.objects.get(pk=battery)
    assert stored.status == BatteryStatus.REPURPOSED and stored.operator == second_life_operator
    # The old passport stays readable; the new one says the battery is repurposed.
    assert legitimate_interest_client.get(f"/api/passports/{old.pk}/").status_code == 200
    gpi = second_life_client.get(f"/api/passports/{new.pk}/GeneralProductInformation/").json()
    assert gpi["batteryStatus"] == "Repurposed"
    assert gpi["batteryPassportIdentifier"] == new.identifier
    # Responsibility moved: only the new operator writes now.
    assert post_event(operator_client, battery, *OPERATION[1]).status_code == 403
    assert post_event(second_life_client, battery, *OPERATION[1]).status_code == 201


def test_end_of_life_closes_the_passport_and_keeps_the_history(
    operator_client, waste_client, waste_operator, legitimate_interest_client, cells
):
    battery = cells[0]["id"]
    post_event(operator_client, battery, *OPERATION[1])
    early = post_event(waste_client, battery, EventType.DISMANTLING, {"steps": ["discharge"]})
    assert early.status_code == 403  # not theirs yet
    collected = post_event(
        operator_client, battery, EventType.COLLECTION, {"collector": str(waste_operator.pk), "site": "Hub 4"}
    )
    assert collected.status_code == 201, collected.json()
    stored = Battery.objects.get(pk=battery)
    assert stored.status == BatteryStatus.WASTE and stored.operator == waste_operator
    passport = Passport.objects.get(battery_id=battery)
    assert passport.state == PassportState.CLOSED
    at = T1 + dt.timedelta(days=1)
    dismantled = post_event(
        waste_client,
        battery,
        EventType.DISMANTLING,
        {"steps": ["discharge to 0 V", "open casing"], "safety_notes": "Class D extinguisher at hand"},
        at=at,
    )
    assert dismantled.status_code == 201, dismantled.json()
    recovered = post_event(
        waste_client,
        battery,
        EventType.MATERIAL_RECOVERY,
        {
            "process": "hydrometallurgy",
            "materials": [
                {"material": "Co", "mass_kg": 0.0042, "recycling_efficiency_pct": 95.5},
                {"material": "Li", "mass_kg": 0.0011, "recycling_efficiency_pct": 80},
            ],
        },
        at=at,
    )
    assert recovered.status_code == 201, recovered.json()
    bad = post_event(
        waste_client,
        battery,
        EventType.MATERIAL_RECOVERY,
        {"process": "x", "materials": [{"material": "Co", "mass_kg": 1, "recycling_efficiency_pct": 120}]},
        at=at,
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["path"] == "/payload/materials/0/recycling_efficiency_pct"
    # Operation records are refused on waste; the closed passport and the history stay readable.
    assert post_event(waste_client, battery, *OPERATION[1], at=at).status_code == 409
    history = legitimate_interest_client.get(f"/api/batteries/{battery}/events/").json()["results"]
    assert [event["type"] for event in history] == [
        EventType.INSPECTION,
        EventType.COLLECTION,
        EventType.DISMANTLING,
        EventType.MATERIAL_RECOVERY,
    ]
    assert legitimate_interest_client.get(f"/api/passports/{passport.pk}/").status_code == 200


def test_material_recovery_needs_collection_first(operator_client, cells):
    response = post_event(
        operator_client,
        cells[0]["id"],
        EventType.MATERIAL_RECOVERY,
        {"process": "pyro", "materials": [{"material": "Ni", "mass_kg": 1, "recycling_efficiency_pct": 90}]},
    )
    assert response.status_code == 409


def test_a_correction_references_the_record_it_corrects(operator_client, cells):
    battery = cells[0]["id"]
    wrong = post_event(operator_client, battery, *MANUFACTURING[1]).json()
    response = post_event(
        operator_client,
        battery,
        EventType.CORRECTION,
        {"reason": "capacity typed in Wh", "correction": {"capacity_ah": 4.98}},
        corrects=wrong["id"],
    )
    assert response.status_code == 201, response.json()
    correction = LifecycleEvent.objects.get(pk=response.json()["id"])
    assert str(correction.corrects_id) == wrong["id"]
    # The corrected record is untouched.
    assert LifecycleEvent.objects.get(pk=wrong["id"]).payload["capacity_ah"] == 5.01
    unknown = post_event(
        operator_client,
        battery,
        EventType.CORRECTION,
        {"reason": "x", "correction": {}},
        corrects="00000000-0000-0000-0000-000000000000",
    )
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["path"] == "/corrects"


def test_the_orm_refuses_to_change_or_delete_records(operator_client, cells):
    post_event(operator_client, cells[0]["id"], *OPERATION[1])
    event = LifecycleEvent.objects.get()
    event.payload = {"passed": False, "findings": "rewritten"}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        LifecycleEvent.objects.filter(pk=event.pk).update(payload={})
    with pytest.raises(AppendOnlyError):
        LifecycleEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        MerkleNode.objects.all().delete()
    assert LifecycleEvent.objects.get().payload["findings"] == "No swelling, torque marks intact"
