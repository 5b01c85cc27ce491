"""Offline verifier for Cellpass proof bundles: ``python -m lifecycle.provenance.verifier BUNDLE.json``.

It needs nothing from the service: no Django, no database, only this package, ``rfc8785`` and
``cryptography`` (and ``web3`` when the on-chain anchor is to be looked up with ``--rpc-url``).

Bundle format ``cellpass.proof-bundle/1``::

    {
     "format": "cellpass.proof-bundle/1",
     "log": {"log_id": "<hex SHA-256 of the raw public key>",
             "public_key": "<standard base64 of the raw 32-byte Ed25519 key>",
             "hash": "sha-256", "tree": "RFC 9162"},
     "records": [   // one battery's chain, ordered by sequence from 1 (genesis) up to the record
                    // asked about (or the whole history)
       {"log_index": 17, "record_hash": "<hex>", "record": {
            "id": "<uuid>", "battery": "<battery identifier>", "sequence": 1,
            "previous": null | "<record_hash of sequence - 1>",
            "type": "manufacturing.formation", "occurred_at": "...Z", "actor": "<organisation id>",
            "payload": {...}, "corrects": null | "<record_hash of the corrected record>"}}
     ],
     "tree_head": {"log_id": "<hex>", "tree_size": N, "root_hash": "<hex>",
                   "timestamp": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "signature": "<base64>"},
     "inclusion": {"17": ["<hex>", ...], ...},  // RFC 9162 PATH per record's log_index, against tree_head
     "anchor": null | {
         "tree_head": {signed head of size A <= N},
         "consistency": ["<hex>", ...],   // RFC 9162 PROOF(A, D[N]); empty when A == N
         "chain_id": 1337, "tx_hash": "0x<64 hex>", "block_number": 5, "block_hash": "0x<64 hex>",
         "data": "0x<hex of anchor_payload(A, root_A)>"}
    }

Hashes and keys have one accepted spelling each: lowercase hex (``0x``-prefixed for the chain
fields), canonical padded base64. ``record_hash`` is the hex SHA-256 of the RFC 8785 form of
``record``; the Merkle leaf of a record is the 32 raw bytes of its ``record_hash``.

Checks, all of which run even after one fails (a damaged bundle is reported, never raised on):

1. ``format``, ``log``: the format string and log description; ``log_id`` is the hash of the key;
   ``log.trusted_key`` when a trusted key is given (it then replaces the bundle's key for signatures).
2. ``records[i].hash``: each record hashes to its stated ``record_hash``.
3. ``chain.*``: one battery, sequences 1..k, ``previous`` links, ``corrects`` references an earlier
   record (a hash outside the chain is reported as an external reference that was not checked);
   ``records.log_index``: distinct indexes with exactly one inclusion path each.
4. ``tree_head``: signed by the log key, for this log.
5. ``records[i].inclusion``: the record's leaf is in the signed tree at its ``log_index``.
6. ``anchor.tree_head``, ``anchor.consistency``, ``anchor.data``, ``anchor.fields``: the anchored
   head is signed, the bundle's head extends it, ``data`` is its payload, the chain fields are well
   formed. With ``rpc_url``/``web3``: ``anchor.rpc`` (lookup), ``anchor.chain_id``,
   ``anchor.transaction`` (input equals ``data``), ``anchor.receipt`` (status 1, stated block number
   and hash), ``anchor.block`` (that block is on the node's chain). Without RPC, ``anchor.on_chain``
   passes with a detail saying the chain was not consulted, and ``Report.anchored`` stays False.
   ``anchor.coverage`` is informational (it fails only on malformed log indexes): it lists records
   logged after the anchored head, and ``Report.anchored`` is only True when there are none.

Exit status of the command: 0 when every check passed, 1 otherwise, 2 when the file cannot be read
as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lifecycle.provenance import merkle, signing
from lifecycle.provenance.anchor_data import anchor_payload
from lifecycle.provenance.canonical import record_hash

__all__ = ["FORMAT", "Check", "Report", "main", "verify_bundle"]

FORMAT = "cellpass.proof-bundle/1"
LOG_HASH = "sha-256"
LOG_TREE = "RFC 9162"
RECORD_FIELDS = (
    "id",
    "battery",
    "sequence",
    "previous",
    "type",
    "occurred_at",
    "actor",
    "payload",
    "corrects",
)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX64_0X = re.compile(r"0x[0-9a-f]{64}")


@dataclass(frozen=True)
class Check:
    """One named verification step and its outcome; ``detail`` says what was checked or what failed."""

    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    """Outcome of :func:`verify_bundle`.

    ``anchored`` is True only when the bundle verified completely, the anchor transaction was looked
    up on chain and matched (an anchor checked offline only does not count), *and* the anchored tree
    covers every record in the bundle. Records appended after the anchored head are proven by the
    signed head alone; the ``anchor.coverage`` check says which.
    """

    ok: bool
    checks: list[Check] = field(default_factory=list)
    anchored: bool = False

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def to_dict(self) -> dict:
        return {"ok": self.ok, "anchored": self.anchored, "checks": [asdict(check) for check in self.checks]}


class _Failed(Exception):
    """Raised inside a check to fail it with a message."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _Failed(message)


