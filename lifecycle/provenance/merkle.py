"""Merkle tree of RFC 9162 (Certificate Transparency v2) section 2.1, with SHA-256.

Storage model
-------------
The log keeps only *perfect subtree nodes*: coordinate ``(level, index)`` is the hash of the perfect
subtree over leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes.
A node exists once all of its leaves exist and never changes afterwards, so the table is
append-only. Every hash RFC 9162 needs (roots, PATH, PROOF) is an MTH over a range whose binary
decomposition consists of such nodes, so each proof is: compute the coordinates
(:func:`inclusion_coords`, :func:`consistency_coords`), fetch them in one query, then combine them
(:func:`inclusion_proof`, :func:`consistency_proof`).

The proof functions below walk the RFC's recursive definitions iteratively from the root (one
step per level), so they produce exactly the RFC's lists; a non-perfect right-hand range (there is at
most one per proof, on the tree's right edge) is expanded into the perfect nodes of its binary
decomposition and folded back into one hash.

Conventions beyond the RFC text
-------------------------------
* Consistency proofs are defined by the RFC for ``0 < old_size < new_size``. For
  ``old_size == new_size`` and for ``old_size == 0`` the proof is the empty list;
  :func:`verify_consistency` then accepts the empty proof iff the roots are equal (equal sizes), or
  iff ``old_root`` is :data:`EMPTY_ROOT` (every tree extends the empty tree).
* The ``leaf`` given to :func:`verify_inclusion` is the *leaf hash* (the RFC's ``hash``), i.e.
  ``leaf_hash(data)``, not the entry data.
* Verification never raises: malformed input (wrong hash lengths, non-integer or out-of-range sizes,
  a path that is not a sequence of 32-byte strings) is simply a failed proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Coord",
    "appended_nodes",
    "compact_range",
    "consistency_coords",
    "consistency_proof",
    "inclusion_coords",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_leaf_hashes",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

Coord = tuple[int, int]

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the domain prefix keeps a leaf from ever posing as an interior node."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(_NODE + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) from all leaf hashes: the reference used to check the node-based functions.

    Pairs neighbours level by level and carries an odd last node up unchanged, which builds exactly
    the RFC's tree (split at the largest power of two below n), without relying on compact ranges.
    """
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [_sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _check_size(size: int, name: str = "size") -> None:
    if type(size) is not int or size < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {size!r}")


def _range_coords(start: int, end: int) -> list[Coord]:
    """Perfect nodes covering [start, end), largest first: the binary decomposition of the width.

    Valid when ``start`` is a multiple of the largest piece, which holds for every range the RFC
    recursion produces (and for [0, size)).
    """
    coords: list[Coord] = []
    width = end - start
    while width:
        level = width.bit_length() - 1
        if start & ((1 << level) - 1):
            raise ValueError(f"range [{start}, {end}) is not aligned to perfect subtrees")
        coords.append((level, start >> level))
        start += 1 << level
        width -= 1 << level
    return coords


def compact_range(size: int) -> list[Coord]:
    """The perfect nodes covering [0, size), one per set bit of ``size``, left to right."""
    _check_size(size)
    return _range_coords(0, size)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its binary decomposition: fold from the right."""
    result = hashes[-1]
    for i in range(len(hashes) - 2, -1, -1):
        result = _sha256(_NODE + hashes[i] + result).digest()
    return result


def subtree_hash(start: int, end: int, nodes: Mapping[Coord, bytes]) -> bytes:
    """MTH(D[start:end]) from perfect nodes (``start`` aligned as in the RFC recursion).

    ``KeyError`` if a needed node is missing from ``nodes``; ``ValueError`` for a misaligned range.
    """
    _check_size(start, "start")
    if end < start:
        raise ValueError(f"empty or inverted range [{start}, {end})")
    if end == start:
        return EMPTY_ROOT
    return _fold([nodes[coord] for coord in _range_coords(start, end)])


def root(size: int, nodes: Mapping[Coord, bytes]) -> bytes:
    """MTH of the first ``size`` leaves from the nodes of ``compact_range(size)``."""
    _check_size(size)
    return subtree_hash(0, size, nodes)


def appended_nodes(
    size: int, edge: Mapping[Coord, bytes], new_leaf_hashes: Sequence[bytes]
) -> list[tuple[int, int, bytes]]:
    """Every perfect node created by appending ``new_leaf_hashes`` to a tree of ``size`` leaves.

    ``edge`` holds the hashes of ``compact_range(size)``; only those are needed because every node
    that can still gain a parent lies on that right edge. Returns ``(level, index, hash)`` in
    creation order: each leaf's level-0 node, then the parents it completes, lowest first. One
    hash per created node, so a batch of k leaves costs fewer than 2k hashes.
    """
    _check_size(size)
    try:
        stack = [edge[coord] for coord in _range_coords(0, size)]
    except KeyError as exc:
        raise ValueError(f"edge is missing compact-range node {exc.args[0]} of size {size}") from None
    out: list[tuple[int, int, bytes]] = []
    append = out.append
    sha256 = _sha256
    node = _NODE
    pos = size
    for digest in new_leaf_hashes:
        if len(digest) != HASH_SIZE:
            raise ValueError(f"leaf hash for index {pos} is {len(digest)} bytes, expected {HASH_SIZE}")
        digest = bytes(digest)
        append((0, pos, digest))
        # Appending leaf `pos` completes one parent per trailing 1 bit of `pos`.
        merges = (pos ^ (pos + 1)).bit_length() - 1
        if merges:
            index = pos
            for level in range(1, merges + 1):
                digest = sha256(node + stack.pop() + digest).digest()
                index >>= 1
                append((level, index, digest))
        stack.append(digest)
        pos += 1
    return out


def _largest_power_below(n: int) -> int:
    """The RFC's k: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _path_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PATH(index, D[size]) (RFC 9162 2.1.3.1), in proof order."""
    _check_size(index, "index")
    _check_size(size)
    if index >= size:
        raise ValueError(f"index {index} is not below size {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
        if index < mid:
            ranges.append((mid, hi))  # PATH(m, D[0:k]) : MTH(D[k:n])
            hi = mid
        else:
            ranges.append((lo, mid))  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            lo = mid
    ranges.reverse()  # the recursion appends on the way back up: deepest sibling first
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PROOF(old_size, D[new_size]) (RFC 9162 2.1.4.1), in order."""
    _check_size(old_size, "old_size")
    _check_size(new_size, "new_size")
    if old_size > new_size:
        raise ValueError(f"old_size {old_size} exceeds new_size {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m, complete = 0, new_size, old_size, True  # SUBPROOF(m, D[lo:hi], b=complete)
    while m != hi - lo:
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
        if m <= mid - lo:
            ranges.append((mid, hi))  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            hi = mid
        else:
            ranges.append((lo, mid))  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            m -= mid - lo
            lo = mid
            complete = False
    if not complete:
        ranges.append((lo, hi))  # SUBPROOF(m, D[m], false) = {MTH(D[m])}; always a perfect node
    ranges.reverse()
    return ranges


def _coords_of(ranges: list[tuple[int, int]]) -> list[Coord]:
    coords: list[Coord] = []
    for start, end in ranges:
        coords.extend(_range_coords(start, end))
    return coords


def _hashes_of(ranges: list[tuple[int, int]], nodes: Mapping[Coord, bytes]) -> list[bytes]:
    proof: list[bytes] = []
    for start, end in ranges:
        width = end - start
        if width & (width - 1) == 0:  # perfect: a single stored node
            level = width.bit_length() - 1
            proof.append(nodes[(level, start >> level)])
        else:
            proof.append(_fold([nodes[coord] for coord in _range_coords(start, end)]))
    return proof


def inclusion_coords(index: int, size: int) -> list[Coord]:
    """Every perfect node :func:`inclusion_proof` reads (at most about 2 log2(size), no duplicates)."""
    return _coords_of(_path_ranges(index, size))


def consistency_coords(old_size: int, new_size: int) -> list[Coord]:
    """Every perfect node :func:`consistency_proof` reads (empty for equal sizes or old_size 0)."""
    return _coords_of(_consistency_ranges(old_size, new_size))


def inclusion_proof(index: int, size: int, nodes: Mapping[Coord, bytes]) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162, leaf to root, from the nodes of ``inclusion_coords``."""
    return _hashes_of(_path_ranges(index, size), nodes)


def consistency_proof(old_size: int, new_size: int, nodes: Mapping[Coord, bytes]) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 from the nodes of ``consistency_coords``.

    Empty when ``old_size == new_size`` or ``old_size == 0`` (see the module docstring).
    """
    return _hashes_of(_consistency_ranges(old_size, new_size), nodes)


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return type(value) is int and value >= 0


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2, step for step. ``leaf`` is the leaf hash. False on any malformed input."""
    try:
        if not (_is_hash(leaf) and _is_hash(root) and _is_size(index) and _is_size(size)):
            return False
        if isinstance(path, (str, bytes, bytearray)):
            return False
        path = list(path)
        if not all(_is_hash(p) for p in path):
            return False
        # 1. leaf_index >= tree_size fails.
        if index >= size:
            return False
        # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
        fn, sn = index, size - 1
        r = bytes(leaf)
        # 4. For each value p in the inclusion_path array:
        for p in path:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = _sha256(_NODE + p + r).digest()
                if not fn & 1:
                    while not fn & 1 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                r = _sha256(_NODE + r + p).digest()
            fn >>= 1
            sn >>= 1
        # 5. sn must be 0 and r must equal root_hash.
        return sn == 0 and r == root
    except Exception:
        return False


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2, step for step, plus the equal-size and empty-tree conventions above."""
    try:
        if not (_is_hash(old_root) and _is_hash(new_root) and _is_size(old_size) and _is_size(new_size)):
            return False
        if isinstance(path, (str, bytes, bytearray)):
            return False
        consistency_path = list(path)
        if not all(_is_hash(c) for c in consistency_path):
            return False
        if old_size > new_size:
            return False
        if old_size == new_size:
            return not consistency_path and old_root == new_root
        if old_size == 0:
            return not consistency_path and old_root == EMPTY_ROOT
        # 1. An empty consistency_path fails.
        if not consistency_path:
            return False
        # 2. If first is an exact power of 2, prepend first_hash.
        if old_size & (old_size - 1) == 0:
            consistency_path.insert(0, bytes(old_root))
        # 3. fn = first - 1, sn = second - 1.
        fn, sn = old_size - 1, new_size - 1
        # 4. While LSB(fn) is set, right-shift fn and sn.
        while fn & 1:
            fn >>= 1
            sn >>= 1
        # 5. fr = sr = first value of consistency_path.
        fr = sr = bytes(consistency_path[0])
        # 6. For each subsequent value c:
        for c in consistency_path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = _sha256(_NODE + c + fr).digest()
                sr = _sha256(_NODE + c + sr).digest()
                if not fn & 1:
                    while not fn & 1 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                sr = _sha256(_NODE + sr + c).digest()
            fn >>= 1
            sn >>= 1
        # 7. fr == first_hash, sr == second_hash and sn == 0.
        return fr == old_root and sr == new_root and sn == 0
    except Exception:
        return False
