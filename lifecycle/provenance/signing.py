"""Signed tree heads: the log's Ed25519 signature over (log id, tree size, root hash, timestamp).

A head is the dict ``{"log_id", "tree_size", "root_hash", "timestamp"}`` and its signed form adds
``"signature"``: standard padded base64 of the Ed25519 signature over the RFC 8785 canonical bytes
of the head without ``"signature"``. Signing the canonical JSON (rather than a binary structure)
lets any JCS implementation check a head taken straight out of a proof bundle.

Every text field has exactly one accepted spelling (lowercase hex, canonical base64, UTC timestamp
with microseconds and ``Z``), so two heads that verify are equal as JSON: a bundle cannot be
altered without the signature check failing, even in bits an encoder would ignore.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lifecycle.provenance.canonical import canonical_bytes

__all__ = [
    "HEAD_FIELDS",
    "SIGNED_HEAD_FIELDS",
    "b64decode_strict",
    "encode_private_key",
    "generate_private_key",
    "load_private_key",
    "log_id",
    "public_key_of",
    "sign_tree_head",
    "verify_tree_head",
]

KEY_SIZE = 32
SIGNATURE_SIZE = 64
HEAD_FIELDS = frozenset({"log_id", "tree_size", "root_hash", "timestamp"})
SIGNED_HEAD_FIELDS = HEAD_FIELDS | {"signature"}
MAX_TREE_SIZE = 2**53 - 1  # the largest integer RFC 8785 (I-JSON) can carry
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_RAW = serialization.Encoding.Raw
_RAW_FORMAT = serialization.PublicFormat.Raw


def generate_private_key() -> bytes:
    """A new Ed25519 private key as its 32 raw bytes."""
    return Ed25519PrivateKey.generate().private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _private_key(private_raw: bytes) -> Ed25519PrivateKey:
    if not isinstance(private_raw, (bytes, bytearray)) or len(private_raw) != KEY_SIZE:
        raise ValueError(f"an Ed25519 private key is {KEY_SIZE} raw bytes")
    return Ed25519PrivateKey.from_private_bytes(bytes(private_raw))


def public_key_of(private_raw: bytes) -> bytes:
    """The 32 raw bytes of the public key belonging to ``private_raw``."""
    return _private_key(private_raw).public_key().public_bytes(_RAW, _RAW_FORMAT)


def log_id(public_raw: bytes) -> str:
    """Hex SHA-256 of the raw public key: names the log and pins the key that signs for it."""
    if not isinstance(public_raw, (bytes, bytearray)) or len(public_raw) != KEY_SIZE:
        raise ValueError(f"an Ed25519 public key is {KEY_SIZE} raw bytes")
    return hashlib.sha256(public_raw).hexdigest()


def encode_private_key(private_raw: bytes) -> str:
    """Standard base64 of the raw private key: the form :func:`load_private_key` reads back."""
    _private_key(private_raw)
    return base64.b64encode(private_raw).decode("ascii")


def load_private_key(text: str) -> bytes:
    """Raw private key from base64 of its 32 bytes, or from a PEM PKCS#8 Ed25519 private key.

    Anything else (another algorithm, an encrypted PEM, a wrong length) is a ``ValueError`` saying
    which forms are accepted, so a misconfigured setting fails at start-up, not at first signature.
    """
    accepted = "expected base64 of a 32-byte raw Ed25519 private key or an unencrypted PEM PKCS#8 Ed25519 key"
    if not isinstance(text, str):
        raise ValueError(f"signing key must be text; {accepted}")
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (TypeError, ValueError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
            raise ValueError(f"unreadable PEM signing key ({exc}); {accepted}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"PEM signing key is {type(key).__name__}, not Ed25519; {accepted}")
        return key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"signing key is neither PEM nor valid base64; {accepted}") from None
    if len(raw) != KEY_SIZE:
        raise ValueError(f"base64 signing key decodes to {len(raw)} bytes, not {KEY_SIZE}; {accepted}")
    return raw


def b64decode_strict(text: object) -> bytes:
    """Standard padded base64 in its one canonical spelling, else ``ValueError``.

    ``b64decode`` ignores the unused low bits of the last character, so several strings decode to
    the same bytes; requiring the re-encoding to match makes the text itself tamper-evident.
    """
    if not isinstance(text, str):
        raise ValueError("base64 value must be a string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("base64 is not in canonical form")
    return raw


def _format_timestamp(moment: dt.datetime) -> str:
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamp must be a timezone-aware datetime")
    return moment.astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT)


def sign_tree_head(private_raw: bytes, tree_size: int, root_hash: bytes, timestamp: dt.datetime) -> dict:
    """The signed head for a tree of ``tree_size`` leaves with root ``root_hash`` at ``timestamp``.

    ``timestamp`` must be timezone-aware (it is written in UTC with microseconds).
    """
    key = _private_key(private_raw)
    if type(tree_size) is not int or not 0 <= tree_size <= MAX_TREE_SIZE:
        raise ValueError(f"tree_size must be an integer in [0, 2**53 - 1], got {tree_size!r}")
    if not isinstance(root_hash, (bytes, bytearray)) or len(root_hash) != 32:
        raise ValueError("root_hash must be 32 bytes")
    head = {
        "log_id": log_id(key.public_key().public_bytes(_RAW, _RAW_FORMAT)),
        "tree_size": tree_size,
        "root_hash": bytes(root_hash).hex(),
        "timestamp": _format_timestamp(timestamp),
    }
    signature = key.sign(canonical_bytes(head))
    return {**head, "signature": base64.b64encode(signature).decode("ascii")}


def verify_tree_head(head: dict, public_raw: bytes) -> bool:
    """True iff ``head`` is a well-formed signed head for this key's log with a valid signature.

    Exactly the five fields, each in its canonical spelling; never raises.
    """
    try:
        if not isinstance(head, dict) or set(head) != SIGNED_HEAD_FIELDS:
            return False
        tree_size = head["tree_size"]
        if type(tree_size) is not int or not 0 <= tree_size <= MAX_TREE_SIZE:
            return False
        if not _is_hex64(head["root_hash"]) or not _is_hex64(head["log_id"]):
            return False
        if not _is_timestamp(head["timestamp"]):
            return False
        if head["log_id"] != log_id(public_raw):
            return False
        signature = b64decode_strict(head["signature"])
        if len(signature) != SIGNATURE_SIZE:
            return False
        unsigned = {name: head[name] for name in HEAD_FIELDS}
        Ed25519PublicKey.from_public_bytes(bytes(public_raw)).verify(signature, canonical_bytes(unsigned))
        return True
    except (InvalidSignature, ValueError, TypeError, KeyError, UnicodeError, OverflowError):
        return False


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str) or _TIMESTAMP.fullmatch(value) is None:
        return False
    try:
        dt.datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError:
        return False
    return True
