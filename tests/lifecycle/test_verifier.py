"""The offline proof-bundle verifier, on bundles built here from the provenance core alone.

A log of 300 records from several batteries' interleaved chains is built with ``appended_nodes``
and signed with a key generated for the test; bundles are cut from it the way the service does.
No database is involved.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.provenance import merkle
from lifecycle.provenance.anchor_data import ANCHOR_MAGIC, anchor_payload, parse_anchor_payload
from lifecycle.provenance.canonical import canonical_bytes, record_hash
from lifecycle.provenance.signing import generate_private_key, log_id, public_key_of, sign_tree_head
from lifecycle.provenance.verifier import FORMAT, Report, verify_bundle

PROJECT = Path(__file__).resolve().parents[2]
KEY = generate_private_key()
PUBLIC = public_key_of(KEY)
PUBLIC_B64 = base64.b64encode(PUBLIC).decode()
SIGNED_AT = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
BATTERIES = ("BAT-0001", "BAT-0002", "BAT-0003", "BAT-0004")


class Log:
    """A log grown the way the service grows it: records chained per battery, leaves in batches."""

    def __init__(self, seed: int = 11, total: int = 300):
        rng = random.Random(seed)
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.entries: list[dict] = []  # {"log_index", "record_hash", "record"} in log order
        chains: dict[str, list[dict]] = {battery: [] for battery in BATTERIES}
        pending: list[dict] = []
        for n in range(total):
            battery = rng.choice(BATTERIES)
            chain = chains[battery]
            corrects = None
            if chain and n % 17 == 0:
                corrects = rng.choice(chain)["record_hash"]
            elif n == 150:  # a correction of another battery's record: outside the chain's bundle
                corrects = chains[BATTERIES[0] if battery != BATTERIES[0] else BATTERIES[1]][0]["record_hash"]
            record = {
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "battery": battery,
                "sequence": len(chain) + 1,
                "previous": chain[-1]["record_hash"] if chain else None,
                "type": rng.choice(["manufacturing.formation", "use.inspection", "use.repair"]),
                "occurred_at": (SIGNED_AT - dt.timedelta(minutes=total - n)).strftime(
                    "%Y-%m-%dT%H:%M:%S.%fZ"
                ),
                "actor": f"org-{rng.randint(1, 5)}",
                "payload": {
                    "passed": rng.random() < 0.8,
                    "soh": [95.5, 87.25, 3.7][n % 3],
                    "cycles": rng.randint(0, 5000),
                    "findings": f"inspection {n} \u2013 ok",
                    "cells": [{"position": "S1", "voltage": 3.65}, {"position": "S2", "ok": True}],
                    "note": None,
                },
                "corrects": corrects,
            }
            entry = {"log_index": n, "record_hash": record_hash(record), "record": record}
            chain.append(entry)
            self.entries.append(entry)
            pending.append(entry)
            if len(pending) >= rng.randint(1, 40) or n == total - 1:
                self._append([bytes.fromhex(e["record_hash"]) for e in pending])
                pending = []
        self.size = len(self.entries)
        self.chains = chains

    def _append(self, leaf_data: list[bytes]) -> None:
        size = len(self.entries) - len(leaf_data)
        edge = {coord: self.nodes[coord] for coord in merkle.compact_range(size)}
        created = merkle.appended_nodes(size, edge, [merkle.leaf_hash(data) for data in leaf_data])
        self.nodes.update({(level, index): digest for level, index, digest in created})

    def head(self, size: int) -> dict:
        return sign_tree_head(KEY, size, merkle.root(size, self.nodes), SIGNED_AT)

    def bundle(
        self, battery: str, *, upto: int | None = None, size: int | None = None, anchor_size: int | None = 200
    ) -> dict:
        chain = self.chains[battery][:upto]
        size = self.size if size is None else size
        bundle = {
            "format": FORMAT,
            "log": {
                "log_id": log_id(PUBLIC),
                "public_key": PUBLIC_B64,
                "hash": "sha-256",
                "tree": "RFC 9162",
            },
            "records": copy.deepcopy(chain),
            "tree_head": self.head(size),
            "inclusion": {
                str(e["log_index"]): [
                    h.hex() for h in merkle.inclusion_proof(e["log_index"], size, self.nodes)
                ]
                for e in chain
            },
            "anchor": None,
        }
        if anchor_size is not None:
            bundle["anchor"] = self.anchor_section(anchor_size, size)
        return bundle

    def anchor_section(self, anchor_size: int, size: int, **chain_fields) -> dict:
        head = self.head(anchor_size)
        return {
            "tree_head": head,
            "consistency": [h.hex() for h in merkle.consistency_proof(anchor_size, size, self.nodes)],
            "chain_id": 1337,
            "tx_hash": "0x" + "ab" * 32,
            "block_number": 5,
            "block_hash": "0x" + "cd" * 32,
            "data": "0x" + anchor_payload(anchor_size, bytes.fromhex(head["root_hash"])).hex(),
            **chain_fields,
        }


LOG = Log()
BATTERY = max(BATTERIES, key=lambda b: len(LOG.chains[b]))
BUNDLE = LOG.bundle(BATTERY)


def fresh() -> dict:
    return json.loads(json.dumps(BUNDLE))


def failed(report: Report) -> set[str]:
    return {check.name for check in report.failures}


# -- genuine bundles ------------------------------------------------------------------------------


def test_a_genuine_bundle_verifies():
    report = verify_bundle(fresh())
    assert report.ok, report.failures
    assert not report.failures
    assert report.anchored is False  # the anchor was not looked up on chain
    count = len(BUNDLE["records"])
    names = [check.name for check in report.checks]
    assert names.count("records.log_index") == 1
    assert sum(name.endswith(".hash") for name in names) == count
    assert sum(name.endswith(".inclusion") for name in names) == count
    for name in ("format", "log", "chain.previous", "tree_head", "anchor.consistency", "anchor.data"):
        assert name in names
    on_chain = next(check for check in report.checks if check.name == "anchor.on_chain")
    assert on_chain.ok and "not checked" in on_chain.detail


def test_the_test_log_has_what_the_checks_need():
    assert LOG.size == 300 and len(BUNDLE["records"]) > 60
    in_chain = sum(1 for e in BUNDLE["records"] if e["record"]["corrects"])
    assert in_chain >= 1
    assert merkle.root(300, LOG.nodes) == merkle.root_from_leaf_hashes(
        [merkle.leaf_hash(bytes.fromhex(e["record_hash"])) for e in LOG.entries]
    )


@pytest.mark.parametrize("battery", BATTERIES)
def test_every_chain_and_chain_prefix_verifies(battery):
    for upto in (1, 2, len(LOG.chains[battery])):
        assert verify_bundle(LOG.bundle(battery, upto=upto)).ok


def test_bundles_against_older_heads_and_without_or_with_a_same_size_anchor():
    first = LOG.chains[BATTERY][:10]
    size = first[-1]["log_index"] + 1
    assert verify_bundle(LOG.bundle(BATTERY, upto=10, size=size, anchor_size=None)).ok
    assert verify_bundle(LOG.bundle(BATTERY, upto=10, size=size, anchor_size=size)).ok
    assert verify_bundle(LOG.bundle(BATTERY, anchor_size=LOG.size)).ok
    assert verify_bundle(LOG.bundle(BATTERY, anchor_size=1)).ok
    report = verify_bundle(LOG.bundle(BATTERY, anchor_size=None))
    assert report.ok and not report.anchored
    assert next(c.detail for c in report.checks if c.name == "anchor").startswith("no anchor")


def test_a_record_beyond_the_signed_tree_fails():
    # The head covers the first 10 records only; the 11th is in the log but not under this head.
    size = LOG.chains[BATTERY][9]["log_index"] + 1
    bundle = LOG.bundle(BATTERY, upto=10, size=size, anchor_size=None)
    late = LOG.chains[BATTERY][10]
    bundle["records"].append(copy.deepcopy(late))
    bundle["inclusion"][str(late["log_index"])] = []
    assert failed(verify_bundle(bundle)) == {"records[10].inclusion"}


def test_an_anchor_newer_than_the_head_fails():
    bundle = LOG.bundle(BATTERY, upto=3, size=LOG.chains[BATTERY][2]["log_index"] + 1, anchor_size=None)
    bundle["anchor"] = LOG.anchor_section(LOG.size, LOG.size)
    assert "anchor.tree_head" in failed(verify_bundle(bundle))


def test_corrections_inside_and_outside_the_chain_are_reported():
    external = next(
        battery
        for battery, chain in LOG.chains.items()
        if any(e["log_index"] == 150 and e["record"]["corrects"] for e in chain)
    )
    report = verify_bundle(LOG.bundle(external))
    assert report.ok
    detail = next(check.detail for check in report.checks if check.name == "chain.corrects")
    assert "external reference not checked" in detail


def test_a_trusted_key_pins_the_log():
    assert verify_bundle(fresh(), trusted_public_key=PUBLIC_B64).ok
    stranger = base64.b64encode(public_key_of(generate_private_key())).decode()
    report = verify_bundle(fresh(), trusted_public_key=stranger)
    assert not report.ok
    assert {"log.trusted_key", "tree_head", "anchor.tree_head"} <= failed(report)
    assert not verify_bundle(fresh(), trusted_public_key="not base64").ok


def test_a_bundle_signed_by_another_key_fails_even_if_self_consistent():
    bundle = fresh()
    other = generate_private_key()
    other_public = public_key_of(other)
    bundle["log"] = {**bundle["log"], "public_key": base64.b64encode(other_public).decode()}
    assert "log" in failed(verify_bundle(bundle))  # log_id no longer matches the key
    bundle["log"]["log_id"] = log_id(other_public)
    assert {"tree_head", "anchor.tree_head"} <= failed(verify_bundle(bundle))


# -- structural tampering -------------------------------------------------------------------------


def test_dropping_a_record_from_the_middle_fails():
    bundle = fresh()
    dropped = bundle["records"].pop(5)
    del bundle["inclusion"][str(dropped["log_index"])]
    assert failed(verify_bundle(bundle)) == {"chain.sequence", "chain.previous"}


def test_dropping_the_genesis_record_fails():
    bundle = fresh()
    dropped = bundle["records"].pop(0)
    del bundle["inclusion"][str(dropped["log_index"])]
    assert {"chain.sequence", "chain.previous"} <= failed(verify_bundle(bundle))


def test_reordering_records_fails():
    bundle = fresh()
    records = bundle["records"]
    records[3], records[4] = records[4], records[3]
    assert {"chain.sequence", "chain.previous"} <= failed(verify_bundle(bundle))
    bundle = fresh()
    bundle["records"].reverse()
    assert not verify_bundle(bundle).ok


def test_duplicate_log_indexes_fail():
    bundle = fresh()
    bundle["records"].append(copy.deepcopy(bundle["records"][-1]))
    assert "records.log_index" in failed(verify_bundle(bundle))


def test_a_record_of_another_battery_fails():
    bundle = fresh()
    other = next(chain for battery, chain in LOG.chains.items() if battery != BATTERY)
    bundle["records"].append(copy.deepcopy(other[0]))
    bundle["inclusion"][str(other[0]["log_index"])] = [
        h.hex() for h in merkle.inclusion_proof(other[0]["log_index"], LOG.size, LOG.nodes)
    ]
    assert {"chain.battery", "chain.sequence", "chain.previous"} <= failed(verify_bundle(bundle))


def test_an_inclusion_path_without_its_record_fails():
    bundle = fresh()
    stranger = next(e for e in LOG.entries if e["record"]["battery"] != BATTERY)
    bundle["inclusion"][str(stranger["log_index"])] = []
    assert failed(verify_bundle(bundle)) == {"records.log_index"}


@pytest.mark.parametrize("bundle", [None, [], "bundle", 7, {}, {"format": FORMAT}, {"records": [None, 3]}])
def test_garbage_is_reported_not_raised(bundle):
    report = verify_bundle(bundle)
    assert report.ok is False and report.failures


# -- property: any change to any checked value is detected ----------------------------------------

# Chain coordinates are only checked against a node (test_on_chain_anchor_with_a_real_evm).
UNCHECKED_OFFLINE = {
    ("anchor", "tx_hash"),
    ("anchor", "block_hash"),
    ("anchor", "block_number"),
    ("anchor", "chain_id"),
}


def scalar_locations(value, path=()) -> list[tuple]:
    if isinstance(value, dict):
        return [loc for key, item in value.items() for loc in scalar_locations(item, (*path, key))]
    if isinstance(value, list):
        return [loc for i, item in enumerate(value) for loc in scalar_locations(item, (*path, i))]
    if value is None or path in UNCHECKED_OFFLINE:
        return []
    return [path]


LOCATIONS = scalar_locations(BUNDLE)
HEX = "0123456789abcdef"
OTHER = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/ -:."


def get(bundle, path):
    for step in path:
        bundle = bundle[step]
    return bundle


def put(bundle, path, value):
    get(bundle, path[:-1])[path[-1]] = value


def mutate(value, choose):
    """A different value of the same type: a flipped hex digit, a changed character or digit.

    ``choose`` picks one element of a list (Hypothesis draws, or a seeded ``random``).
    """
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        text = repr(value)
        i = choose([i for i, c in enumerate(text) if c.isdigit()])
        changed = type(value)(text[:i] + choose([d for d in "0123456789" if d != text[i]]) + text[i + 1 :])
        assert changed != value
        return changed
    if not value:
        return "x"
    i = choose(range(len(value)))
    alphabet = HEX if value[i] in HEX else OTHER
    return value[:i] + choose([c for c in alphabet if c != value[i]]) + value[i + 1 :]


def test_the_mutation_space_covers_every_part_of_the_bundle():
    tops = {path[0] for path in LOCATIONS}
    assert tops == {"format", "log", "records", "tree_head", "inclusion", "anchor"}
    kinds = {type(get(BUNDLE, path)) for path in LOCATIONS}
    assert kinds == {str, int, float, bool}
    assert {path[1] for path in LOCATIONS if path[0] == "anchor"} == {"tree_head", "consistency", "data"}


def field_of(path: tuple) -> tuple:
    """The kind of value at ``path``: records and inclusion paths grouped by field, not by position."""
    if path[0] == "records":
        return ("records", *(step for step in path[2:] if isinstance(step, str)))
    if path[0] == "inclusion":
        return ("inclusion",)
    return tuple(step for step in path if isinstance(step, str))


FIELDS: dict[tuple, list[tuple]] = {}
for _path in LOCATIONS:
    FIELDS.setdefault(field_of(_path), []).append(_path)


@pytest.mark.parametrize("field", sorted(FIELDS), ids=".".join)
def test_changing_each_kind_of_value_fails_verification(field):
    rng = random.Random(repr(field))
    for path in rng.sample(FIELDS[field], min(3, len(FIELDS[field]))):
        bundle = fresh()
        put(bundle, path, mutate(get(bundle, path), rng.choice))
        assert verify_bundle(bundle).ok is False, path


@settings(max_examples=200, deadline=None, database=None)
@given(st.data())
def test_changing_any_value_anywhere_fails_verification(data):
    # Pick the kind of value first, so the few anchor and head fields are drawn as often as records.
    path = data.draw(st.sampled_from(FIELDS[data.draw(st.sampled_from(sorted(FIELDS)))]))
    bundle = fresh()
    put(bundle, path, mutate(get(bundle, path), lambda options: data.draw(st.sampled_from(options))))
    report = verify_bundle(bundle)
    assert report.ok is False, path


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


def node_locations(value, path=()) -> list[tuple]:
    here = [path] if path else []
    if isinstance(value, dict):
        return here + [loc for key, item in value.items() for loc in node_locations(item, (*path, key))]
    if isinstance(value, list):
        return here + [loc for i, item in enumerate(value) for loc in node_locations(item, (*path, i))]
    return here


def same_json(a, b) -> bool:
    """Equal in canonical form (5 and 5.0 are one JSON number), so the swap changes nothing."""
    try:
        return canonical_bytes(a) == canonical_bytes(b)
    except ValueError:
        return False


NODE_LOCATIONS = node_locations(LOG.bundle(BATTERY, upto=4))


@settings(max_examples=150, deadline=None, database=None)
@given(path=st.sampled_from(NODE_LOCATIONS), junk=JSON, delete=st.booleans())
def test_replacing_or_deleting_any_part_never_raises(path, junk, delete):
    bundle = LOG.bundle(BATTERY, upto=4)
    original = get(bundle, path)
    if delete:
        container = get(bundle, path[:-1])
        container.pop(path[-1])
    else:
        put(bundle, path, junk)
    report = verify_bundle(bundle)
    assert isinstance(report, Report) and report.checks
    harmless = not delete and (same_json(junk, original) or (path == ("anchor",) and junk is None))
    if not harmless:
        assert report.ok is False, (path, junk, delete)


# -- anchor payload -------------------------------------------------------------------------------


def test_anchor_payload_layout():
    root = bytes(range(32))
    payload = anchor_payload(300, root)
    assert payload == b"CELLPASS" + (300).to_bytes(8, "big") + root and len(payload) == 48
    assert payload.startswith(ANCHOR_MAGIC)
    assert parse_anchor_payload(payload) == (300, root)
    assert parse_anchor_payload(anchor_payload(2**64 - 1, root)) == (2**64 - 1, root)
    for bad in (payload[:-1], payload + b"\x00", b"CELLPASZ" + payload[8:], "CELLPASS", None):
        with pytest.raises(ValueError):
            parse_anchor_payload(bad)
    for size, digest in ((-1, root), (2**64, root), (1, root[:31]), (True, root)):
        with pytest.raises(ValueError):
            anchor_payload(size, digest)


# -- command line ---------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO")}
    env["PYTHONPATH"] = str(PROJECT)
    return subprocess.run(
        [sys.executable, "-m", "lifecycle.provenance.verifier", *args],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def test_the_verifier_imports_nothing_from_django_or_the_rest_of_the_project():
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO")}
    env["PYTHONPATH"] = str(PROJECT)
    code = (
        "import sys, lifecycle.provenance.verifier\n"
        "outside = ('django', 'web3', 'passport', 'config', 'twins', 'ontology')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in outside"
        " or (m.startswith('lifecycle.') and not m.startswith('lifecycle.provenance')))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_command_line_exit_codes(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(BUNDLE))
    ok = run_cli(str(path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[-1] == "VERIFIED"
    assert all(line.startswith("✓ ") for line in lines[:-1])
    assert len(lines) - 1 == len(verify_bundle(fresh()).checks)

    as_json = run_cli(str(path), "--json", "--public-key", PUBLIC_B64)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["ok"] is True

    tampered = fresh()
    tampered["records"][2]["record"]["payload"]["findings"] = "rewritten"
    path.write_text(json.dumps(tampered))
    bad = run_cli(str(path))
    assert bad.returncode == 1
    assert "✗ records[2].hash" in bad.stdout and "NOT VERIFIED" in bad.stdout

    assert run_cli(str(tmp_path / "missing.json")).returncode == 2
    path.write_text("{not json")
    assert run_cli(str(path)).returncode == 2
    path.write_text('{"format": 1, "format": 2}')
    unreadable = run_cli(str(path))
    assert unreadable.returncode == 2 and "duplicate key" in unreadable.stderr
    path.write_text("[1]")
    assert run_cli(str(path)).returncode == 1


# -- on-chain anchor ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain():
    from web3 import EthereumTesterProvider, Web3

    w3 = Web3(EthereumTesterProvider())
    sender = w3.eth.accounts[0]

    def send(data: bytes) -> dict:
        tx_hash = w3.eth.send_transaction({"from": sender, "to": sender, "value": 0, "data": data})
        return w3.eth.wait_for_transaction_receipt(tx_hash)

    return w3, send


def anchored_bundle(send, anchor_size: int = LOG.size) -> dict:
    bundle = LOG.bundle(BATTERY, anchor_size=anchor_size)
    receipt = send(bytes.fromhex(bundle["anchor"]["data"][2:]))
    bundle["anchor"].update(
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        block_number=receipt["blockNumber"],
        block_hash="0x" + bytes(receipt["blockHash"]).hex(),
    )
    return bundle


def test_on_chain_anchor_with_a_real_evm(chain):
    w3, send = chain
    bundle = anchored_bundle(send)
    bundle["anchor"]["chain_id"] = w3.eth.chain_id
    report = verify_bundle(bundle, web3=w3)
    assert report.ok and report.anchored, report.failures
    assert {"anchor.transaction", "anchor.receipt", "anchor.block", "anchor.chain_id"} <= {
        check.name for check in report.checks
    }
    assert not verify_bundle(bundle).anchored  # without the chain, the anchor is unconfirmed

    other = send(anchor_payload(201, merkle.root(201, LOG.nodes)))  # a genuine anchor of another head
    cases = {
        "tx_hash": ("0x" + bytes(other["transactionHash"]).hex(), {"anchor.transaction", "anchor.receipt"}),
        "block_number": (bundle["anchor"]["block_number"] + 1, {"anchor.receipt"}),
        "block_hash": ("0x" + bytes(other["blockHash"]).hex(), {"anchor.receipt", "anchor.block"}),
        "chain_id": (w3.eth.chain_id + 1, {"anchor.chain_id"}),
    }
    for field, (value, expected) in cases.items():
        tampered = copy.deepcopy(bundle)
        tampered["anchor"][field] = value
        report = verify_bundle(tampered, web3=w3)
        assert not report.ok and not report.anchored, field
        assert expected <= failed(report), (field, failed(report))

    unknown = copy.deepcopy(bundle)
    unknown["anchor"]["tx_hash"] = "0x" + "11" * 32
    report = verify_bundle(unknown, web3=w3)
    assert "anchor.rpc" in failed(report) and not report.anchored


def test_records_newer_than_the_anchor_are_not_reported_as_anchored(chain):
    w3, send = chain
    bundle = anchored_bundle(send, anchor_size=200)
    bundle["anchor"]["chain_id"] = w3.eth.chain_id
    report = verify_bundle(bundle, web3=w3)
    assert report.ok and not report.anchored
    coverage = next(check for check in report.checks if check.name == "anchor.coverage")
    newer = sum(1 for e in bundle["records"] if e["log_index"] >= 200)
    assert coverage.ok and coverage.detail.startswith(f"{newer} record(s) were logged after")
    prefix = LOG.bundle(BATTERY, upto=3, anchor_size=None)
    prefix["anchor"] = bundle["anchor"]
    assert max(e["log_index"] for e in prefix["records"]) < 200
    report = verify_bundle(prefix, web3=w3)
    assert report.ok and report.anchored, report.failures


class _FakeEth:
    def __init__(self, bundle: dict, status: int):
        anchor = bundle["anchor"]
        self.chain_id = anchor["chain_id"]
        self.block_number = anchor["block_number"] + 3
        block_hash = bytes.fromhex(anchor["block_hash"][2:])
        self._tx = {"input": anchor["data"], "chainId": self.chain_id}
        self._receipt = {"status": status, "blockNumber": anchor["block_number"], "blockHash": block_hash}
        self._block = {"hash": block_hash}

    def get_transaction(self, tx_hash):
        return self._tx

    def get_transaction_receipt(self, tx_hash):
        return self._receipt

    def get_block(self, number):
        return self._block


class _FakeWeb3:
    def __init__(self, bundle: dict, status: int = 1):
        self.eth = _FakeEth(bundle, status)


def test_a_reverted_anchor_transaction_fails():
    bundle = LOG.bundle(BATTERY, anchor_size=LOG.size)
    report = verify_bundle(bundle, web3=_FakeWeb3(bundle))
    assert report.ok and report.anchored
    assert "4 confirmation(s)" in next(c.detail for c in report.checks if c.name == "anchor.receipt")
    report = verify_bundle(bundle, web3=_FakeWeb3(bundle, status=0))
    assert failed(report) == {"anchor.receipt"} and not report.anchored


def test_an_unreachable_rpc_is_a_failed_check():
    report = verify_bundle(fresh(), rpc_url="http://127.0.0.1:9")
    assert "anchor.rpc" in failed(report) and not report.ok and not report.anchored
