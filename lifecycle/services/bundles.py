"""Proof bundles: everything needed to check records offline (format in lifecycle/provenance/verifier.py)."""

from __future__ import annotations

import base64

from lifecycle.choices import AnchorState
from lifecycle.models import Anchor, LifecycleEvent, TreeHead
from lifecycle.services import keys, log, records

FORMAT = "cellpass.proof-bundle/1"


def log_description() -> dict:
    return {
        "log_id": keys.log_id(),
        "public_key": base64.b64encode(keys.public_key()).decode(),
        "hash": "sha-256",
        "tree": "RFC 9162",
    }


def _anchor_section(head: TreeHead) -> dict | None:
    anchor = (
        Anchor.objects.filter(state=AnchorState.CONFIRMED, tree_head__tree_size__lte=head.tree_size)
        .select_related("tree_head")
        .order_by("-tree_head__tree_size")
        .first()
    )
    if anchor is None:
        return None
    return {
        "tree_head": anchor.tree_head.as_signed(),
        "consistency": [
            node.hex() for node in log.consistency_proof(anchor.tree_head.tree_size, head.tree_size)
        ],
        "chain_id": anchor.chain_id,
        "tx_hash": anchor.tx_hash,
        "block_number": anchor.block_number,
        "block_hash": anchor.block_hash,
        "data": anchor.data,
    }


def bundle(events: list[LifecycleEvent]) -> dict:
    """A bundle for a chain prefix of one battery (``events`` ordered by sequence from 1)."""
    size_needed = max(event.log_index for event in events) + 1
    head = log.head_covering(size_needed)
    proofs = log.inclusion_proofs([event.log_index for event in events], head.tree_size)
    return {
        "format": FORMAT,
        "log": log_description(),
        "records": [
            {
                "log_index": event.log_index,
                "record_hash": event.record_hash,
                "record": records.record_for(event),
            }
            for event in events
        ],
        "tree_head": head.as_signed(),
        "inclusion": {str(index): [node.hex() for node in path] for index, path in proofs.items()},
        "anchor": _anchor_section(head),
    }


def _chain(battery_id, up_to: int | None = None) -> list[LifecycleEvent]:
    query = LifecycleEvent.objects.filter(battery_id=battery_id).select_related("battery", "corrects")
    if up_to is not None:
        query = query.filter(sequence__lte=up_to)
    return list(query.order_by("sequence"))


def for_event(event: LifecycleEvent) -> dict:
    """The event with every record before it in its battery's chain."""
    return bundle(_chain(event.battery_id, event.sequence))


def for_battery(battery) -> dict | None:
    """A battery's whole history; None when nothing has been recorded yet."""
    events = _chain(battery.pk)
    return bundle(events) if events else None
