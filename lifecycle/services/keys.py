"""The log's Ed25519 signing key: from settings, or generated once under CELLPASS_VAR_DIR for the demo."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from django.conf import settings

from lifecycle.provenance import signing


@functools.cache
def private_key() -> bytes:
    configured = settings.CELLPASS_LOG_SIGNING_KEY
    if configured:
        return signing.load_private_key(configured)
    path = Path(settings.VAR_DIR) / "log-signing.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not each write their own key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(signing.encode_private_key(signing.generate_private_key()) + "\n")
    return signing.load_private_key(path.read_text().strip())


def public_key() -> bytes:
    return signing.public_key_of(private_key())


def log_id() -> str:
    return signing.log_id(public_key())
