"""The RFC 9162 Merkle tree, cross-checked against pymerkle and the RFC's recursive definitions.

The node store is built only through ``appended_nodes`` in random batch sizes, exactly as the log
grows, and every root and proof derived from it is compared with a literal transcription of
RFC 9162 section 2.1 (MTH, PATH, PROOF/SUBPROOF) written below, independently of the module.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from pymerkle import InmemoryTree

from lifecycle.provenance import merkle
from lifecycle.provenance.merkle import (
    EMPTY_ROOT,
    appended_nodes,
    compact_range,
    consistency_coords,
    consistency_proof,
    inclusion_coords,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_leaf_hashes,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# -- RFC 9162 section 2.1, transcribed (D is a list of leaf hashes, i.e. MTH({d}) = D[0]) -----------


def k_for(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(d: list[bytes]) -> bytes:
    if not d:
        return sha256(b"")
    if len(d) == 1:
        return d[0]
    k = k_for(len(d))
    return sha256(b"\x01" + rfc_mth(d[:k]) + rfc_mth(d[k:]))


def rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = k_for(n)
    if m < k:
        return [*rfc_path(m, d[:k]), rfc_mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), rfc_mth(d[:k])]


def rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [rfc_mth(d)]
    k = k_for(n)
    if m <= k:
        return [*rfc_subproof(m, d[:k], b), rfc_mth(d[k:])]
    return [*rfc_subproof(m - k, d[k:], False), rfc_mth(d[:k])]


def rfc_proof(m: int, d: list[bytes]) -> list[bytes]:
    return rfc_subproof(m, d, True)


def path_shape(m: int, n: int) -> tuple[str, ...]:
    """Which side each PATH element sits on: all a verifier knows about (m, n)."""
    if n == 1:
        return ()
    k = k_for(n)
    if m < k:
        return (*path_shape(m, k), "right")
    return (*path_shape(m - k, n - k), "left")


def proof_shape(m: int, n: int, b: bool = True) -> tuple[str, ...]:
    """Role of each PROOF element (seed, sibling on the left of both trees, right of the new one)."""
    if m == n:
        return ("old root",) if b else ("seed",)
    k = k_for(n)
    if m <= k:
        return (*proof_shape(m, k, b), "right")
    return (*proof_shape(m - k, n - k, False), "left")


# -- fixtures -------------------------------------------------------------------------------------


def leaves(count: int, salt: str = "") -> list[bytes]:
    return [leaf_hash(f"entry {salt}{i}".encode()) for i in range(count)]


def grow(hashes: list[bytes], rng: random.Random, max_batch: int = 9) -> dict[tuple[int, int], bytes]:
    """The node store after appending ``hashes`` in random batches, checking each batch's output."""
    nodes: dict[tuple[int, int], bytes] = {}
    size = 0
    while size < len(hashes):
        batch = hashes[size : size + rng.randint(1, max_batch)]
        edge = {coord: nodes[coord] for coord in compact_range(size)}
        created = appended_nodes(size, edge, batch)
        coords = [(level, index) for level, index, _ in created]
        assert len(set(coords)) == len(coords)
        assert not set(coords) & set(nodes)
        assert [c for c in coords if c[0] == 0] == [(0, size + i) for i in range(len(batch))]
        nodes.update({(level, index): digest for level, index, digest in created})
        size += len(batch)
        assert set(nodes) == perfect_nodes(size)
    return nodes


def perfect_nodes(size: int) -> set[tuple[int, int]]:
    return {(level, index) for level in range(size.bit_length()) for index in range(size >> level)}


def restrict(nodes: dict, coords: list) -> dict:
    assert len(set(coords)) == len(coords), "coordinates repeat"
    return {coord: nodes[coord] for coord in coords}


SMALL = 64
LEAVES = leaves(SMALL + 6)
NODES = grow(LEAVES, random.Random(20240917))


# -- hashing and roots ----------------------------------------------------------------------------


def test_hashes_use_the_rfc_domain_prefixes_like_pymerkle():
    tree = InmemoryTree(algorithm="sha256")
    assert tree.security is True
    assert leaf_hash(b"abc") == sha256(b"\x00abc") == tree.hash_buff(b"abc")
    left, right = sha256(b"l"), sha256(b"r")
    assert node_hash(left, right) == sha256(b"\x01" + left + right) == tree.hash_pair(left, right)
    assert EMPTY_ROOT == sha256(b"") == tree.get_root(0)


