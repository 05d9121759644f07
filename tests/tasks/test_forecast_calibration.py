"""Split-conformal rescaling of the forecast interval: the factor, the rescaled quantiles, the coverage."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.forecast.calibration import interval_scale, rescale

Z80 = 1.2815515655446004          # the 90% quantile of N(0, 1): an 80% central interval is +-Z80 sigma


def unit_interval(n: int) -> np.ndarray:
    """(n, 1, 3) forecasts of a model that believes y ~ N(0, 1): (lower, median, upper) of its 80% interval."""
    return np.broadcast_to(np.array([-Z80, 0.0, Z80]), (n, 1, 3)).copy()


def test_an_overconfident_interval_is_widened_by_the_true_spread():
    y = np.random.default_rng(0).normal(0.0, 2.0, (20_000, 1))            # the truth is twice as wide
    assert interval_scale(y, unit_interval(len(y)), 0.8) == pytest.approx(2.0, rel=0.03)


def test_an_underconfident_interval_is_narrowed_only_in_conformal_mode():
    y = np.random.default_rng(1).normal(0.0, 0.5, (20_000, 1))
    assert interval_scale(y, unit_interval(len(y)), 0.8) == pytest.approx(0.5, rel=0.03)
    assert interval_scale(y, unit_interval(len(y)), 0.8, "widen") == 1.0
    y = np.random.default_rng(0).normal(0.0, 2.0, (20_000, 1))
    assert interval_scale(y, unit_interval(len(y)), 0.8, "widen") == pytest.approx(2.0, rel=0.03)


def test_rescale_keeps_the_median_and_scales_each_half_width():
    q = np.array([[[1.0, 3.0, 4.0]]])
    assert rescale(q, 2.0).tolist() == [[[-1.0, 3.0, 5.0]]]
    assert rescale(q, 1.0).tolist() == q.tolist()


def test_the_rescaled_interval_covers_new_values_at_the_nominal_rate():
    rng = np.random.default_rng(2)
    covered = []
    for _ in range(400):                  # small calibration sets: the finite-sample guarantee, on average
        calib, new = rng.standard_t(3, (30, 1)) * 3, rng.standard_t(3, (30, 1)) * 3
        s = interval_scale(calib, unit_interval(30), 0.8)
        q = rescale(unit_interval(30), s)
        covered.append(((new >= q[..., 0]) & (new <= q[..., 2])).mean())
    assert 0.8 <= np.mean(covered) < 0.86


def test_no_finite_values_to_calibrate_on_and_unknown_modes_are_errors():
    with pytest.raises(ValueError, match="no held-out values"):
        interval_scale(np.full((3, 1), np.nan), unit_interval(3), 0.8)
    with pytest.raises(ValueError, match="mode must be one of"):
        interval_scale(np.zeros((3, 1)), unit_interval(3), 0.8, "shrink")
