from celery import shared_task

from lifecycle.services.anchoring import AnchorFailed


@shared_task(
    name="lifecycle.anchor_tree_head",
    autoretry_for=(AnchorFailed,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=12,  # the periodic schedule picks up after that
)
def anchor_tree_head() -> dict | None:
    """Periodic: sign the log's head and put its root on chain (retried with backoff while it is down)."""
    from lifecycle.services.anchoring import anchor_latest

    anchor = anchor_latest()
    if anchor is None:
        return None
    return {"tree_size": anchor.tree_head.tree_size, "tx_hash": anchor.tx_hash, "block": anchor.block_number}


@shared_task(name="lifecycle.run_telemetry_ingest", acks_late=True)
def run_telemetry_ingest(job_id: str) -> str:
    from lifecycle.services.jobs import run

    return run(job_id).state
