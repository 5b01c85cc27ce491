"""The accuracy report as text (``python -m benchmarks.twin_accuracy``): the dict that
``twins.health.evaluation.accuracy_report`` returns, as tables per fold, cell and case."""

from __future__ import annotations

import math
from typing import Any

from twins.health.evaluation import EMPIRICAL, EVERY, MODELS


def format_report(report: dict[str, Any]) -> str:
    lines = ["# Health twin accuracy (NASA PCoE cells, leave one cell out)", ""]
    lines.append("Folds (scored <- trained on):")
    for fold in report["split"]["folds"]:
        lines.append(f"  {fold['scored']} <- {', '.join(fold['trained_on'])}")
        if "fade_calibration" in fold:
            calibration = fold["fade_calibration"]
            tried = ", ".join(f"{rate}: {share:.0%}" for rate, share in calibration["coverage"].items())
            lines.append(
                f"    fade learning rate {calibration['learning_rate']:g} (inner coverage by rate: {tried})"
            )
    lines += ["", "## SoH (capacity, at test conditions) vs measured capacity / rated", ""]
    lines.append("cell   T/°C   I/A   cycles  MAPE%   max%   1-step MAPE%   SoH@24°C,2A fresh (±1sigma)")
    for r in report["soh"]["cells"]:
        fresh = (
            f"{r['reference_soh_fresh']:.3f} ± {r['reference_soh_fresh_std']:.3f}"
            if r["reference_soh_fresh"] is not None
            else "-"
        )
        lines.append(
            f"{r['cell']}  {r['conditions']['temperature_c']:5.1f} {r['conditions']['current_a']:5.2f}"
            f"  {r['scored_cycles']:6d}  {_f(r['mape_pct'])}  {_f(r['max_ape_pct'])}"
            f"  {_f(r['one_step_mape_pct']):>12}   {fresh}"
        )
    lines.append(f"overall MAPE (cycle-weighted): {_f(report['soh']['overall_mape_pct'])} % (target ≤ 1 %)")
    rul = report["rul"]
    lines += ["", "## RUL (cycles = discharges), forecast vs first measured crossing", ""]
    thresholds = ", ".join(f"{t:g}" for t in rul.get("thresholds", ()))
    lines.append(f"end-of-life thresholds scored (fractions of rated): {thresholds}")
    lines.append("cell   thr  point  at  true_eol  true_rul  pred   [5%, 95%]        error  covered")
    for r in rul["cells"]:
        for c in r["cases"]:
            lines.append(_case_line(c))
    lines.append(
        f"at 50 %: |error| ≤ 10 in {rul['within_10_at_50']}/{rul['cases_at_50']}, "
        f"mean |error| {_f(rul['mean_abs_error_at_50'])}, 90 % interval covers {rul['coverage_at_50']}"
        f"/{rul['cases_at_50']}; all cases (50 % and 75 %): covers {rul['coverage_all']}/{rul['cases_all']}"
    )
    if "models" in rul:
        lines += [
            "",
            "### Empirical, learned and ensemble (error = predicted - true RUL; * = not covered)",
            "",
        ]
        lines.append("cell   thr  point  at  true_rul  " + "  ".join(f"{m:>24}" for m in MODELS))
        for r in rul["cells"]:
            for c in r["cases"]:
                if "models" in c:
                    lines.append(_models_line(c))
        lines.append("")
        for model in MODELS:
            m = rul["models"][model]
            lines.append(
                f"{model:>15} at 50 % ({m['cells_at_50']} cells): |error| ≤ 10 in "
                f"{m['within_10_at_50']}/{m['cases_at_50']}, "
                f"mean |error| {_f(m['mean_abs_error_at_50'])}, "
                f"covers {m['coverage_at_50']}/{m['cases_at_50']}, mean width {_f(m['mean_width_at_50'])}; "
                f"all cases: covers {m['coverage_all']}/{m['cases_all']}"
            )
        lines.append("")
        for model in MODELS:
            m = rul["models"][model]["end_of_life_70"]
            lines.append(
                f"{model:>15} at 50 % to 70 % of rated only: |error| ≤ 10 in {m['within_10_at_50']}/"
                f"{m['cases_at_50']}, covers {m['coverage_at_50']}/{m['cases_at_50']}, "
                f"errors {m['errors_at_50']}; 50 % + 75 %: covers {m['coverage_all']}/{m['cases_all']}; "
                f"every {EVERY} discharges: |error| ≤ 10 in {m['within_10_every']}/{m['cases_every']}, "
                f"covers {m['coverage_every']}/{m['cases_every']}"
            )
        lines.append("")
        for model in MODELS:
            m = rul["models"][model]
            lines.append(
                f"{model:>15} every {EVERY} discharges: |error| ≤ 10 in {m['within_10_every']}/"
                f"{m['cases_every']}, mean |error| {_f(m['mean_abs_error_every'])}, "
                f"covers {m['coverage_every']}/{m['cases_every']}"
            )
    lines += ["", "Excluded:"]
    for r in rul["cells"]:
        for e in r["excluded"]:
            point = f" ({int(e['point'] * 100)} % point)" if "point" in e else ""
            lines.append(f"  {r['cell']} θ={e['threshold']}{point}: {e['reason']}")
    lines += ["", f"## RUL error every {EVERY} discharges (error = predicted - true RUL)", ""]
    for r in rul["cells"]:
        by_threshold: dict[tuple[float, str], list[str]] = {}
        for c in r["trajectory"]:
            if "error" not in c:
                continue
            scored = c.get("models", {EMPIRICAL: c})
            for model, m in scored.items():
                mark = "" if m["covered"] else "*"
                by_threshold.setdefault((c["threshold"], model), []).append(
                    f"{c['at_cycle']}:{m['error']:+.0f}{mark}"
                )
        for (threshold, model), items in by_threshold.items():
            lines.append(f"  {r['cell']} θ={threshold} {model}: " + "  ".join(items))
    lines.append("  (* = truth outside the 90 % interval)")
    timing = report["timing"]
    if timing:
        lines += [
            "",
            f"Forecast time: {timing['median_ms']:.2f} ms median per call "
            f"({timing['history']}-cycle history, {timing['particles']} particles)",
        ]
        if "learned_median_ms" in timing:
            lines.append(
                f"Learned forecast: {timing['learned_median_ms']:.2f} ms median per call; a batch of 1000 "
                f"histories x 3 thresholds in {timing['learned_batch_1000_ms']:.0f} ms"
            )
    if "learned" in report:
        lines.append(
            "Learned model: fine-tuned per fold from the physics-only weights (sha256 "
            f"{report['learned']['pretrained_sha256'][:12]}…), "
            f"{report['learned']['fine_tune_seconds']:.0f} s for all folds"
        )
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "   -  " if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:6.2f}"


def _case_line(c: dict[str, Any]) -> str:
    if "error" not in c:
        return f"{c['cell']}  {c['threshold']}  {c['point']:>4}  {c['at_cycle']:3d}  insufficient data"
    return (
        f"{c['cell']}  {c['threshold']}  {c['point']:>4}  {c['at_cycle']:3d}  {c['true_eol_cycle']:8d}"
        f"  {c['true_rul']:8d}  {c['predicted_rul']:5.0f}   [{c['lower']:5.0f}, {c['upper']:5.0f}]"
        f"  {c['error']:+7.1f}  {'yes' if c['covered'] else 'NO'}"
    )


def _models_line(c: dict[str, Any]) -> str:
    parts = []
    for model in MODELS:
        m = c["models"][model]
        mark = " " if m["covered"] else "*"
        parts.append(
            f"{m['predicted_rul']:4.0f} [{m['lower']:4.0f},{m['upper']:5.0f}] {m['error']:+5.0f}{mark}"
        )
    return (
        f"{c['cell']}  {c['threshold']}  {c['point']:>4}  {c['at_cycle']:3d}  {c['true_rul']:8d}  "
        + "  ".join(f"{p:>24}" for p in parts)
    )