def _hex32(value: object, what: str) -> bytes:
    if not isinstance(value, str) or _HEX64.fullmatch(value) is None:
        raise _Failed(f"{what} is not 64 lowercase hex digits")
    return bytes.fromhex(value)


def _hex_path(value: object, what: str) -> list[bytes]:
    _require(isinstance(value, list), f"{what} is not a list")
    return [_hex32(item, f"{what}[{i}]") for i, item in enumerate(value)]


def _is_uint(value: object) -> bool:
    return type(value) is int and value >= 0


def _as_bytes(value: object) -> bytes:
    """RPC byte fields arrive as HexBytes from web3, or as 0x-strings from other clients."""
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)  # type: ignore[arg-type]


def _short(hex_text: object) -> str:
    return f"{hex_text[:12]}…" if isinstance(hex_text, str) else repr(hex_text)


class _Verification:
    """Runs every check against one bundle, keeping what later checks need from earlier ones."""

    def __init__(self, bundle: object, rpc_url: str | None, web3: object | None, trusted_key: str | None):
        self.bundle = bundle if isinstance(bundle, dict) else {}
        self.is_dict = isinstance(bundle, dict)
        self.rpc_url = rpc_url
        self.web3 = web3
        self.trusted_key = trusted_key
        self.checks: list[Check] = []
        self.key: bytes | None = None  # the key signatures are checked with
        self.log_id: str | None = None
        self.head_size: int | None = None
        self.head_root: bytes | None = None
        self.on_chain_checked = False
        self.covered = False  # every record lies inside the anchored tree

    def run(self, name: str, step: Callable[[], str]) -> bool:
        try:
            detail = step()
            ok = True
        except _Failed as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # a damaged bundle must be reported, whatever shape it has
            detail, ok = f"malformed bundle ({type(exc).__name__}: {exc})", False
        self.checks.append(Check(name, ok, detail))
        return ok

    # -- bundle ---------------------------------------------------------------------------------

    def records(self) -> list:
        records = self.bundle.get("records")
        return records if isinstance(records, list) else []

    def entry(self, i: int) -> dict:
        entry = self.records()[i]
        _require(isinstance(entry, dict), "record entry is not an object")
        return entry

    def record(self, i: int) -> dict:
        record = self.entry(i).get("record")
        _require(isinstance(record, dict), "record is not an object")
        return record

    # -- 1. format and log ----------------------------------------------------------------------

    def check_format(self) -> str:
        _require(self.is_dict, "bundle is not a JSON object")
        _require(
            self.bundle.get("format") == FORMAT, f"format is {self.bundle.get('format')!r}, not {FORMAT!r}"
        )
        records = self.bundle.get("records")
        _require(isinstance(records, list) and len(records) > 0, "records is not a non-empty list")
        _require(isinstance(self.bundle.get("tree_head"), dict), "tree_head is not an object")
        _require(isinstance(self.bundle.get("inclusion"), dict), "inclusion is not an object")
        _require("anchor" in self.bundle, "anchor is missing (null when there is none)")
        return f"{FORMAT}, {len(records)} record(s)"

    def check_log(self) -> str:
        log = self.bundle.get("log")
        _require(isinstance(log, dict), "log is not an object")
        _require(log.get("hash") == LOG_HASH, f"log hash is {log.get('hash')!r}, not {LOG_HASH!r}")
        _require(log.get("tree") == LOG_TREE, f"log tree is {log.get('tree')!r}, not {LOG_TREE!r}")
        try:
            key = signing.b64decode_strict(log.get("public_key"))
        except ValueError as exc:
            raise _Failed(f"public_key: {exc}") from None
        _require(len(key) == signing.KEY_SIZE, f"public_key is {len(key)} bytes, not {signing.KEY_SIZE}")
        expected = signing.log_id(key)
        _require(
            log.get("log_id") == expected, f"log_id {_short(log.get('log_id'))} is not the key's {expected}"
        )
        self.log_id = expected
        if self.trusted_key is not None:
            return f"log {expected} (signatures are checked with the trusted key)"
        self.key = key
        return f"log {expected} (key taken from the bundle: pass a trusted key to pin it)"

    def check_trusted_key(self) -> str:
        try:
            trusted = signing.b64decode_strict(self.trusted_key)
        except ValueError as exc:
            raise _Failed(f"trusted public key: {exc}") from None
        _require(len(trusted) == signing.KEY_SIZE, f"trusted public key is {len(trusted)} bytes")
        self.key = trusted
        log = self.bundle.get("log")
        stated = log.get("public_key") if isinstance(log, dict) else None
        _require(stated == self.trusted_key, "the bundle's log key is not the trusted key")
        return f"bundle is signed for the trusted key (log {signing.log_id(trusted)})"

    # -- 2, 3. records and chain ----------------------------------------------------------------

    def check_record_hash(self, i: int) -> str:
        entry = self.entry(i)
        record = self.record(i)
        missing = [name for name in RECORD_FIELDS if name not in record]
        _require(not missing, f"record lacks {', '.join(missing)}")
        stated = entry.get("record_hash")
        _hex32(stated, "record_hash")
        try:
            actual = record_hash(record)
        except ValueError as exc:
            raise _Failed(str(exc)) from None
        _require(actual == stated, f"record hashes to {actual}, not the stated {stated}")
        return stated

    def check_battery(self) -> str:
        batteries = [self.record(i).get("battery") for i in range(len(self.records()))]
        _require(len(batteries) > 0, "no records")
        first = batteries[0]
        _require(isinstance(first, str) and first != "", "battery identifier is not a non-empty string")
        others = sorted({repr(b) for b in batteries if b != first})
        _require(not others, f"records of other batteries in the chain of {first!r}: {', '.join(others)}")
        return f"all records are for battery {first!r}"

    def check_sequence(self) -> str:
        count = len(self.records())
        _require(count > 0, "no records")
        for i in range(count):
            sequence = self.record(i).get("sequence")
            _require(
                type(sequence) is int and sequence == i + 1,
                f"records[{i}] has sequence {sequence!r}, expected {i + 1} (chain must run 1..{count})",
            )
        return f"sequences 1..{count} without gaps"

    def check_previous(self) -> str:
        count = len(self.records())
        _require(count > 0, "no records")
        _require(self.record(0).get("previous") is None, "the genesis record's previous is not null")
        for i in range(1, count):
            previous = self.record(i).get("previous")
            expected = self.entry(i - 1).get("record_hash")
            _require(
                previous == expected,
                f"records[{i}].previous is {_short(previous)}, not the hash of records[{i - 1}] "
                f"{_short(expected)}",
            )
        return f"{count - 1} link(s) from each record to its predecessor"

    def check_corrects(self) -> str:
        seen: set[str] = set()
        position = {self.entry(i).get("record_hash"): i for i in range(len(self.records()))}
        external: list[str] = []
        internal = 0
        for i in range(len(self.records())):
            target = self.record(i).get("corrects")
            if target is not None:
                _hex32(target, f"records[{i}].corrects")
                if target in seen:
                    internal += 1
                else:
                    _require(
                        target not in position,
                        f"records[{i}] corrects records[{position.get(target)}], which is not earlier",
                    )
                    external.append(f"records[{i}] corrects {_short(target)}")
            seen.add(self.entry(i).get("record_hash"))
        if not internal and not external:
            return "no corrections"
        detail = f"{internal} correction(s) of earlier records in this chain"
        if external:
            detail += f"; external reference not checked: {'; '.join(external)}"
        return detail

    def check_log_indexes(self) -> str:
        indexes = []
        for i in range(len(self.records())):
            index = self.entry(i).get("log_index")
            _require(_is_uint(index), f"records[{i}].log_index {index!r} is not a non-negative integer")
            indexes.append(index)
        _require(indexes, "no records")
        duplicates = sorted(index for index, uses in Counter(indexes).items() if uses > 1)
        _require(not duplicates, f"log_index used by more than one record: {duplicates}")
        inclusion = self.bundle.get("inclusion")
        _require(isinstance(inclusion, dict), "inclusion is not an object")
        expected = {str(index) for index in indexes}
        _require(
            set(inclusion) == expected, "inclusion paths do not match the records' log indexes one to one"
        )
        return f"{len(indexes)} distinct log index(es), one inclusion path each"

    # -- 4, 5. tree head and inclusion ----------------------------------------------------------

    def _verified_head(self, head: object, what: str) -> tuple[int, bytes]:
        _require(self.key is not None, f"no usable log key to check the {what} with")
        _require(isinstance(head, dict), f"{what} is not an object")
        _require(
            self.log_id is None or head.get("log_id") == self.log_id,
            f"{what} is for log {_short(head.get('log_id'))}, not {_short(self.log_id)}",
        )
        _require(
            signing.verify_tree_head(head, self.key), f"{what} signature does not verify with the log key"
        )
        return head["tree_size"], bytes.fromhex(head["root_hash"])

    def check_tree_head(self) -> str:
        size, root = self._verified_head(self.bundle.get("tree_head"), "tree head")
        self.head_size, self.head_root = size, root
        return f"signed head of size {size}, root {root.hex()[:12]}…"

    def check_inclusion(self, i: int) -> str:
        _require(self.head_root is not None, "no verified tree head to check against")
        entry = self.entry(i)
        index = entry.get("log_index")
        _require(_is_uint(index), f"log_index {index!r} is not a non-negative integer")
        _require(index < self.head_size, f"log_index {index} is not below the tree size {self.head_size}")
        leaf = merkle.leaf_hash(_hex32(entry.get("record_hash"), "record_hash"))
        inclusion = self.bundle.get("inclusion")
        _require(isinstance(inclusion, dict) and str(index) in inclusion, f"no inclusion path for {index}")
        path = _hex_path(inclusion[str(index)], f"inclusion[{index}]")
        _require(
            merkle.verify_inclusion(leaf, index, self.head_size, path, self.head_root),
            f"inclusion path for log index {index} does not lead to the signed root",
        )
        return f"leaf {index} of {self.head_size}"

    # -- 6. anchor ------------------------------------------------------------------------------

    def anchor(self) -> dict:
        anchor = self.bundle.get("anchor")
        _require(isinstance(anchor, dict), "anchor is not an object")
        return anchor

    def check_anchor_head(self) -> str:
        size, _root = self._verified_head(self.anchor().get("tree_head"), "anchor tree head")
        _require(self.head_size is not None, "no verified tree head to compare with")
        _require(
            size <= self.head_size, f"anchored size {size} exceeds the bundle's tree size {self.head_size}"
        )
        return f"signed head of size {size}"

    def check_anchor_coverage(self) -> str:
        """Informational: which records the anchor timestamps (it never fails a valid bundle)."""
        size, _root = self._anchor_root()
        indexes = [self.entry(i).get("log_index") for i in range(len(self.records()))]
        _require(all(_is_uint(index) for index in indexes), "log indexes are malformed")
        newer = [i for i, index in enumerate(indexes) if index >= size]
        self.covered = not newer
        if not newer:
            return f"the anchored tree of size {size} contains all {len(indexes)} record(s)"
        listed = ", ".join(f"records[{i}]" for i in newer[:5]) + (", …" if len(newer) > 5 else "")
        return (
            f"{len(newer)} record(s) were logged after the anchored head of size {size} and are proven "
            f"by the signed tree head only: {listed}"
        )

    def _anchor_root(self) -> tuple[int, bytes]:
        head = self.anchor().get("tree_head")
        _require(isinstance(head, dict), "anchor tree_head is not an object")
        size = head.get("tree_size")
        _require(_is_uint(size), "anchor tree_size is not a non-negative integer")
        return size, _hex32(head.get("root_hash"), "anchor root_hash")

    def check_anchor_consistency(self) -> str:
        size, root = self._anchor_root()
        _require(self.head_root is not None, "no verified tree head to check against")
        path = _hex_path(self.anchor().get("consistency"), "consistency")
        _require(
            merkle.verify_consistency(size, self.head_size, root, self.head_root, path),
            f"consistency proof {size} -> {self.head_size} does not verify",
        )
        return f"tree of size {self.head_size} extends the anchored tree of size {size}"

    def check_anchor_data(self) -> str:
        size, root = self._anchor_root()
        expected = "0x" + anchor_payload(size, root).hex()
        _require(self.anchor().get("data") == expected, "data is not the anchor payload of the anchored head")
        return "data is the payload of the anchored head"

    def check_anchor_fields(self) -> str:
        anchor = self.anchor()
        chain_id, block_number = anchor.get("chain_id"), anchor.get("block_number")
        _require(_is_uint(chain_id) and chain_id > 0, f"chain_id {chain_id!r} is not a positive integer")
        _require(_is_uint(block_number), f"block_number {block_number!r} is not a non-negative integer")
        for name in ("tx_hash", "block_hash"):
            value = anchor.get(name)
            _require(
                isinstance(value, str) and _HEX64_0X.fullmatch(value) is not None,
                f"{name} is not 0x and 64 lowercase hex digits",
            )
        return f"transaction {_short(anchor['tx_hash'])} in block {block_number} of chain {chain_id}"

    def check_on_chain(self) -> None:
        """Look the transaction up once and report its parts as separate checks."""
        fetched: dict[str, Any] = {}
        failure: list[str] = []

        def connect() -> str:
            anchor = self.anchor()
            tx_hash = anchor.get("tx_hash")
            try:
                w3 = self.web3
                if w3 is None:
                    from web3 import Web3  # imported only when the chain is consulted

                    w3 = Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 20}))
                fetched["chain_id"] = w3.eth.chain_id
                fetched["tx"] = w3.eth.get_transaction(tx_hash)
                fetched["receipt"] = w3.eth.get_transaction_receipt(tx_hash)
                fetched["block"] = w3.eth.get_block(anchor.get("block_number"))
            except Exception as exc:  # unreachable node, unknown transaction, web3 missing
                raise _Failed(f"chain lookup failed: {type(exc).__name__}: {exc}") from None
            try:
                fetched["latest"] = w3.eth.block_number
            except Exception:
                fetched["latest"] = None  # only used for the confirmation count
            return f"transaction {_short(tx_hash)} found"

        def fetched_ok() -> None:
            _require(not failure, "transaction not looked up: " + (failure[0] if failure else ""))

        def chain_id() -> str:
            fetched_ok()
            expected = self.anchor().get("chain_id")
            _require(fetched["chain_id"] == expected, f"RPC is chain {fetched['chain_id']}, not {expected}")
            tx_chain = fetched["tx"].get("chainId")
            _require(tx_chain in (None, expected), f"transaction was signed for chain {tx_chain}")
            return f"chain {expected}"

        def transaction() -> str:
            fetched_ok()
            stated = bytes.fromhex(self.anchor()["data"][2:])
            _require(_as_bytes(fetched["tx"]["input"]) == stated, "transaction input is not the anchor data")
            return "transaction input is the anchor data"

        def receipt() -> str:
            fetched_ok()
            anchor, receipt = self.anchor(), fetched["receipt"]
            _require(receipt.get("status") == 1, f"transaction status is {receipt.get('status')!r}, not 1")
            _require(
                receipt["blockNumber"] == anchor["block_number"],
                f"transaction is in block {receipt['blockNumber']}, not {anchor['block_number']}",
            )
            _require(
                "0x" + _as_bytes(receipt["blockHash"]).hex() == anchor["block_hash"],
                "transaction's block hash is not the stated block_hash",
            )
            detail = f"succeeded in block {anchor['block_number']}"
            if isinstance(fetched.get("latest"), int):
                detail += f" ({fetched['latest'] - anchor['block_number'] + 1} confirmation(s))"
            return detail

        def block() -> str:
            fetched_ok()
            anchor = self.anchor()
            _require(
                "0x" + _as_bytes(fetched["block"]["hash"]).hex() == anchor["block_hash"],
                f"block {anchor['block_number']} on the chain is not the stated block_hash",
            )
            return f"block {anchor['block_number']} is on the chain with the stated hash"

        if not self.run("anchor.rpc", connect):
            failure.append(self.checks[-1].detail)
        results = [
            self.run("anchor.chain_id", chain_id),
            self.run("anchor.transaction", transaction),
            self.run("anchor.receipt", receipt),
            self.run("anchor.block", block),
        ]
        self.on_chain_checked = not failure and all(results)

    # -- all ------------------------------------------------------------------------------------

    def verify(self) -> Report:
        self.run("format", self.check_format)
        self.run("log", self.check_log)
        if self.trusted_key is not None:
            self.run("log.trusted_key", self.check_trusted_key)
        count = len(self.records())
        for i in range(count):
            self.run(f"records[{i}].hash", lambda i=i: self.check_record_hash(i))
        self.run("chain.battery", self.check_battery)
        self.run("chain.sequence", self.check_sequence)
        self.run("chain.previous", self.check_previous)
        self.run("chain.corrects", self.check_corrects)
        self.run("records.log_index", self.check_log_indexes)
        self.run("tree_head", self.check_tree_head)
        for i in range(count):
            self.run(f"records[{i}].inclusion", lambda i=i: self.check_inclusion(i))
        if self.bundle.get("anchor") is None and self.is_dict and "anchor" in self.bundle:
            self.checks.append(
                Check("anchor", True, "no anchor in this bundle: records are not anchored on chain")
            )
        else:
            self.run("anchor.tree_head", self.check_anchor_head)
            self.run("anchor.consistency", self.check_anchor_consistency)
            self.run("anchor.data", self.check_anchor_data)
            self.run("anchor.coverage", self.check_anchor_coverage)
            fields_ok = self.run("anchor.fields", self.check_anchor_fields)
            if self.rpc_url is None and self.web3 is None:
                self.checks.append(
                    Check(
                        "anchor.on_chain",
                        True,
                        "not checked: no RPC given, the transaction was not looked up "
                        "(use --rpc-url to confirm the anchor on chain)",
                    )
                )
            elif fields_ok:
                self.check_on_chain()
            else:
                self.checks.append(
                    Check("anchor.on_chain", False, "not looked up: anchor fields are malformed")
                )
        ok = all(check.ok for check in self.checks)
        return Report(ok=ok, checks=self.checks, anchored=ok and self.on_chain_checked and self.covered)


