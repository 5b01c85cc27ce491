"""Canonical record form (RFC 8785) and Ed25519 signed tree heads."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lifecycle.provenance.canonical import canonical_bytes, record_hash, sha256_hex
from lifecycle.provenance.signing import (
    encode_private_key,
    generate_private_key,
    load_private_key,
    log_id,
    public_key_of,
    sign_tree_head,
    verify_tree_head,
)

# -- canonical form -------------------------------------------------------------------------------


def test_canonical_bytes_follow_rfc_8785():
    # Keys sorted by UTF-16 code units (RFC 8785 3.2.3: the surrogate pair of U+1F600 sorts before
    # U+FB33, unlike code point order), no whitespace, shortest ECMAScript numbers, minimal escapes.
    value = {"\ufb33": 1, "\U0001f600": 2, "b": [1.0, 1e21, 1e-7, 0.000001, -0.0, 100], "a": "\u00e9\n\x1f"}
    assert canonical_bytes(value) == (
        '{"a":"\u00e9\\n\\u001f","b":[1,1e+21,1e-7,0.000001,0,100],"\U0001f600":2,"\ufb33":1}'.encode()
    )
    assert canonical_bytes({"b": 1, "a": {"d": None, "c": True}}) == b'{"a":{"c":true,"d":null},"b":1}'


def test_record_hash_is_sha256_of_the_canonical_form():
    record = {"sequence": 1, "battery": "BAT-1", "previous": None}
    expected = hashlib.sha256(b'{"battery":"BAT-1","previous":null,"sequence":1}').hexdigest()
    assert record_hash(record) == expected == sha256_hex(canonical_bytes(record))
    assert record_hash({"previous": None, "battery": "BAT-1", "sequence": 1}) == expected


@pytest.mark.parametrize(
    ("value", "where", "why"),
    [
        ({"payload": {"soc": float("nan")}}, r"\$\.payload\.soc", "no JSON representation"),
        ({"payload": [1, float("inf")]}, r"\$\.payload\[1\]", "no JSON representation"),
        ({"n": 2**53}, r"\$\.n", "outside the I-JSON range"),
        ({"n": -(2**53)}, r"\$\.n", "outside the I-JSON range"),
        ({"payload": {1: "x"}}, r"\$\.payload", "not a string"),
        ({"when": dt.datetime(2024, 1, 1)}, r"\$\.when", "datetime is not a JSON type"),
        ({"s": "\ud800"}, r"\$\.s", "lone surrogate"),
        ({"b": b"bytes"}, r"\$\.b", "bytes is not a JSON type"),
    ],
)
def test_values_without_a_canonical_form_are_refused_by_location(value, where, why):
    with pytest.raises(ValueError, match=rf"{where}: .*{why}"):
        canonical_bytes(value)


def test_the_largest_safe_integers_are_accepted():
    assert canonical_bytes([2**53 - 1, -(2**53 - 1)]) == b"[9007199254740991,-9007199254740991]"


def test_deep_nesting_is_a_value_error():
    value: list = []
    for _ in range(5_000):
        value = [value]
    # py-evm raises the recursion limit to 100,000 when the EVM tests run first; use the default.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)
    try:
        with pytest.raises(ValueError, match="nested too deeply"):
            canonical_bytes(value)
    finally:
        sys.setrecursionlimit(limit)


# -- keys -----------------------------------------------------------------------------------------


def test_keys_and_log_id():
    private = generate_private_key()
    assert len(private) == 32
    public = public_key_of(private)
    assert len(public) == 32
    assert public == Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert log_id(public) == hashlib.sha256(public).hexdigest()
    assert generate_private_key() != private
    with pytest.raises(ValueError):
        log_id(public[:31])
    with pytest.raises(ValueError):
        public_key_of(private + b"\x00")


def test_private_key_text_forms():
    private = generate_private_key()
    encoded = encode_private_key(private)
    assert base64.b64decode(encoded) == private
    assert load_private_key(encoded) == private
    assert load_private_key(f"  {encoded}\n") == private
    pem = (
        Ed25519PrivateKey.from_private_bytes(private)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    assert load_private_key(pem) == private


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "32 bytes|base64"),
        ("not base64!", "neither PEM nor valid base64"),
        (base64.b64encode(b"x" * 31).decode(), "31 bytes"),
        (base64.b64encode(b"x" * 64).decode(), "64 bytes"),
        ("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----", "unreadable PEM"),
    ],
)
def test_unusable_private_key_text_is_a_clear_error(text, match):
    with pytest.raises(ValueError, match=match):
        load_private_key(text)


def test_pem_keys_of_other_kinds_are_refused():
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(ValueError, match="not Ed25519"):
        load_private_key(ec_pem)
    encrypted = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="unreadable PEM"):
        load_private_key(encrypted)


# -- tree heads -----------------------------------------------------------------------------------

PRIVATE = generate_private_key()
PUBLIC = public_key_of(PRIVATE)
ROOT = hashlib.sha256(b"root").digest()
WHEN = dt.datetime(2025, 3, 4, 5, 6, 7, 89, tzinfo=dt.UTC)


def test_signed_head_round_trip():
    head = sign_tree_head(PRIVATE, 300, ROOT, WHEN)
    assert head == {
        "log_id": log_id(PUBLIC),
        "tree_size": 300,
        "root_hash": ROOT.hex(),
        "timestamp": "2025-03-04T05:06:07.000089Z",
        "signature": head["signature"],
    }
    assert len(base64.b64decode(head["signature"], validate=True)) == 64
    assert verify_tree_head(head, PUBLIC) is True
    assert verify_tree_head(dict(reversed(head.items())), PUBLIC) is True  # key order is irrelevant


def test_timestamps_are_written_in_utc_and_must_be_aware():
    cet = dt.timezone(dt.timedelta(hours=1))
    head = sign_tree_head(PRIVATE, 1, ROOT, dt.datetime(2025, 1, 1, 0, 30, tzinfo=cet))
    assert head["timestamp"] == "2024-12-31T23:30:00.000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_tree_head(PRIVATE, 1, ROOT, dt.datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("size", "root"), [(-1, ROOT), (2**53, ROOT), (True, ROOT), (1, ROOT[:31]), (1, ROOT.hex())]
)
def test_sign_refuses_bad_heads(size, root):
    with pytest.raises(ValueError):
        sign_tree_head(PRIVATE, size, root, WHEN)


def _flip(text: str, position: int) -> str:
    alphabet = "0123456789abcdef" if all(c in "0123456789abcdef" for c in text) else "ABCabc+/"
    replacement = next(c for c in alphabet if c != text[position])
    return text[:position] + replacement + text[position + 1 :]


def test_any_change_to_a_signed_head_is_detected():
    head = sign_tree_head(PRIVATE, 300, ROOT, WHEN)
    mutations = [
        {**head, "tree_size": 301},
        {**head, "tree_size": 300.0},
        {**head, "tree_size": "300"},
        {**head, "root_hash": _flip(head["root_hash"], 5)},
        {**head, "root_hash": head["root_hash"].upper()},
        {**head, "timestamp": "2025-03-04T05:06:07.000090Z"},
        {**head, "timestamp": "2025-03-04T05:06:07.000089+00:00"},
        {**head, "log_id": _flip(head["log_id"], 0)},
        {**head, "extra": 1},
        {key: value for key, value in head.items() if key != "timestamp"},
        {key: value for key, value in head.items() if key != "signature"},
        {**head, "signature": head["signature"].rstrip("=")},
        {**head, "signature": base64.b64encode(b"\x00" * 64).decode()},
        {**head, "signature": None},
    ]
    signature = head["signature"]
    mutations += [{**head, "signature": _flip(signature, i)} for i in range(0, len(signature) - 2)]
    for mutated in mutations:
        assert verify_tree_head(mutated, PUBLIC) is False, mutated


def test_a_non_canonical_signature_encoding_is_refused():
    head = sign_tree_head(PRIVATE, 300, ROOT, WHEN)
    signature = head["signature"]
    assert signature.endswith("==")
    # The last data character carries 4 unused bits: this spelling decodes to the same 64 bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = signature[-3]
    other = alphabet[alphabet.index(last) ^ 0x01]
    spelled = signature[:-3] + other + "=="
    assert base64.b64decode(spelled) == base64.b64decode(signature)
    assert verify_tree_head({**head, "signature": spelled}, PUBLIC) is False


def _signed_as_is(fields: dict) -> dict:
    """A head with a valid signature over whatever ``fields`` say, bypassing sign_tree_head's checks."""
    signature = Ed25519PrivateKey.from_private_bytes(PRIVATE).sign(canonical_bytes(fields))
    return {**fields, "signature": base64.b64encode(signature).decode()}


