"""Telemetry through the API, the CLI and a worker: stored once, rejected whole, feeding the passport."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from lifecycle.choices import EventType
from lifecycle.models import CycleAggregate, LifecycleEvent, MerkleNode, TelemetryBatch, TelemetrySample
from lifecycle.services import demo, telemetry
from lifecycle.telemetry import read_nasa_mat
from passport.choices import PassportState
from passport.models import Battery, Passport
from tests.support.conformance import nasa_file

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def upload(client, battery_id, content: bytes, name: str, **query):
    path = f"/api/batteries/{battery_id}/telemetry/"
    if query:
        path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return client.post(path, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def cycling_csv(cycles: int = 6, seed: int = 1) -> bytes:
    return demo.synthetic_cycles_csv(5.0, 3.6, cycles, START, random.Random(seed))


def stored_counts() -> tuple[int, ...]:
    return (
        TelemetryBatch.objects.count(),
        TelemetrySample.objects.count(),
        CycleAggregate.objects.count(),
        LifecycleEvent.objects.count(),
        MerkleNode.objects.count(),
    )


def test_csv_upload_is_stored_once_and_feeds_the_passport(operator_client, cells):
    battery = cells[0]["id"]
    content = cycling_csv()
    first = upload(operator_client, battery, content, "bms.csv")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["created"] is True and body["cycles"] == 12 and body["samples"] > 1000
    assert TelemetrySample.objects.filter(batch_id=body["id"]).count() == body["samples"]
    event = LifecycleEvent.objects.get(pk=body["event"])
    assert event.type == EventType.TELEMETRY and event.payload["sha256"] == body["sha256"]
    again = upload(operator_client, battery, content, "renamed.csv")
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["created"] is False
    assert TelemetryBatch.objects.count() == 1 and LifecycleEvent.objects.count() == 1
    # The dynamic attributes arrive in the passport, with their lastUpdate.
    passport = Passport.objects.get(battery_id=battery, state=PassportState.ACTIVE)
    condition = operator_client.get(f"/api/passports/{passport.pk}/PerformanceAndDurability/").json()[
        "batteryCondition"
    ]
    assert condition["numberOfFullCycles"]["numberOfFullCyclesValue"] == pytest.approx(6 * 0.99, rel=0.03)
    assert condition["remainingCapacity"]["remainingCapacityValue"] == pytest.approx(5.0 * 0.98, rel=0.03)
    assert condition["remainingCapacity"]["lastUpdate"].endswith("Z")
    cycles = operator_client.get(f"/api/batteries/{battery}/cycles/", {"kind": "discharge"}).json()
    assert cycles["count"] == 6 and all(c["discharge_ah"] > 4.5 for c in cycles["results"])


def test_same_file_for_another_battery_is_a_conflict(operator_client, cells):
    content = cycling_csv(2)
    assert upload(operator_client, cells[0]["id"], content, "a.csv").status_code == 201
    response = upload(operator_client, cells[1]["id"], content, "a.csv")
    assert response.status_code == 409 and "another battery" in response.json()["message"]


@pytest.mark.parametrize(
    ("mutate", "path", "row"),
    [
        (
            lambda lines: lines.__setitem__(40, lines[40].replace(lines[40].split(",")[3], "nan")),
            "voltage",
            40,
        ),
        (lambda lines: lines.__setitem__(0, lines[0].replace("voltage[V]", "voltage[kV]")), "voltage", None),
        (lambda lines: lines.__setitem__(77, lines[70]), "time", 77),
    ],
)
def test_malformed_files_are_rejected_whole_naming_row_and_column(operator_client, cells, mutate, path, row):
    lines = cycling_csv(2).decode().splitlines()
    mutate(lines)
    before = stored_counts()
    response = upload(operator_client, cells[0]["id"], ("\n".join(lines) + "\n").encode(), "bad.csv")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert any(path in error["path"] for error in errors), errors
    if row is not None:
        assert row in [error.get("row") for error in errors], errors
    assert stored_counts() == before


def test_truncated_mat_file_is_rejected(operator_client, nasa_cell):
    content = nasa_file("B0025").read_bytes()
    before = stored_counts()
    response = upload(operator_client, nasa_cell["id"], content[: len(content) // 2], "B0025.mat")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"]
    assert stored_counts() == before


def test_only_the_operator_uploads_and_entitled_readers_list(
    operator_client, other_operator_client, public_client, legitimate_interest_client, cells
):
    battery = cells[0]["id"]
    assert upload(other_operator_client, battery, cycling_csv(1), "x.csv").status_code == 403
    assert upload(operator_client, battery, cycling_csv(1), "x.csv").status_code == 201
    assert legitimate_interest_client.get(f"/api/batteries/{battery}/telemetry/").json()["count"] == 1
    assert public_client.get(f"/api/batteries/{battery}/telemetry/").status_code == 403
    assert public_client.get(f"/api/batteries/{battery}/cycles/").status_code == 403


@pytest.mark.parametrize("name", ["B0025", "B0029", "B0030", "B0045", "B0047"])
def test_every_nasa_file_ingests_with_sensible_aggregates(nasa_cell, name):
    path = nasa_file(name)
    battery = Battery.objects.select_related("model", "operator").get(pk=nasa_cell["id"])
    result = telemetry.ingest(battery, path, actor=battery.operator, filename=path.name)
    frame = read_nasa_mat(path)
    assert (
        result.batch.sample_count == len(frame) == TelemetrySample.objects.filter(batch=result.batch).count()
    )
    discharges = CycleAggregate.objects.filter(batch=result.batch, kind="discharge")
    good = [c for c in discharges if not c.anomalies and c.reported_capacity_ah]
    assert len(good) >= 0.9 * discharges.count() > 0
    for cycle in good:
        # NASA's Capacity counts to 2.7 V; the full discharge goes on below it, never less.
        assert cycle.discharge_ah >= cycle.reported_capacity_ah * 0.99
        assert 0.5 < cycle.reported_capacity_ah < 2.1  # rated 2 Ah; B0045 fades to ~0.8 Ah
        assert 1 < cycle.temperature_max_c < 80  # B0029 to B0032 ran at 43 °C ambient
    flagged = [c for c in discharges if c.anomalies]
    assert all(isinstance(code, str) for c in flagged for code in c.anomalies)
    condition = Passport.objects.get(battery=battery, state=PassportState.ACTIVE).sections.get(
        category="PerformanceAndDurability"
    )
    remaining = condition.payload["batteryCondition"]["remainingCapacity"]["remainingCapacityValue"]
    assert 0.5 < remaining < 2.1


def test_ingest_command_reports_and_is_idempotent(nasa_cell, capsys):
    path = nasa_file("B0025")
    call_command("ingest", nasa_cell["identifier"], str(path), no_progress=True)
    out = capsys.readouterr().out
    assert "ingested" in out and "104118 samples" in out
    call_command("ingest", nasa_cell["identifier"], str(path), no_progress=True)
    assert "already stored" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no battery"):
        call_command("ingest", "nope", str(path))


@pytest.mark.postgres
def test_samples_are_append_only_in_postgres(operator_client, cells):
    upload(operator_client, cells[0]["id"], cycling_csv(1), "x.csv")
    for statement in (
        "UPDATE lifecycle_telemetrysample SET voltage_v = 0",
        "DELETE FROM lifecycle_telemetrysample",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(statement)


def test_relative_seconds_need_and_use_a_start(operator_client, cells):
    lines = ["time[s],voltage[V],current[A],temperature[degC]"]
    lines += [f"{n * 10},{3.5 + n * 0.001:.4f},2.5,25.0" for n in range(200)]
    content = ("\n".join(lines) + "\n").encode()
    battery = cells[0]["id"]
    path = f"/api/batteries/{battery}/telemetry/"
    bad = operator_client.post(
        path, {"file": SimpleUploadedFile("r.csv", content), "start": "noon"}, format="multipart"
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "/start"
    good = operator_client.post(
        path, {"file": SimpleUploadedFile("r.csv", content), "start": START.isoformat()}, format="multipart"
    )
    assert good.status_code == 201, good.json()
    assert good.json()["first_sample_at"] == "2026-04-01T00:00:00Z"


def test_a_failure_midway_stores_nothing(operator_client, cells, monkeypatch):
    """The aggregates fail while the samples are loading: the whole upload rolls back."""
    from lifecycle.services import telemetry as service

    def broken(*args, **kwargs):
        raise RuntimeError("aggregation crashed")

    monkeypatch.setattr(service, "cycle_aggregates", broken)
    battery = Battery.objects.select_related("model", "operator").get(pk=cells[0]["id"])
    with pytest.raises(RuntimeError, match="aggregation crashed"):
        service.ingest(battery, cycling_csv(2), actor=battery.operator, format="csv")
    assert stored_counts() == (0, 0, 0, 0, 0)


@pytest.mark.postgres
def test_a_failing_sample_load_stores_nothing(operator_client, cells, monkeypatch):
    from lifecycle.services import samples

    def broken(*args, **kwargs):
        yield samples._HEADER
        raise OSError("connection dropped mid-COPY")

    monkeypatch.setattr(samples, "binary_copy_stream", broken)
    battery = Battery.objects.select_related("model", "operator").get(pk=cells[0]["id"])
    with pytest.raises(OSError, match="mid-COPY"):
        telemetry.ingest(battery, cycling_csv(2), actor=battery.operator, format="csv")
    assert stored_counts() == (0, 0, 0, 0, 0)


def test_uploads_over_the_size_limit_are_refused(operator_client, cells, settings):
    settings.CELLPASS_TELEMETRY_MAX_UPLOAD_BYTES = 1000
    response = upload(operator_client, cells[0]["id"], cycling_csv(1), "big.csv")
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "/file"
    assert stored_counts() == (0, 0, 0, 0, 0)
