"""Forecast metrics against hand-computed values, and the classical baselines' forecasts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.tasks.forecast.baselines import ARIMA, Naive, SeasonalNaive, make_baselines
from rnnkit.tasks.forecast.metrics import coverage, mae, mase, mase_scale, rmse, smape, summary
from rnnkit.training.errors import DataError

Y, F = [10.0, 20.0, 30.0], [12.0, 18.0, 33.0]     # errors 2, -2, 3


def test_mae_rmse_smape_by_hand():
    assert mae(Y, F) == pytest.approx(7 / 3)
    assert rmse(Y, F) == pytest.approx(math.sqrt(17 / 3))
    assert smape(Y, F) == pytest.approx((200 * 2 / 22 + 200 * 2 / 38 + 200 * 3 / 63) / 3)


def test_smape_counts_zero_over_zero_as_no_error():
    assert smape([0.0, 10.0], [0.0, 10.0]) == 0.0


def test_mase_divides_by_the_in_sample_seasonal_naive_error():
    history = [1.0, 3.0, 2.0, 5.0, 4.0]                    # lag-2 differences 1, 2, 2 -> scale 5/3
    assert mase_scale(history, 2) == pytest.approx(5 / 3)
    assert mase(Y, F, mase_scale(history, 2)) == pytest.approx((7 / 3) / (5 / 3))
    assert mase_scale(history, 12) == pytest.approx((2 + 1 + 3 + 1) / 4)   # shorter than a season: lag 1


def test_mase_of_a_perfectly_periodic_history_is_refused_with_the_season_hint():
    with pytest.raises(DataError, match=r"repeats exactly every 2 steps.*--season 1"):
        mase_scale([1.0, 2.0, 1.0, 2.0], 2)


def test_mase_of_a_constant_history_is_refused_as_nothing_to_forecast():
    with pytest.raises(DataError, match=r"constant \(5 throughout\)"):
        mase_scale([5.0] * 30, 7)


def test_coverage_counts_the_interval_ends_as_inside():
    assert coverage([1, 2, 3, 4], [0, 2.5, 3, 5], [2, 3, 3, 6]) == 0.5


def test_summary_reads_the_median_as_the_point_forecast():
    q = np.stack([np.array(F) - 2, np.array(F), np.array(F) + 2], -1)[None]   # (1, 3, 3); errors 2, -2, 3
    s = summary(np.array(Y)[None], q, 1.0)
    assert s["mae"] == pytest.approx(7 / 3) and s["interval_width"] == pytest.approx(4.0)
    assert s["coverage"] == pytest.approx(2 / 3)


def test_naive_repeats_the_last_value_with_sqrt_h_intervals():
    g = np.array([1.0, 2.0, 4.0, 3.0])                       # one-step differences 1, 2, -1
    b = Naive(1)
    b.fit(g, np.zeros((4, 0)))
    q = b.forecast(g, np.zeros((4, 0)), np.zeros((3, 0)), 3, (0.1, 0.5, 0.9))
    assert q[:, 1].tolist() == [3.0, 3.0, 3.0]
    width = q[:, 2] - q[:, 1]
    assert width[1] / width[0] == pytest.approx(math.sqrt(2)) and b.sigma == pytest.approx(math.sqrt(2))


def test_seasonal_naive_repeats_the_last_season():
    g = np.arange(1.0, 9.0)                                  # m = 4: last season 5, 6, 7, 8
    b = SeasonalNaive(4)
    b.fit(g, np.zeros((8, 0)))
    q = b.forecast(g, np.zeros((8, 0)), np.zeros((6, 0)), 6, (0.1, 0.5, 0.9))
    assert q[:, 1].tolist() == [5, 6, 7, 8, 5, 6]
    width = q[:, 2] - q[:, 0]
    assert width[4] / width[0] == pytest.approx(math.sqrt(2))   # a second season spanned


@pytest.mark.slow
def test_arima_with_a_long_season_continues_the_seasonal_pattern():
    rng = np.random.default_rng(0)
    t = np.arange(24 * 6)
    g = np.sin(2 * np.pi * t / 24) + 0.01 * rng.normal(size=len(t)) + 0.001 * t
    b = ARIMA(24)
    b.fit(g[:-24], np.zeros((len(t) - 24, 0)))
    assert b.explicit                                        # (1,0,1)(0,1,0)_24 by explicit differencing
    q = b.forecast(g[:-24], np.zeros((len(t) - 24, 0)), np.zeros((30, 0)), 30, (0.1, 0.5, 0.9))
    assert np.abs(q[:24, 1] - g[-24:]).max() < 0.1
    assert (q[:, 0] < q[:, 1]).all() and (q[:, 1] < q[:, 2]).all()


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="unknown baseline 'theta'"):
        make_baselines(("naive", "theta"), 12, None)
