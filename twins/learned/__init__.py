"""The learned RUL model: a small PyTorch sequence network trained on physics-generated and real
capacity histories, behind the interface of ``twins.health.rul.rul_forecast``; and its ensemble with
the empirical (particle-filter) model. See docs/twins.md, "Learned sequence model and the ensemble".
"""

from twins.learned.combine import EnsembleForecast, combine, combine_many
from twins.learned.forecast import (
    MODEL_NAME,
    RulSequenceModel,
    artifact_hash,
    learned_rul_forecast,
    learned_rul_forecasts,
    load_model,
)

__all__ = [
    "MODEL_NAME",
    "EnsembleForecast",
    "RulSequenceModel",
    "artifact_hash",
    "combine",
    "combine_many",
    "learned_rul_forecast",
    "learned_rul_forecasts",
    "load_model",
]
