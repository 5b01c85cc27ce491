from django.db import models

from lifecycle.choices import AnchorState
from lifecycle.models.append_only import AppendOnlyModel


class LogHead(models.Model):
    """The size of the Merkle log; its row lock serialises appends so chains and leaves stay gap-free."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"log of {self.size} leaves"


class MerkleNode(AppendOnlyModel):
    """A perfect subtree of the RFC 9162 log: leaves [index * 2**level, (index + 1) * 2**level)."""

    pk = models.CompositePrimaryKey("level", "index")
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class TreeHead(AppendOnlyModel):
    """A signed statement of the log's size and root (RFC 9162 signed tree head, Ed25519)."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=32, help_text="As signed: ISO 8601 UTC with microseconds")
    log_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-tree_size"]

    def __str__(self) -> str:
        return f"tree head {self.tree_size}"

    def as_signed(self) -> dict:
        return {
            "log_id": self.log_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "signature": self.signature,
        }


class Anchor(models.Model):
    """One on-chain transaction carrying a tree head's root: the log's public timestamp."""

    tree_head = models.OneToOneField(TreeHead, on_delete=models.PROTECT, related_name="anchor")
    state = models.CharField(max_length=16, choices=AnchorState.choices, default=AnchorState.PENDING)
    chain_id = models.BigIntegerField(null=True, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True)
    block_number = models.BigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=66, blank=True)
    data = models.CharField(max_length=130, blank=True)
    gas_used = models.BigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-tree_head__tree_size"]

    def __str__(self) -> str:
        return f"anchor of {self.tree_head_id} ({self.state})"