@pytest.mark.parametrize("sizes", [list(range(1, 71)), [127, 128, 129, 1000, 1025, 3001]])
def test_roots_match_pymerkle(sizes):
    entries = [f"record {i}".encode() for i in range(max(sizes))]
    tree = InmemoryTree.init_from_entries(entries, algorithm="sha256")
    hashes = [leaf_hash(entry) for entry in entries]
    nodes = grow(hashes, random.Random(len(sizes)), max_batch=300)
    for size in sizes:
        expected = tree.get_root(size)
        assert root_from_leaf_hashes(hashes[:size]) == expected
        assert root(size, restrict(nodes, compact_range(size))) == expected


def test_reference_root_is_the_rfc_mth():
    hashes = leaves(140)
    for size in range(0, 140):
        assert root_from_leaf_hashes(hashes[:size]) == rfc_mth(hashes[:size])


def test_root_and_subtree_hashes_come_from_the_node_store():
    assert root(0, {}) == EMPTY_ROOT
    for size in range(1, len(LEAVES) + 1):
        assert root(size, NODES) == rfc_mth(LEAVES[:size])
    # Every range the RFC recursion can produce starts at a multiple of its largest perfect part.
    for start in range(0, 48, 16):
        for end in range(start, start + 17):
            assert subtree_hash(start, end, NODES) == rfc_mth(LEAVES[start:end])
    with pytest.raises(ValueError):
        subtree_hash(3, 7, NODES)  # [3, 7) would need a level-2 node starting at leaf 3
    with pytest.raises(KeyError):
        root(8, {})


def test_compact_range():
    assert compact_range(0) == []
    assert compact_range(1) == [(0, 0)]
    assert compact_range(6) == [(2, 0), (1, 2)]
    assert compact_range(13) == [(3, 0), (2, 2), (0, 12)]
    assert compact_range(2**20) == [(20, 0)]
    with pytest.raises(ValueError):
        compact_range(-1)


def test_appended_nodes_continue_a_tree_from_its_edge_alone():
    hashes = leaves(300, "edge")
    nodes = grow(hashes[:123], random.Random(1))
    edge = restrict(nodes, compact_range(123))
    created = appended_nodes(123, edge, hashes[123:])
    nodes.update({(level, index): digest for level, index, digest in created})
    assert set(nodes) == perfect_nodes(300)
    for (level, index), digest in nodes.items():
        assert digest == rfc_mth(hashes[index << level : (index + 1) << level])
    assert appended_nodes(300, restrict(nodes, compact_range(300)), []) == []


def test_appended_nodes_reject_a_missing_edge_or_a_bad_leaf():
    with pytest.raises(ValueError, match="missing"):
        appended_nodes(5, {(2, 0): LEAVES[0]}, LEAVES[:1])
    with pytest.raises(ValueError, match="32"):
        appended_nodes(0, {}, [b"short"])


# -- proofs against the RFC -----------------------------------------------------------------------


def test_inclusion_proofs_are_rfc_paths_and_verify():
    for n in range(1, SMALL + 1):
        d = LEAVES[:n]
        tree_root = rfc_mth(d)
        for m in range(n):
            coords = inclusion_coords(m, n)
            assert all((index + 1) << level <= n for level, index in coords), "node not yet complete"
            proof = inclusion_proof(m, n, restrict(NODES, coords))
            assert proof == rfc_path(m, d), (m, n)
            assert verify_inclusion(d[m], m, n, proof, tree_root)
            assert not verify_inclusion(LEAVES[n], m, n, proof, tree_root)
            assert not verify_inclusion(d[m], m, n, proof, rfc_mth(LEAVES[: n + 1]))


def test_consistency_proofs_are_rfc_proofs_and_verify():
    for n in range(1, SMALL + 1):
        d = LEAVES[:n]
        new_root = rfc_mth(d)
        for m in range(1, n + 1):
            coords = consistency_coords(m, n)
            assert all((index + 1) << level <= n for level, index in coords)
            proof = consistency_proof(m, n, restrict(NODES, coords))
            assert proof == (rfc_proof(m, d) if m < n else []), (m, n)
            old_root = rfc_mth(LEAVES[:m])
            assert verify_consistency(m, n, old_root, new_root, proof), (m, n)
            if old_root != new_root:
                assert not verify_consistency(m, n, new_root, old_root, proof), "roots swapped"
            assert not verify_consistency(m, n, old_root, rfc_mth(LEAVES[: n + 1]), proof)


