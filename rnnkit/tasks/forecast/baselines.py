"""Classical forecasters measured in the same backtest: naive, seasonal naive, ETS and ARIMA.

All of them work on the transformed scale (log or identity, the same as the networks') and return
(lower, median, upper) quantiles there; the backtest maps them back to the original units. Each is
fitted once on the data before the backtest part; at every later origin it conditions on the actuals up
to that origin with its parameters fixed, like the networks, which are trained once and then read a
context window. ETS and ARIMA use at most `max_history` points before an origin (None: all of them), which keeps
them affordable on long half-hourly series.

    naive           last value; intervals from the one-step differences, widening with sqrt(h)
    seasonal_naive  the value one season earlier; intervals widen with the number of seasons spanned
    ets             statsmodels ETSModel: additive errors, additive trend (damped or not, whichever has the
                    lower AICc on the training part), additive season
    arima           statsmodels SARIMAX (0,1,1)(0,1,1)_m, the "airline model" (or (1,1,1) without a
                    season; (1,0,1)(0,1,0)_m for seasons longer than 12 steps, see `ARIMA`), with the
                    covariates as regressors when there are any
"""

from __future__ import annotations

import warnings
from statistics import NormalDist

import numpy as np
import pandas as pd

NAMES = ("naive", "seasonal_naive", "ets", "arima")


