"""Ridge regression with honest residual deviations, and the normal CDF, for the 4CP predictor."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from powerfirst._types import Array

__all__ = ["Linear", "norm_cdf", "ridge", "ridge_cv"]

RIDGE_ALPHA = 1.0
MIN_SAMPLES = 30
"""Fewest samples left after holding a group out for the held-out deviation [count]."""


@dataclass(frozen=True)
class Linear:
    coef: Array
    """Coefficients on the raw features (first: intercept) [MW per feature unit]."""
    sigma_mw: float
    """Residual standard deviation, corrected for the fitted parameters [MW]."""


def ridge(x: Array, y: Array, alpha: float = RIDGE_ALPHA) -> Linear:
    """Ridge regression on standardised features (intercept not penalised), returned on the raw scale."""
    mean = x[:, 1:].mean(axis=0)
    scale = x[:, 1:].std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(len(x)), (x[:, 1:] - mean) / scale])
    penalty = alpha * np.eye(z.shape[1])
    penalty[0, 0] = 0.0
    beta = np.linalg.solve(z.T @ z + penalty, z.T @ y)
    coef = np.empty_like(beta)
    coef[1:] = beta[1:] / scale
    coef[0] = beta[0] - float((beta[1:] * mean / scale).sum())
    resid = y - x @ coef
    dof = max(len(y) - x.shape[1], 1)
    return Linear(coef, float(math.sqrt(float(resid @ resid) / dof)))


def ridge_cv(x: Array, y: Array, groups: npt.NDArray[np.int_]) -> Linear:
    """Ridge fit on all samples, with the residual deviation of leave-one-group(year)-out predictions
    when there are two groups or more with enough samples (else the in-sample deviation) [MW].

    Held-out residuals include the change between years that in-sample residuals hide; the
    probabilities of exceedance rely on a deviation that is honest about it.
    """
    model = ridge(x, y)
    residuals = []
    for group in np.unique(groups):
        held = groups == group
        if (~held).sum() < MIN_SAMPLES:
            return model
        residuals.append(y[held] - x[held] @ ridge(x[~held], y[~held]).coef)
    if len(residuals) < 2:
        return model
    held_out = np.concatenate(residuals)
    return Linear(model.coef, float(math.sqrt(float(held_out @ held_out) / len(held_out))))


def norm_cdf(z: Array) -> Array:
    """Standard normal CDF (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    return np.asarray(0.5 * (1.0 + np.sign(z) * erf), dtype=np.float64)
