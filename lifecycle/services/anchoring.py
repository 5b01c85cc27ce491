"""Anchoring signed tree heads on an EVM chain: one transaction per anchor, whatever the log's growth.

The embedded default is eth-tester's in-process chain (per process: a worker's chain lives in that
worker); set CELLPASS_CHAIN_RPC_URL (and CELLPASS_CHAIN_PRIVATE_KEY) for a real node.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lifecycle.choices import AnchorState
from lifecycle.models import Anchor, TreeHead
from lifecycle.provenance.anchor_data import anchor_payload
from lifecycle.services import log


class AnchorFailed(Exception):
    """The chain did not take the anchor; the task retries and records stay untouched."""


@functools.cache
def _tester_web3():
    from web3 import EthereumTesterProvider, Web3

    return Web3(EthereumTesterProvider())


def web3():
    """The Web3 client for the configured chain."""
    if settings.CELLPASS_CHAIN_RPC_URL:
        from web3 import HTTPProvider, Web3

        return Web3(HTTPProvider(settings.CELLPASS_CHAIN_RPC_URL, request_kwargs={"timeout": 20}))
    return _tester_web3()


def _send(client, data: bytes) -> str:
    if settings.CELLPASS_CHAIN_PRIVATE_KEY:
        account = client.eth.account.from_key(settings.CELLPASS_CHAIN_PRIVATE_KEY)
        transaction_fields = {
            "from": account.address,
            "to": account.address,
            "value": 0,
            "data": data,
            "nonce": client.eth.get_transaction_count(account.address, "pending"),
            "chainId": client.eth.chain_id,
        }
        transaction_fields["gas"] = client.eth.estimate_gas(transaction_fields)
        transaction_fields["maxFeePerGas"] = client.eth.gas_price * 2
        transaction_fields["maxPriorityFeePerGas"] = client.eth.max_priority_fee
        signed = account.sign_transaction(transaction_fields)
        return client.eth.send_raw_transaction(signed.raw_transaction).hex()
    sender = client.eth.accounts[0]
    return client.eth.send_transaction({"from": sender, "to": sender, "value": 0, "data": data}).hex()


def _hex(value: str) -> str:
    return value if value.startswith("0x") else f"0x{value}"


def pending_head() -> TreeHead | None:
    """The head to anchor now: a fresh signed head when the log grew since the last anchored one."""
    if log.current_size() == 0:
        return None
    head = log.sign_tree_head()
    if Anchor.objects.filter(tree_head=head, state=AnchorState.CONFIRMED).exists():
        return None
    return head


def anchor(head: TreeHead, client=None) -> Anchor:
    """Send ``head``'s root to the chain and store the receipt; raises AnchorFailed on any chain error."""
    client = client or web3()
    with transaction.atomic():
        record, _ = Anchor.objects.select_for_update().get_or_create(tree_head=head)
        if record.state == AnchorState.CONFIRMED:
            return record
        record.attempts += 1
        record.save(update_fields=["attempts"])
    data = anchor_payload(head.tree_size, bytes.fromhex(head.root_hash))
    try:
        tx_hash = _send(client, data)
        receipt = client.eth.wait_for_transaction_receipt(tx_hash, timeout=settings.CELLPASS_CHAIN_TIMEOUT)
        if receipt["status"] != 1:
            raise AnchorFailed(f"anchor transaction {tx_hash} reverted")
        chain_id = client.eth.chain_id
    except AnchorFailed as exc:
        _failed(record, str(exc))
        raise
    except Exception as exc:  # any transport or node error: retry later, never block records
        _failed(record, f"{type(exc).__name__}: {exc}")
        raise AnchorFailed(str(exc)) from exc
    record.state = AnchorState.CONFIRMED
    record.chain_id = chain_id
    record.tx_hash = _hex(tx_hash)
    record.block_number = receipt["blockNumber"]
    record.block_hash = _hex(receipt["blockHash"].hex())
    record.data = "0x" + data.hex()
    record.gas_used = receipt["gasUsed"]
    record.last_error = ""
    record.confirmed_at = timezone.now()
    record.save()
    # Older heads that never made it are superseded: this anchor covers them by consistency.
    Anchor.objects.filter(state=AnchorState.PENDING, tree_head__tree_size__lt=head.tree_size).update(
        state=AnchorState.FAILED
    )
    return record


def _failed(record: Anchor, message: str) -> None:
    Anchor.objects.filter(pk=record.pk).update(last_error=message[:2000])


def anchor_latest(client=None) -> Anchor | None:
    head = pending_head()
    return anchor(head, client) if head is not None else None