def test_consistency_conventions_for_empty_and_equal_trees():
    tree_root = rfc_mth(LEAVES[:5])
    assert consistency_coords(0, 5) == consistency_coords(5, 5) == []
    assert consistency_proof(0, 5, {}) == consistency_proof(5, 5, {}) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, tree_root, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(5, 5, tree_root, tree_root, [])
    assert not verify_consistency(0, 5, tree_root, tree_root, [])
    assert not verify_consistency(5, 5, tree_root, EMPTY_ROOT, [])
    assert not verify_consistency(5, 5, tree_root, tree_root, [tree_root])
    assert not verify_consistency(0, 5, EMPTY_ROOT, tree_root, [tree_root])
    with pytest.raises(ValueError):
        consistency_coords(6, 5)


def _tampered(proof: list[bytes], element: int, byte: int) -> list[bytes]:
    changed = bytearray(proof[element])
    changed[byte] ^= 0x01
    return [*proof[:element], bytes(changed), *proof[element + 1 :]]


def test_tampering_with_any_byte_of_any_proof_element_fails():
    rng = random.Random(7)
    for n in range(1, SMALL + 1):
        d, tree_root = LEAVES[:n], rfc_mth(LEAVES[:n])
        every_byte = n <= 12  # all 32 bytes for small trees, a random one per element above
        for m in range(n):
            proof = inclusion_proof(m, n, NODES)
            for element in range(len(proof)):
                for byte in range(32) if every_byte else [rng.randrange(32)]:
                    assert not verify_inclusion(d[m], m, n, _tampered(proof, element, byte), tree_root)
            if proof:
                assert not verify_inclusion(d[m], m, n, proof[:-1], tree_root)
                assert not verify_inclusion(d[m], m, n, proof[::-1], tree_root) or len(set(proof)) == 1
            assert not verify_inclusion(d[m], m, n, [*proof, proof[-1] if proof else d[m]], tree_root)
        for m in range(1, n):
            old_root = rfc_mth(LEAVES[:m])
            proof = consistency_proof(m, n, NODES)
            for element in range(len(proof)):
                for byte in range(32) if every_byte else [rng.randrange(32)]:
                    assert not verify_consistency(m, n, old_root, tree_root, _tampered(proof, element, byte))
            assert not verify_consistency(m, n, old_root, tree_root, proof[:-1])
            assert not verify_consistency(m, n, old_root, tree_root, [*proof, proof[-1]])
            assert not verify_consistency(m, n, tree_root, old_root, proof)


def test_a_proof_only_verifies_for_positions_of_the_same_shape():
    """Changing the index always fails; a changed size passes only where the RFC proof has the very
    same shape (e.g. index 0 in trees of 3 and 4 leaves), which is why tree heads sign the size."""
    same_shape_seen = {"inclusion": 0, "consistency": 0}
    for n in range(1, SMALL + 1):
        tree_root = rfc_mth(LEAVES[:n])
        for m in range(n):
            proof = inclusion_proof(m, n, NODES)
            for m2 in range(n):
                if m2 != m:
                    assert not verify_inclusion(LEAVES[m], m2, n, proof, tree_root)
            for n2 in range(max(1, n - 3), n + 4):
                if n2 != n:
                    same = m < n2 and path_shape(m, n2) == path_shape(m, n)
                    same_shape_seen["inclusion"] += same
                    assert verify_inclusion(LEAVES[m], m, n2, proof, tree_root) is same, (m, n, n2)
        for m in range(1, n):
            old_root = rfc_mth(LEAVES[:m])
            proof = consistency_proof(m, n, NODES)
            for m2, n2 in [(m + dm, n + dn) for dm in range(-2, 3) for dn in range(-2, 3)]:
                if (m2, n2) != (m, n) and 0 < m2 < n2:
                    same = proof_shape(m2, n2) == proof_shape(m, n)
                    same_shape_seen["consistency"] += same
                    assert verify_consistency(m2, n2, old_root, tree_root, proof) is same, (m, n, m2, n2)
    assert all(same_shape_seen.values())


