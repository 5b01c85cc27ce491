"""RUL of stored batteries: the particle filter and the learned sequence model, and their ensemble.

Both models read the same history (discharge count, capacity Ah) against the battery's life basis
(``twins.services.life``): the particle filter through the basis's prior, the learned model on a clock
rescaled by the basis's design life. The learned network was trained on histories on the time scale of
the NASA cells (its physics set was scaled to match them; the fade prior of those cells reaches 80 % in
70 cycles), so a 1500-cycle NMC pack's history is fed to it with cycle numbers divided by 1500 / 70 and
its forecast multiplied back — the same time rescaling the prior gets (``twins.chemistry.fade_prior``).
The stored RUL is the ensemble (``twins.learned.combine``); both components are kept beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from twins.chemistry import prior_crossing_cycle
from twins.health import rul as rul_model
from twins.health.fade import DEFAULT_PRIOR
from twins.health.rul import HORIZON_CYCLES, RulForecast
from twins.health.soh import InsufficientData
from twins.learned import combine_many, learned_rul_forecasts
from twins.services.life import REFERENCE_TEST_END, LifeBasis

# Cycles to 80 % of the training cells' prior: the learned model's native time scale.
LEARNED_CYCLES_TO_80 = prior_crossing_cycle(DEFAULT_PRIOR, REFERENCE_TEST_END)
# A calendar rate needs a history that spans at least this many days (a lab test's cycling rate over
# a few hours says nothing about how the battery is used).
MIN_DAYS_FOR_RATE = 1.0


@dataclass(frozen=True)
class ForecastInput:
    history: list[tuple[int, float]]  # (discharge number, capacity Ah), increasing
    rated_capacity_ah: float
    basis: LifeBasis
    cycles_per_day: float | None = None


def learned_time_scale(basis: LifeBasis) -> float:
    """Factor from the learned model's cycles to this battery's (design life / the training cells')."""
    return basis.cycles_to(REFERENCE_TEST_END) / LEARNED_CYCLES_TO_80


def cycles_per_day(points: Sequence[tuple[int, float]]) -> float | None:
    """Discharges per day over a history of (discharge number, start epoch seconds); None when it spans
    less than ``MIN_DAYS_FOR_RATE``."""
    if len(points) < 2:
        return None
    (first_cycle, first_time), (last_cycle, last_time) = points[0], points[-1]
    days = (last_time - first_time) / 86400.0
    if days < MIN_DAYS_FOR_RATE or last_cycle <= first_cycle:
        return None
    return (last_cycle - first_cycle) / days


def _scaled(forecast: RulForecast | InsufficientData, scale: float, last_cycle: float):
    if isinstance(forecast, InsufficientData):
        return forecast
    warnings = [*forecast.warnings, f"clock rescaled by {scale:.3g} (design life / training cells')"]
    upper = forecast.upper_cycles * scale
    if upper >= HORIZON_CYCLES and not any("horizon" in warning for warning in warnings):
        warnings.append(f"the upper bound is beyond the {HORIZON_CYCLES}-cycle horizon")
    return replace(
        forecast,
        median_cycles=min(forecast.median_cycles * scale, HORIZON_CYCLES),
        lower_cycles=min(forecast.lower_cycles * scale, HORIZON_CYCLES),
        upper_cycles=min(upper, HORIZON_CYCLES),
        last_cycle=last_cycle,
        median_days=None,
        lower_days=None,
        upper_days=None,
        warnings=warnings,
    )


def _with_days(forecast: RulForecast, per_day: float | None) -> RulForecast:
    if per_day:
        forecast.median_days = forecast.median_cycles / per_day
        forecast.lower_days = forecast.lower_cycles / per_day
        forecast.upper_days = forecast.upper_cycles / per_day
    return forecast


def _present(result) -> dict:
    """A dataclass's fields that are not None, one level deep (``asdict`` deep-copies every value,
    which cost a fleet sweep more than its learned model); lists are copied."""
    values = {}
    for item in fields(result):
        value = getattr(result, item.name)
        if value is not None:
            values[item.name] = list(value) if isinstance(value, list) else value
    return values


def plain(forecast) -> dict:
    """A twin result (forecast, SoH estimate or ``InsufficientData``) as stored in a run's outputs:
    None fields left out, ensemble components nested by model name."""
    if isinstance(forecast, InsufficientData):
        return {"insufficient_data": True, "missing": list(forecast.missing)}
    result = _present(forecast)
    components = result.pop("components", None)
    if components:
        result["components"] = {name: _present(part) for name, part in components.items()}
    return result


def rul_of_many(
    inputs: Sequence[ForecastInput], *, particles: int
) -> list[dict[float, RulForecast | InsufficientData]]:
    """Per battery, threshold -> the ensemble forecast (its components inside), for each of the basis's
    thresholds; ``InsufficientData`` where the history is too short. The learned model runs once for
    the whole batch and the ensembles are mixed in one vectorised pass."""
    empirical = rul_model.rul_forecasts_many(
        [
            rul_model.ForecastRequest(
                item.history,
                item.rated_capacity_ah,
                item.basis.thresholds,
                item.cycles_per_day,
                item.basis.prior,
            )
            for item in inputs
        ],
        particles=particles,
    )
    every_threshold = tuple(sorted({t for item in inputs for t in item.basis.thresholds}, reverse=True))
    scales = [learned_time_scale(item.basis) for item in inputs]
    learned = (
        learned_rul_forecasts(
            [
                [(cycle / scale, capacity) for cycle, capacity in item.history]
                for item, scale in zip(inputs, scales, strict=True)
            ],
            [item.rated_capacity_ah for item in inputs],
            every_threshold,
        )
        if inputs
        else []
    )
    pairs: list[tuple[RulForecast, RulForecast]] = []
    slots: list[tuple[int, float]] = []
    results: list[dict[float, RulForecast | InsufficientData]] = []
    for index, item in enumerate(inputs):
        own: dict[float, RulForecast | InsufficientData] = {}
        for threshold in item.basis.thresholds:
            particle = empirical[index][threshold]
            if isinstance(particle, InsufficientData):
                own[threshold] = particle
                continue
            network = _scaled(learned[index][threshold], scales[index], particle.last_cycle)
            if isinstance(network, InsufficientData):  # same rules as the filter's, so not expected
                own[threshold] = particle
                continue
            pairs.append((particle, _with_days(network, item.cycles_per_day)))
            slots.append((index, threshold))
        results.append(own)
    for (index, threshold), ensemble in zip(slots, combine_many(pairs), strict=True):
        results[index][threshold] = ensemble
    return results
