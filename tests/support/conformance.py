"""The Battery Pass conformance set in ../shared, read by the tests where it is present."""

from __future__ import annotations

from pathlib import Path

from tests.support.services import skip_suite

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared/conformance/batterypass-1.2"


def conformance_file(*parts: str) -> Path:
    """A file of the conformance set; skips the test (and reports the suite) when the set is absent."""
    path = CONFORMANCE.joinpath(*parts)
    if not path.exists():
        skip_suite("conformance (../shared absent)", f"the conformance set is not at {CONFORMANCE}")
    return path


NASA_RAW = Path(__file__).resolve().parents[3] / "shared/data/nasa-pcoe/raw"


def nasa_file(name: str) -> Path:
    """A raw NASA PCoE aging file; skips the test (and reports the suite) when ../shared is absent."""
    path = NASA_RAW / f"{name}.mat"
    if not path.exists():
        skip_suite("nasa-data (../shared absent)", f"the NASA PCoE data is not at {NASA_RAW}")
    return path
