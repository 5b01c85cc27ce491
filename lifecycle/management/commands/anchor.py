from django.core.management.base import BaseCommand, CommandError

from lifecycle.services.anchoring import AnchorFailed, anchor_latest


class Command(BaseCommand):
    help = "Sign the Merkle log's current tree head and anchor it on the configured chain now."

    def handle(self, **options):
        try:
            anchor = anchor_latest()
        except AnchorFailed as exc:
            raise CommandError(f"anchoring failed (records are safe; retry later): {exc}") from exc
        if anchor is None:
            self.stdout.write("nothing new to anchor")
            return
        self.stdout.write(
            f"anchored tree size {anchor.tree_head.tree_size} root {anchor.tree_head.root_hash} "
            f"in tx {anchor.tx_hash} block {anchor.block_number} "
            f"(chain {anchor.chain_id}, gas {anchor.gas_used})"
        )