@pytest.mark.parametrize(
    "change",
    [
        {"log_id": log_id(public_key_of(generate_private_key()))},  # another log's id, signed by this key
        {"timestamp": "2025-03-04 05:06:07"},
        {"timestamp": "2025-13-04T05:06:07.000000Z"},
        {"root_hash": ROOT.hex().upper()},
        {"root_hash": ROOT.hex()[:62]},
        {"tree_size": -1},
        {"tree_size": True},
    ],
)
def test_a_validly_signed_but_malformed_head_is_refused(change):
    fields = {
        "log_id": log_id(PUBLIC),
        "tree_size": 300,
        "root_hash": ROOT.hex(),
        "timestamp": "2025-03-04T05:06:07.000089Z",
    }
    assert verify_tree_head(_signed_as_is(fields), PUBLIC) is True
    assert verify_tree_head(_signed_as_is({**fields, **change}), PUBLIC) is False


def test_a_head_does_not_verify_with_another_key_or_garbage():
    head = sign_tree_head(PRIVATE, 300, ROOT, WHEN)
    other = public_key_of(generate_private_key())
    assert verify_tree_head(head, other) is False
    assert verify_tree_head({**head, "log_id": log_id(other)}, other) is False
    assert verify_tree_head(head, PUBLIC[:31]) is False
    assert verify_tree_head(head, None) is False
    assert verify_tree_head(None, PUBLIC) is False
    assert verify_tree_head([head], PUBLIC) is False