def verify_bundle(
    bundle: dict,
    *,
    rpc_url: str | None = None,
    web3: object | None = None,
    trusted_public_key: str | None = None,
) -> Report:
    """Check everything a proof bundle claims; never raises for a damaged or hostile bundle.

    ``web3`` (a ``Web3`` instance) or ``rpc_url`` enables the on-chain anchor checks;
    ``trusted_public_key`` (base64 raw Ed25519) pins the log key instead of trusting the bundle's.
    """
    return _Verification(bundle, rpc_url, web3, trusted_public_key).verify()


# -- command line ---------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_bundle(path: str) -> Any:
    """Read a bundle file strictly: duplicate keys and NaN/Infinity make it unreadable."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)


def _marks() -> tuple[str, str]:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗…".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "[ok]", "[FAIL]"
    return "✓", "✗"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lifecycle.provenance.verifier",
        description="Verify a Cellpass proof bundle offline (exit 0 verified, 1 failed, 2 unreadable).",
    )
    parser.add_argument("bundle", help="proof bundle JSON file")
    parser.add_argument("--rpc-url", help="Ethereum JSON-RPC URL to confirm the anchor transaction on chain")
    parser.add_argument("--public-key", help="trusted log public key (base64 of the raw 32-byte Ed25519 key)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        bundle = load_bundle(args.bundle)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        print(f"cannot read {args.bundle}: {exc}", file=sys.stderr)
        return 2
    report = verify_bundle(bundle, rpc_url=args.rpc_url, trusted_public_key=args.public_key)
    try:
        _print_report(report, as_json=args.json)
        sys.stdout.flush()
    except BrokenPipeError:  # piped into `head`: the verdict still stands, in the exit status
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0 if report.ok else 1


def _print_report(report: Report, *, as_json: bool) -> None:
    # Details quote bundle text, which the terminal's encoding may not cover.
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    good, bad = _marks()
    for check in report.checks:
        print(f"{good if check.ok else bad} {check.name}: {check.detail}")
    if report.ok:
        print("VERIFIED" + (" and anchored on chain" if report.anchored else ""))
    else:
        print(f"NOT VERIFIED: {len(report.failures)} of {len(report.checks)} checks failed")


if __name__ == "__main__":
    sys.exit(main())
