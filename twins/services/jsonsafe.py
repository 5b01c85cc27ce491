"""Twin outputs as JSON PostgreSQL accepts."""

from __future__ import annotations

import math


def finite(value):
    """``value`` without NaN/Infinity (jsonb rejects them): non-finite numbers become None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value