@pytest.mark.parametrize(
    "args",
    [
        (LEAVES[0], 2, 2, [], LEAVES[1]),  # index == size
        (LEAVES[0], -1, 2, [LEAVES[1]], LEAVES[1]),
        (LEAVES[0], 0, 0, [], LEAVES[0]),
        (LEAVES[0], True, 2, [LEAVES[1]], LEAVES[1]),
        (LEAVES[0], 0, 2.0, [LEAVES[1]], LEAVES[1]),
        (LEAVES[0][:31], 0, 1, [], LEAVES[0][:31]),
        (LEAVES[0], 0, 2, [LEAVES[1][:31]], LEAVES[1]),
        (LEAVES[0], 0, 2, [LEAVES[1].hex()], LEAVES[1]),
        (LEAVES[0], 0, 2, LEAVES[1], LEAVES[1]),
        (LEAVES[0], 0, 2, None, LEAVES[1]),
        (LEAVES[0], 0, 2, [None], LEAVES[1]),
        (None, 0, 1, [], None),
        (LEAVES[0].hex(), 0, 1, [], LEAVES[0].hex()),
    ],
)
def test_malformed_inclusion_input_is_rejected_without_raising(args):
    assert verify_inclusion(*args) is False


def test_a_well_formed_single_leaf_proof_is_accepted():
    assert verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    assert verify_inclusion(bytearray(LEAVES[0]), 0, 1, (), bytearray(LEAVES[0]))


@pytest.mark.parametrize(
    "args",
    [
        (3, 2, LEAVES[0], LEAVES[1], [LEAVES[2]]),
        (-1, 2, LEAVES[0], LEAVES[1], [LEAVES[2]]),
        (1, 2, LEAVES[0], LEAVES[1], []),
        (1, 2, LEAVES[0][:31], LEAVES[1], [LEAVES[1]]),
        (1, 2, LEAVES[0], LEAVES[1], [LEAVES[1][:31]]),
        (1, 2, LEAVES[0], LEAVES[1], LEAVES[1]),
        (1, 2, LEAVES[0], LEAVES[1], "00" * 32),
        (1, 2, LEAVES[0], LEAVES[1], 5),
        (1, 2.0, LEAVES[0], LEAVES[1], [LEAVES[1]]),
        (False, 2, LEAVES[0], LEAVES[1], [LEAVES[1]]),
        (None, None, None, None, None),
    ],
)
def test_malformed_consistency_input_is_rejected_without_raising(args):
    assert verify_consistency(*args) is False


def test_proofs_in_a_larger_tree_match_the_rfc():
    rng = random.Random(99)
    hashes = leaves(5000, "large")
    nodes = grow(hashes, rng, max_batch=1000)
    tree = InmemoryTree.init_from_entries([f"entry large{i}".encode() for i in range(5000)])
    for n in (4096, 4097, 4999, 5000):
        tree_root = root(n, nodes)
        assert tree_root == tree.get_root(n) == root_from_leaf_hashes(hashes[:n])
        for m in [0, n - 1, *rng.sample(range(n), 6)]:
            proof = inclusion_proof(m, n, restrict(nodes, inclusion_coords(m, n)))
            assert proof == rfc_path(m, hashes[:n])
            assert verify_inclusion(hashes[m], m, n, proof, tree_root)
        for m in [1, 2048, n - 1, *rng.sample(range(1, n), 4)]:
            proof = consistency_proof(m, n, restrict(nodes, consistency_coords(m, n)))
            assert proof == rfc_proof(m, hashes[:n])
            assert verify_consistency(m, n, root(m, nodes), tree_root, proof)


def test_proof_coordinates_stay_logarithmic():
    for n in (2**20, 10**6, 10**6 + 1, 2**20 - 1):
        worst = max(len(inclusion_coords(m, n)) for m in range(0, n, 997))
        assert worst <= 2 * n.bit_length()
        worst = max(len(consistency_coords(m, n)) for m in range(1, n, 997))
        assert worst <= 2 * n.bit_length()
    assert len(merkle.inclusion_coords(123_456, 10**6)) == len(set(inclusion_coords(123_456, 10**6)))
