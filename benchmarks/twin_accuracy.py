"""Accuracy of the health twins on the NASA PCoE cells: ``python -m benchmarks.twin_accuracy [--json]``.

Pure: reads ../shared/data/nasa-pcoe, needs no database. See docs/twins.md for the definitions.
RUL is scored for the empirical particle filter, the learned sequence model (fine-tuned per fold from
the shipped physics-only weights, without the scored cell; ~3 minutes) and their ensemble;
``--empirical-only`` skips the learned model (seconds); ``--thresholds 0.75,0.7,0.65`` scores RUL at other
end-of-life thresholds (what is scored changes, what is trained and calibrated does not).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from twins.health.evaluation import DATA_DIR, accuracy_report, scored_thresholds
from twins.health.evaluation_text import format_report
from twins.health.rul import THRESHOLDS


def _thresholds(text: str) -> tuple[float, ...]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    try:
        return scored_thresholds(values)
    except ValueError as error:
        # argparse names the option itself.
        raise argparse.ArgumentTypeError(str(error).removeprefix("thresholds: ")) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="the nasa-pcoe directory")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--empirical-only", action="store_true", help="score the particle filter only (no learned model)"
    )
    parser.add_argument(
        "--thresholds",
        type=_thresholds,
        default=THRESHOLDS,
        help="comma-separated end-of-life thresholds to score RUL at, fractions of rated "
        f"(default {','.join(f'{t:g}' for t in THRESHOLDS)}); training and calibration do not change",
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"no NASA data at {args.data}", file=sys.stderr)
        return 2
    report = accuracy_report(args.data, learned=not args.empirical_only, thresholds=args.thresholds)
    print(json.dumps(report, indent=2, default=float) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
