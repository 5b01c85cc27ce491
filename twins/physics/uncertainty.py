"""Standard errors of fitted parameters from the Gauss-Newton covariance of their residuals."""

from __future__ import annotations

import numpy as np

from twins.physics.model import CellParameters
from twins.physics.parameter_space import BOUNDS, Bound, from_units, to_units

# Finite-difference step of the uncertainty Jacobian, in unit coordinates: well above the solver's noise,
# well inside the region where the fitted curve is close to linear in the parameters.
UNCERTAINTY_STEP = 0.01


def standard_errors(
    residuals_of,
    params: CellParameters,
    names: list[str],
    step: float = UNCERTAINTY_STEP,
    bounds: dict[str, Bound] = BOUNDS,
    residuals_many=None,
) -> dict[str, dict[str, float]]:
    """Each parameter's standard error at ``params`` from the Gauss-Newton covariance of its residuals
    (``unit_standard_errors``). Returned per parameter: the value, ``std_unit`` (in unit coordinates; ~0.3
    or more means the curve does not pin it down) and the 1-sigma interval mapped back to the parameter
    (asymmetric for log-scaled ones). ``residuals_many``, if given, evaluates a list of parameter sets at
    once (a threaded batch); the result is the same as from ``residuals_of`` on each.
    """

    def residuals_at(points: list[np.ndarray]) -> list[np.ndarray]:
        trials = [from_units(params, names, u, bounds) for u in points]
        return residuals_many(trials) if residuals_many is not None else [residuals_of(t) for t in trials]

    u0 = to_units(params, names, bounds)
    return described(params, names, u0, unit_standard_errors(residuals_at, u0, step), bounds)


def unit_standard_errors(residuals_at, u0: np.ndarray, step: float = UNCERTAINTY_STEP) -> np.ndarray:
    """Standard errors of unit coordinates ``u0`` from the residuals ``residuals_at`` gives for a list of
    points (the first is ``u0``, then one forward step per coordinate, all in one call).

    cov = s^2 (J^T J)^-1, with s^2 the residual variance inflated for the residuals' lag-1 autocorrelation
    rho (n_eff = n (1 - rho) / (1 + rho)): residuals along one curve are strongly correlated, and treating
    them as independent would claim far too narrow intervals. A pseudo-inverse keeps coordinates the curve
    cannot tell apart from producing infinities.
    """
    p = len(u0)
    steps = [step if u0[k] + step <= 1.0 else -step for k in range(p)]
    shifted = []
    for k, h in enumerate(steps):
        u = np.array(u0, dtype=float)
        u[k] += h
        shifted.append(u)
    r0, *values = residuals_at([np.array(u0, dtype=float), *shifted])
    n = len(r0)
    jacobian = np.column_stack([(value - r0) / h for value, h in zip(values, steps, strict=True)])
    rho = float(np.corrcoef(r0[:-1], r0[1:])[0, 1]) if n > 2 and np.std(r0) > 0 else 0.0
    rho = min(max(rho, 0.0), 0.99)
    n_eff = max(n * (1 - rho) / (1 + rho), p + 1.0)
    variance = float(np.sum(r0**2)) / max(n_eff - p, 1.0) * n / n_eff
    covariance = variance * np.linalg.pinv(jacobian.T @ jacobian)
    return np.sqrt(np.maximum(np.diag(covariance), 0.0))


def described(
    params: CellParameters, names: list[str], u0: np.ndarray, std: np.ndarray, bounds: dict[str, Bound]
) -> dict[str, dict[str, float]]:
    out = {}
    for k, name in enumerate(names):
        bound = bounds[name]
        out[name] = {
            "value": float(getattr(params, name)),
            "std_unit": float(std[k]),
            "low": bound.from_unit(u0[k] - std[k]),
            "high": bound.from_unit(u0[k] + std[k]),
        }
    return out
