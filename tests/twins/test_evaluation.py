"""The accuracy report on the real NASA cells: structure and a clean train/score split (skipped without
../shared). Only the SoH target is asserted (met with margin); RUL figures are reported, not asserted.

The learned model is fine-tuned for a couple of steps per member here (the structure and the split are
what is tested; the published figures use the full fine-tuning of ``python -m benchmarks.twin_accuracy``).
"""

from __future__ import annotations

import pytest

from tests.support.conformance import nasa_file
from tests.support.services import skip_suite
from twins.health.evaluation import DATA_DIR, accuracy_report
from twins.health.evaluation_text import format_report


def nasa_capacity_file(name: str):
    path = DATA_DIR / "capacity" / f"{name}.csv"
    if not path.exists():
        skip_suite("nasa-data (../shared absent)", f"the NASA PCoE capacity data is not at {path.parent}")
    return path


@pytest.fixture(scope="module")
def report():
    for name in ("B0025", "B0029", "B0030", "B0045", "B0047"):
        nasa_file(name)
    for name in ("B0005", "B0006", "B0007"):
        nasa_capacity_file(name)
    return accuracy_report(fine_tune_steps=2)


def test_every_fold_scores_a_cell_it_did_not_train_on(report):
    folds = report["split"]["folds"]
    assert len(folds) == 8
    for fold in folds:
        assert fold["scored"] not in fold["trained_on"]
    for cell in report["soh"]["cells"]:
        assert cell["cell"] not in cell["correction"]["trained_on"]


def test_the_fade_learning_rate_is_calibrated_without_the_scored_cell(report, monkeypatch):
    from twins.health import evaluation

    for fold in report["split"]["folds"]:
        calibration = fold["fade_calibration"]
        assert calibration["learning_rate"] in evaluation.LEARNING_RATES
    # The calibration reads only the cells it is given: the scored cell is never among them.
    read = []
    real_history = evaluation._history
    monkeypatch.setattr(
        evaluation, "_history", lambda cell, at: read.append(cell.name) or real_history(cell, at)
    )
    cells = evaluation.load_cells()
    training = [name for name in sorted(cells) if name != "B0006"]
    rate, _ = evaluation.calibrate_learning_rate(cells, training, particles=100)
    assert read and "B0006" not in read and rate in evaluation.LEARNING_RATES


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


def test_learned_model_never_sees_the_scored_cell(report):
    for fold in report["split"]["folds"]:
        assert fold["scored"] not in fold["learned_trained_on"]
        # One member per training cell, each leaving that cell out (it calibrates the interval offset).
        assert len(fold["learned_member_cells"]) == len(fold["trained_on"])
        for member, left_out in zip(fold["learned_member_cells"], sorted(fold["trained_on"]), strict=True):
            assert fold["scored"] not in member and left_out not in member
        assert fold["learned_width_offset"] >= 0


