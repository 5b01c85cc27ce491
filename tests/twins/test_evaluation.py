"""The accuracy report on the real NASA cells: structure and a clean train/score split (skipped without
../shared). Only the SoH target is asserted (met with margin); RUL figures are reported, not asserted."""

from __future__ import annotations

import pytest

from tests.support.conformance import nasa_file
from tests.support.services import SKIPPED_SUITES
from twins.health.evaluation import DATA_DIR, accuracy_report, format_report


def nasa_capacity_file(name: str):
    path = DATA_DIR / "capacity" / f"{name}.csv"
    if not path.exists():
        SKIPPED_SUITES.setdefault("nasa-data (../shared absent)", []).append(str(path))
        pytest.skip(f"the NASA PCoE capacity data is not at {path.parent}")
    return path


@pytest.fixture(scope="module")
def report():
    for name in ("B0025", "B0029", "B0030", "B0045", "B0047"):
        nasa_file(name)
    for name in ("B0005", "B0006", "B0007"):
        nasa_capacity_file(name)
    return accuracy_report()


def test_every_fold_scores_a_cell_it_did_not_train_on(report):
    folds = report["split"]["folds"]
    assert len(folds) == 8
    for fold in folds:
        assert fold["scored"] not in fold["trained_on"]
    for cell in report["soh"]["cells"]:
        assert cell["cell"] not in cell["correction"]["trained_on"]


def test_report_structure(report):
    assert {c["cell"] for c in report["soh"]["cells"]} == {"B0025", "B0029", "B0030", "B0045", "B0047"}
    for cell in report["soh"]["cells"]:
        assert cell["scored_cycles"] > 20 and cell["mape_pct"] is not None
    rul = report["rul"]
    assert rul["cases_all"] >= 10
    assert rul["cases_at_50"] >= 5
    for cell in rul["cells"]:
        for case in cell["cases"]:
            assert case["at_cycle"] < case["true_eol_cycle"]
            assert case["lower"] <= case["predicted_rul"] <= case["upper"]
    assert report["timing"]["median_ms"] > 0
    text = format_report(report)
    assert "leave one cell out" in text and "overall MAPE" in text


def test_soh_mape_target(report):
    assert report["soh"]["overall_mape_pct"] < 1.0
