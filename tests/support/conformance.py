"""The Battery Pass conformance set in ../shared, read by the tests where it is present."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.services import SKIPPED_SUITES

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared/conformance/batterypass-1.2"


def conformance_file(*parts: str) -> Path:
    """A file of the conformance set; skips the test (and reports the suite) when the set is absent."""
    path = CONFORMANCE.joinpath(*parts)
    if not path.exists():
        SKIPPED_SUITES.setdefault("conformance (../shared absent)", []).append(str(path))
        pytest.skip(f"the conformance set is not at {CONFORMANCE}")
    return path
