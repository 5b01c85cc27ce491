"""Proof bundles from the database: they verify offline, and any change to a stored byte breaks them."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.choices import AnchorState, EventType
from lifecycle.models import Anchor, LifecycleEvent
from lifecycle.provenance import merkle
from lifecycle.provenance.verifier import verify_bundle
from lifecycle.services import anchoring, bundles, log, records
from passport.models import Battery, Organisation
from tests.lifecycle.conftest import T1, post_event

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def append_history(battery: Battery, count: int, *, start: dt.datetime = T1) -> list[LifecycleEvent]:
    actor = Organisation.objects.get(pk=battery.operator_id)
    drafts = [
        records.Draft(
            battery=battery,
            type=EventType.INSPECTION,
            actor=actor,
            occurred_at=start + dt.timedelta(hours=n),
            payload={"passed": n % 7 != 3, "findings": f"inspection {n}", "reading": n * 0.125},
        )
        for n in range(count)
    ]
    return records.append(drafts)


@pytest.fixture
def history(cells):
    """Two interleaved chains, so the log holds other batteries' leaves between this one's."""
    first, second = (Battery.objects.get(pk=cell["id"]) for cell in cells[:2])
    for n in range(5):
        append_history(first, 3, start=T1 + dt.timedelta(days=n))
        append_history(second, 2, start=T1 + dt.timedelta(days=n))
    return first, second


def test_event_and_history_bundles_verify(operator_client, legitimate_interest_client, history):
    first, _ = history
    event = LifecycleEvent.objects.filter(battery=first).order_by("sequence")[7]
    bundle = legitimate_interest_client.get(f"/api/events/{event.pk}/proof/").json()
    assert [r["record"]["sequence"] for r in bundle["records"]] == list(range(1, 9))
    report = verify_bundle(bundle)
    assert report.ok, report.failures
    whole = operator_client.get(f"/api/batteries/{first.pk}/proof/").json()
    assert len(whole["records"]) == 15
    assert verify_bundle(whole).ok


def test_bundle_checks_against_the_logs_public_key(history):
    bundle = bundles.for_battery(history[0])
    assert verify_bundle(bundle, trusted_public_key=bundle["log"]["public_key"]).ok
    from lifecycle.provenance import signing

    stranger = signing.public_key_of(signing.generate_private_key())
    import base64

    assert not verify_bundle(bundle, trusted_public_key=base64.b64encode(stranger).decode()).ok


def test_roots_match_an_independent_recomputation(history):
    leaves = [
        bytes.fromhex(h)
        for h in LifecycleEvent.objects.order_by("log_index").values_list("record_hash", flat=True)
    ]
    size = log.current_size()
    assert size == len(leaves) == 25
    expected = merkle.root_from_leaf_hashes([merkle.leaf_hash(leaf) for leaf in leaves])
    assert log.root(size) == expected
    head = log.sign_tree_head()
    assert head.root_hash == expected.hex()


def _tamper(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only a superuser can switch off the append-only triggers; this test stands for one.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(statement, params)


MUTATIONS = st.sampled_from(
    ["payload", "occurred_at", "type", "previous_hash", "sequence", "record_hash", "node"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=MUTATIONS,
    which=st.integers(min_value=0, max_value=14),
    salt=st.integers(min_value=1, max_value=255),
)
def test_any_change_to_stored_records_chain_links_or_tree_nodes_fails_verification(
    history, target, which, salt
):
    first, _ = history
    log.sign_tree_head()  # the signed head predates the tampering, as it would in real life
    assert verify_bundle(bundles.for_battery(first)).ok
    event = LifecycleEvent.objects.filter(battery=first).order_by("sequence")[which]
    table = LifecycleEvent._meta.db_table

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        if target == "payload":
            payload = dict(event.payload, findings=event.payload["findings"] + chr(64 + salt % 26))
            _tamper(f"UPDATE {table} SET payload = %s WHERE id = %s", [json.dumps(payload), event.pk.hex])
        elif target == "occurred_at":
            moment = event.occurred_at + dt.timedelta(microseconds=salt)
            _tamper(f"UPDATE {table} SET occurred_at = %s WHERE id = %s", [moment, event.pk.hex])
        elif target == "type":
            _tamper(f"UPDATE {table} SET type = %s WHERE id = %s", [EventType.REPAIR.value, event.pk.hex])
        elif target in ("previous_hash", "record_hash"):
            original = getattr(event, target) or "0" * 64
            flipped = f"{(int(original[0], 16) ^ (salt % 15 + 1)):x}" + original[1:]
            _tamper(f"UPDATE {table} SET {target} = %s WHERE id = %s", [flipped, event.pk.hex])
        elif target == "sequence":
            _tamper(f"UPDATE {table} SET sequence = sequence + 1000 WHERE id = %s", [event.pk.hex])
        else:
            level, index = _node_on_path(event)
            node = log.fetch_nodes([(level, index)])[(level, index)]
            changed = bytes([node[0] ^ salt]) + node[1:]
            _tamper(
                'UPDATE lifecycle_merklenode SET hash = %s WHERE "level" = %s AND "index" = %s',
                [changed, level, index],
            )
        tampered = bundles.for_battery(first)
        report = verify_bundle(tampered)
        assert not report.ok, f"{target} change went unnoticed"
        raise Rollback
    assert verify_bundle(bundles.for_battery(first)).ok


def _node_on_path(event: LifecycleEvent) -> tuple[int, int]:
    size = log.latest_tree_head().tree_size
    coords = merkle.inclusion_coords(event.log_index, size)
    return coords[len(coords) // 2] if coords else (0, event.log_index)


def test_standalone_verifier_checks_a_downloaded_bundle(tmp_path, history):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundles.for_battery(history[0])))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    ok = subprocess.run(
        [sys.executable, "-m", "lifecycle.provenance.verifier", str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bundle = json.loads(path.read_text())
    bundle["records"][2]["record"]["payload"]["findings"] = "rewritten"
    path.write_text(json.dumps(bundle))
    bad = subprocess.run(
        [sys.executable, "-m", "lifecycle.provenance.verifier", str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1


def test_verify_command_builds_and_checks_a_battery_bundle(tmp_path, history, capsys):
    out = tmp_path / "history.json"
    call_command("verify", battery=history[0].identifier, out=out)
    assert "bundle verifies (15 records)" in capsys.readouterr().out
    call_command("verify", str(out))
    bundle = json.loads(out.read_text())
    bundle["records"][0]["record"]["actor"] = "someone else"
    out.write_text(json.dumps(bundle))
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="does NOT verify"):
        call_command("verify", str(out))


def test_anchoring_puts_the_root_on_chain_with_one_transaction_per_anchor(history):
    client = anchoring.web3()
    first, second = history
    anchor = anchoring.anchor_latest(client)
    assert anchor.state == AnchorState.CONFIRMED and anchor.tree_head.tree_size == 25
    tx = client.eth.get_transaction(anchor.tx_hash)
    assert tx["input"].hex().removeprefix("0x") == anchor.data.removeprefix("0x")
    bundle = bundles.for_battery(first)
    report = verify_bundle(bundle, web3=client)
    assert report.ok and report.anchored, report.failures
    # Nothing new: no transaction. Many new records: still one transaction.
    assert anchoring.anchor_latest(client) is None
    block_before = client.eth.block_number
    append_history(second, 400)
    bigger = anchoring.anchor_latest(client)
    assert client.eth.block_number == block_before + 1
    assert abs(bigger.gas_used - anchor.gas_used) <= 32 * 12  # only the root's byte values differ
    # Later records verify against the newer head, with a consistency proof from the anchored one.
    report = verify_bundle(bundles.for_battery(second), web3=client)
    assert report.ok and report.anchored


def test_bundle_shows_consistency_from_an_older_anchor(history):
    client = anchoring.web3()
    anchoring.anchor_latest(client)
    append_history(history[1], 10)
    bundle = bundles.for_battery(history[1])
    assert bundle["anchor"]["tree_head"]["tree_size"] == 25 < bundle["tree_head"]["tree_size"]
    assert bundle["anchor"]["consistency"]
    assert verify_bundle(bundle, web3=client).ok


def test_a_chain_outage_never_blocks_records_and_the_anchor_is_retried(history, settings):
    settings.CELLPASS_CHAIN_RPC_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.CELLPASS_CHAIN_TIMEOUT = 2
    with pytest.raises(anchoring.AnchorFailed):
        anchoring.anchor_latest()
    failed = Anchor.objects.get()
    assert failed.state == AnchorState.PENDING and failed.attempts == 1 and failed.last_error
    # Records keep flowing while the chain is down.
    append_history(history[0], 5, start=T1 + dt.timedelta(days=20))
    from lifecycle.tasks import anchor_tree_head

    # Run eagerly, the task's retries happen in line: every one of them is attempted and recorded.
    anchor_tree_head.apply()
    retried = Anchor.objects.get(tree_head__tree_size=30)
    assert retried.attempts == 1 + anchor_tree_head.max_retries and retried.state == AnchorState.PENDING
    settings.CELLPASS_CHAIN_RPC_URL = ""
    anchor = anchoring.anchor_latest()
    assert anchor.state == AnchorState.CONFIRMED and anchor.tree_head.tree_size == 30
    assert Anchor.objects.get(pk=failed.pk).state == AnchorState.FAILED  # superseded, covered by consistency


def test_log_and_consistency_endpoints(public_client, history):
    small = log.sign_tree_head()
    append_history(history[0], 3, start=T1 + dt.timedelta(days=30))
    large = log.sign_tree_head()
    described = public_client.get("/api/provenance/log/").json()
    assert described["size"] == 28 and described["tree_head"]["tree_size"] == 28
    body = public_client.get(
        "/api/provenance/consistency/", {"first": small.tree_size, "second": large.tree_size}
    ).json()
    proof = [bytes.fromhex(node) for node in body["consistency"]]
    assert merkle.verify_consistency(
        small.tree_size,
        large.tree_size,
        bytes.fromhex(small.root_hash),
        bytes.fromhex(large.root_hash),
        proof,
    )
    bad = public_client.get("/api/provenance/consistency/", {"first": "x", "second": 3})
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "/first"


def test_event_iri_dereferences(operator_client, cells):
    event = post_event(
        operator_client, cells[0]["id"], EventType.INSPECTION, {"passed": True, "findings": "ok"}
    ).json()
    response = operator_client.get(f"/id/event/{event['id']}")
    assert response.status_code == 303 and response["Location"].endswith(f"/api/events/{event['id']}/")
