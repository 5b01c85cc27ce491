"""Health twins: state of health and remaining useful life from per-cycle aggregates.

Pure Python on numpy (scipy only to fit priors); no models, no database. See docs/twins.md.
"""

from twins.health.fade import DEFAULT_PRIOR, MODEL_NAME, MODEL_VERSION, FadePrior, fit_prior
from twins.health.rul import THRESHOLDS, RulForecast, rul_forecast, rul_forecasts
from twins.health.soh import (
    DEFAULT_CORRECTION,
    CapacityCorrection,
    FreshCell,
    InsufficientData,
    SohEstimate,
    capacity_soh,
    fit_capacity_correction,
    good_discharges,
    resistance_soh,
    soh_series,
)

__all__ = [
    "DEFAULT_CORRECTION",
    "DEFAULT_PRIOR",
    "MODEL_NAME",
    "MODEL_VERSION",
    "THRESHOLDS",
    "CapacityCorrection",
    "FadePrior",
    "FreshCell",
    "InsufficientData",
    "RulForecast",
    "SohEstimate",
    "capacity_soh",
    "fit_capacity_correction",
    "fit_prior",
    "good_discharges",
    "resistance_soh",
    "rul_forecast",
    "rul_forecasts",
    "soh_series",
]