def test_every_case_has_all_three_models(report):
    rul = report["rul"]
    for cell in rul["cells"]:
        for case in cell["cases"] + cell["trajectory"]:
            if "error" not in case:
                continue
            assert set(case["models"]) == {"power-law-fade", "rul-sequence", "rul-ensemble"}
            assert case["models"]["power-law-fade"]["predicted_rul"] == case["predicted_rul"]
            for scored in case["models"].values():
                assert scored["lower"] <= scored["predicted_rul"] <= scored["upper"]
                assert scored["error"] == pytest.approx(scored["predicted_rul"] - case["true_rul"], abs=0.11)
            ensemble, parts = case["models"]["rul-ensemble"], list(case["models"].values())[:2]
            low, high = sorted(p["predicted_rul"] for p in parts)
            assert low - 0.6 <= ensemble["predicted_rul"] <= high + 0.6  # a mixture's median lies between
    for model in ("power-law-fade", "rul-sequence", "rul-ensemble"):
        summary = rul["models"][model]
        assert summary["cases_at_50"] == rul["cases_at_50"]
        assert 0 <= summary["coverage_at_50"] <= summary["cases_at_50"]
        assert summary["mean_width_at_50"] > 0 and summary["cases_every"] > summary["cases_all"]
    assert rul["models"]["power-law-fade"]["within_10_at_50"] == rul["within_10_at_50"]
    at_50_cases = [c for cell in rul["cells"] for c in cell["cases"] if c["point"] == "50%" and "models" in c]
    # The issue's own end of life (70 % of rated): the 50 % cases at that threshold only.
    at_70 = [
        c for cell in rul["cells"] for c in cell["cases"] if c["point"] == "50%" and c["threshold"] == 0.7
    ]
    for model in ("power-law-fade", "rul-sequence", "rul-ensemble"):
        eol = rul["models"][model]["end_of_life_70"]
        assert eol["cases_at_50"] == len(at_70) > 0
        assert eol["errors_at_50"] == [round(c["models"][model]["error"], 1) for c in at_70]
        assert eol["within_10_at_50"] == sum(abs(e) <= 10 for e in eol["errors_at_50"])
        # The larger samples at the same end of life: both prediction points, and every 10 discharges.
        at_70_all = [
            c for cell in rul["cells"] for c in cell["cases"] if c["threshold"] == 0.7 and "models" in c
        ]
        every_70 = [
            c["models"][model]
            for cell in rul["cells"]
            for c in cell["trajectory"]
            if c["threshold"] == 0.7 and "models" in c
        ]
        assert eol["cases_all"] == len(at_70_all) > eol["cases_at_50"]
        assert eol["coverage_all"] == sum(c["models"][model]["covered"] for c in at_70_all)
        assert eol["cases_every"] == len(every_70) > 0
        assert eol["coverage_every"] == sum(c["covered"] for c in every_70)
        assert eol["within_10_every"] == sum(abs(c["error"]) <= 10 for c in every_70)
        assert rul["models"][model]["cells_at_50"] == len({c["cell"] for c in at_50_cases})
    text = format_report(report)
    assert "rul-ensemble at 50 %" in text and "rul-sequence every 10 discharges" in text
    assert "rul-ensemble at 50 % to 70 % of rated only" in text
    assert report["timing"]["learned_median_ms"] > 0


def test_other_thresholds_change_what_is_scored_not_what_is_trained():
    from twins.health import evaluation

    for name in ("B0005", "B0006", "B0007"):
        nasa_capacity_file(name)
    cells = evaluation.load_cells()
    training = [name for name in sorted(cells) if name != "B0006"]
    prior = evaluation.prior_for(cells, training)
    default = evaluation.rul_report(cells, "B0006", training, prior=prior)
    band = evaluation.rul_report(cells, "B0006", training, prior=prior, thresholds=(0.75, 0.7, 0.65))
    assert {c["threshold"] for c in default["cases"]} == {0.8, 0.7, 0.6}
    assert {c["threshold"] for c in band["cases"]} == {0.75, 0.7, 0.65}
    # The shared threshold is forecast from the same history with the same prior: the same case.
    assert [c for c in band["cases"] if c["threshold"] == 0.7] == [
        c for c in default["cases"] if c["threshold"] == 0.7
    ]
    # Truths follow the threshold: a lower end of life is reached later.
    truth = {c["threshold"]: c["true_eol_cycle"] for c in band["cases"]}
    assert truth[0.75] < truth[0.7] < truth[0.65]


@pytest.mark.parametrize("bad", [(0.7, 1.2), (0.0,), (-0.5, 0.7), ()])
def test_a_threshold_outside_zero_to_one_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="thresholds"):
        accuracy_report(thresholds=bad, learned=False)


def test_the_report_command_refuses_thresholds_it_cannot_score(capsys):
    from benchmarks.twin_accuracy import main

    for argument, named in (("0.7,x", "'0.7,x'"), ("0.7,1.5", "1.5")):
        with pytest.raises(SystemExit) as stop:
            main(["--empirical-only", "--thresholds", argument])
        assert stop.value.code == 2
        error = capsys.readouterr().err
        assert "--thresholds" in error and named in error