def _normal_quantiles(point: np.ndarray, sigma: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    z = np.array([NormalDist().inv_cdf(q) for q in levels])
    return point[:, None] + sigma[:, None] * z[None, :]                   # (H, Q)


class Naive:
    name = "naive"

    def __init__(self, season: int) -> None:
        self.sigma = 0.0

    def fit(self, g: np.ndarray, cov: np.ndarray) -> None:
        self.sigma = float(np.sqrt(np.mean(np.diff(g) ** 2)))

    def forecast(self, g: np.ndarray, cov: np.ndarray, cov_future: np.ndarray, horizon: int,
                 levels: tuple[float, ...]) -> np.ndarray:
        h = np.arange(1, horizon + 1)
        return _normal_quantiles(np.full(horizon, g[-1]), self.sigma * np.sqrt(h), levels)


class SeasonalNaive:
    name = "seasonal_naive"

    def __init__(self, season: int) -> None:
        self.m, self.sigma = season, 0.0

    def fit(self, g: np.ndarray, cov: np.ndarray) -> None:
        m = self.m if len(g) > self.m else 1
        self.sigma = float(np.sqrt(np.mean((g[m:] - g[:-m]) ** 2)))

    def forecast(self, g: np.ndarray, cov: np.ndarray, cov_future: np.ndarray, horizon: int,
                 levels: tuple[float, ...]) -> np.ndarray:
        m = self.m
        h = np.arange(1, horizon + 1)
        k = (h - 1) // m                                     # whole seasons beyond the last observed one
        point = g[len(g) - m + (h - 1) % m]                  # y_{n + h - m(k+1)}
        return _normal_quantiles(point, self.sigma * np.sqrt(k + 1), levels)


class ETS:
    name = "ets"

    def __init__(self, season: int, max_history: int | None = None) -> None:
        self.m, self.max_history, self.params, self.spec = season, max_history, None, {}

    def fit(self, g: np.ndarray, cov: np.ndarray) -> None:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        g = g[-self.max_history:] if self.max_history else g
        seasonal = self.m > 1 and len(g) >= 2 * self.m + 2
        best = None
        for damped in (False, True):               # the trend form with the lower AICc on the training part
            spec = {"error": "add", "trend": "add", "damped_trend": damped, "seasonal": "add" if seasonal else None,
                    "seasonal_periods": self.m if seasonal else None}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = ETSModel(pd.Series(g), **spec).fit(disp=False, maxiter=200)
            if best is None or res.aicc < best[0]:
                best = (res.aicc, spec, res.params)
        _, self.spec, self.params = best

    def forecast(self, g: np.ndarray, cov: np.ndarray, cov_future: np.ndarray, horizon: int,
                 levels: tuple[float, ...]) -> np.ndarray:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        g = g[-self.max_history:] if self.max_history else g
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ETSModel(pd.Series(g), **self.spec).smooth(self.params)   # a Series: get_prediction needs an index
            pred = res.get_prediction(start=len(g), end=len(g) + horizon - 1)
            return _from_interval(pred.predicted_mean, pred.var_pred_mean, levels)


class ARIMA:
    """Seasonal ARIMA on the transformed series, covariates as regressors.

    Short seasons (m <= 12): SARIMA(0,1,1)(0,1,1)_m, the airline model. Longer seasons (half-hourly data has
    m = 48) make the seasonal MA's state m-dimensional and the Kalman filter far too slow, so there the
    seasonal difference is taken explicitly and an ARMA(1,1) with a constant models w_t = g_t - g_{t-m}:
    ARIMA(1,0,1)(0,1,0)_m. Its forecast adds w back to the value one season earlier; beyond one season
    the error variances of the summed steps are added as if independent (an approximation).
    """

    name = "arima"

    def __init__(self, season: int, max_history: int | None = None) -> None:
        self.m, self.max_history, self.result, self.explicit = season, max_history, None, False

    def _model(self, g: np.ndarray, cov: np.ndarray):
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        exog = cov if cov.shape[1] else None
        if self.explicit:
            return SARIMAX(g, exog=exog, order=(1, 0, 1), trend="c")
        seasonal = self.m > 1 and len(g) >= 2 * self.m + 2
        return SARIMAX(g, exog=exog, order=(0, 1, 1) if seasonal else (1, 1, 1),
                       seasonal_order=(0, 1, 1, self.m) if seasonal else (0, 0, 0, 0))

    def _prepare(self, g: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.max_history:
            g, cov = g[-self.max_history:], cov[-self.max_history:]
        if self.explicit:
            return g[self.m:] - g[:-self.m], cov[self.m:] - cov[:-self.m]
        return g, cov

    def fit(self, g: np.ndarray, cov: np.ndarray) -> None:
        history = len(g) if not self.max_history else min(len(g), self.max_history)
        self.explicit = self.m > 12 and history >= 2 * self.m + 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.result = self._model(*self._prepare(g, cov)).fit(disp=False, maxiter=100)

    def forecast(self, g: np.ndarray, cov: np.ndarray, cov_future: np.ndarray, horizon: int,
                 levels: tuple[float, ...]) -> np.ndarray:
        if self.explicit:
            m = self.m
            lagged = np.concatenate([cov[-m:], cov_future])[:horizon] if cov.shape[1] else cov_future
            cov_future = cov_future - lagged if cov.shape[1] else cov_future
        endog, exog = self._prepare(g, cov)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self.result.apply(endog, exog=exog if exog.shape[1] else None)
            fc = res.get_forecast(horizon, exog=cov_future if cov.shape[1] else None)
            mean, var = np.asarray(fc.predicted_mean, dtype=np.float64), np.asarray(fc.var_pred_mean, dtype=np.float64)
        if self.explicit:                       # undo the seasonal difference, season by season
            mean, var = mean.copy(), var.copy()
            for h in range(horizon):
                if h >= self.m:
                    mean[h] += mean[h - self.m]
                    var[h] += var[h - self.m]
                else:
                    mean[h] += g[len(g) - self.m + h]
        return _from_interval(mean, var, levels)


def _from_interval(mean, variance, levels: tuple[float, ...]) -> np.ndarray:
    """Gaussian quantiles from a predicted mean and variance (both (H,))."""
    return _normal_quantiles(np.asarray(mean, dtype=np.float64), np.sqrt(np.maximum(np.asarray(variance), 0)),
                             levels)


def make_baselines(names: tuple[str, ...], season: int, max_history: int | None) -> list:
    """The baselines a config lists, in that order."""
    table = {"naive": lambda: Naive(season), "seasonal_naive": lambda: SeasonalNaive(season),
             "ets": lambda: ETS(season, max_history), "arima": lambda: ARIMA(season, max_history)}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(NAMES)}")
    return [table[n]() for n in names]
