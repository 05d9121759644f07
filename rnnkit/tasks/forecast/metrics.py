"""Forecast accuracy: MAE, RMSE, sMAPE, MASE, and the coverage of prediction intervals.

Errors are pooled over every (origin, horizon step) pair of a backtest, in the series' original units.
    MAE   = mean |y - f|
    RMSE  = sqrt(mean (y - f)^2)
    sMAPE = mean 200 |y - f| / (|y| + |f|)          in percent, 0 where y = f = 0 (M4 definition)
    MASE  = MAE / mean_{t >= m} |y_t - y_{t-m}|     the in-sample seasonal-naive error on the training part
            (Hyndman & Koehler 2006): below 1 beats the one-step seasonal naive forecast in-sample.
    coverage = share of actuals inside [lower, upper]; compare with the nominal interval.
"""

from __future__ import annotations

import numpy as np

from rnnkit.training.errors import DataError


def _pair(actual, forecast) -> tuple[np.ndarray, np.ndarray]:
    y, f = np.asarray(actual, dtype=np.float64), np.asarray(forecast, dtype=np.float64)
    if y.shape != f.shape or y.size == 0:
        raise ValueError(f"expected equal, non-empty shapes, got {y.shape} and {f.shape}")
    return y, f


def mae(actual, forecast) -> float:
    y, f = _pair(actual, forecast)
    return float(np.abs(y - f).mean())


def rmse(actual, forecast) -> float:
    y, f = _pair(actual, forecast)
    return float(np.sqrt(((y - f) ** 2).mean()))


def smape(actual, forecast) -> float:
    y, f = _pair(actual, forecast)
    denom = np.abs(y) + np.abs(f)
    return float(np.where(denom > 0, 200 * np.abs(y - f) / np.where(denom > 0, denom, 1), 0.0).mean())


def mase_scale(history, season: int) -> float:
    """Mean absolute seasonal difference of the training part (lag 1 when it is shorter than a season)."""
    y = np.asarray(history, dtype=np.float64)
    m = season if season >= 1 and len(y) > season else 1
    if len(y) <= m:
        raise ValueError(f"need more than {m} training points to scale MASE, got {len(y)}")
    scale = float(np.abs(y[m:] - y[:-m]).mean())
    if scale == 0 and np.ptp(y) == 0:
        raise DataError(f"the training part is constant ({y[0]:g} throughout): there is nothing to forecast, and "
                        "MASE (errors relative to the training part's changes) is undefined")
    if scale == 0:
        raise DataError(f"the training part repeats exactly every {m} steps, so seasonal naive is perfect and MASE "
                        "(errors relative to seasonal naive's) is undefined; pass --season 1 to scale by one-step "
                        "changes instead")
    return scale


def mase(actual, forecast, scale: float) -> float:
    return mae(actual, forecast) / scale


def coverage(actual, lower, upper) -> float:
    y, lo = _pair(actual, lower)
    _, hi = _pair(actual, upper)
    return float(((y >= lo) & (y <= hi)).mean())


def summary(actual, quantiles, scale: float) -> dict[str, float]:
    """Metrics of one forecaster: actual (..., H) and quantiles (..., H, 3) = (lower, median, upper)."""
    y, q = np.asarray(actual, dtype=np.float64), np.asarray(quantiles, dtype=np.float64)
    point = q[..., 1]
    return {"mase": mase(y, point, scale), "smape": smape(y, point), "mae": mae(y, point), "rmse": rmse(y, point),
            "coverage": coverage(y, q[..., 0], q[..., 2]), "interval_width": float((q[..., 2] - q[..., 0]).mean())}
