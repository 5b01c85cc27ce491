"""The bytes a log anchor publishes on chain: a fixed 48-byte record of one tree head.

``b"CELLPASS" || tree_size (8 bytes, big-endian) || root hash (32 bytes)``. The fixed layout lets
anyone spot Cellpass anchors in transaction input and read them without an ABI; the signature is
deliberately not included, because the anchor only needs to show that this root existed by the time
of the block (the signed head in the proof bundle says whose root it is).
"""

from __future__ import annotations

__all__ = ["ANCHOR_MAGIC", "ANCHOR_SIZE", "anchor_payload", "parse_anchor_payload"]

ANCHOR_MAGIC = b"CELLPASS"
ANCHOR_SIZE = len(ANCHOR_MAGIC) + 8 + 32


def anchor_payload(tree_size: int, root_hash: bytes) -> bytes:
    """The 48 bytes anchoring the tree of ``tree_size`` leaves with root ``root_hash``."""
    if type(tree_size) is not int or not 0 <= tree_size < 2**64:
        raise ValueError(f"tree_size must be an integer in [0, 2**64), got {tree_size!r}")
    if not isinstance(root_hash, (bytes, bytearray)) or len(root_hash) != 32:
        raise ValueError("root_hash must be 32 bytes")
    return ANCHOR_MAGIC + tree_size.to_bytes(8, "big") + bytes(root_hash)


def parse_anchor_payload(data: bytes) -> tuple[int, bytes]:
    """``(tree_size, root_hash)`` from an anchor payload; ``ValueError`` if it is not one."""
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError("anchor payload must be bytes")
    if len(data) != ANCHOR_SIZE:
        raise ValueError(f"anchor payload is {len(data)} bytes, expected {ANCHOR_SIZE}")
    if not data.startswith(ANCHOR_MAGIC):
        raise ValueError("anchor payload does not start with the CELLPASS magic")
    magic = len(ANCHOR_MAGIC)
    return int.from_bytes(data[magic : magic + 8], "big"), bytes(data[magic + 8 :])
