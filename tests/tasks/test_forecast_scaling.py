"""Scaling is fitted on the training part only; windows never show a model what it must forecast."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.tasks.forecast.backtest import network_forecasts
from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.tasks.forecast.model import DirectForecaster
from rnnkit.tasks.forecast.scaling import SeriesScaler, resolve_transform
from rnnkit.tasks.forecast.task import Forecast
from rnnkit.tasks.forecast.windows import make_windows
from rnnkit.training.config import TrainConfig

N = 120


def series_csv(path, test_factor=1.0, n=N):
    """A seasonal series with a covariate; the last 24 values (the test part below) are multiplied."""
    t = np.arange(n)
    y = 100 + t + 10 * np.sin(2 * np.pi * t / 12)
    y[-24:] *= test_factor
    lines = ["time,y,c"] + [f"{i},{v:.6f},{np.cos(i):.6f}" for i, v in enumerate(y)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def config(path, **kw):
    return ForecastConfig(data=str(path), season=12, horizon=6, context=12, test_size=24, valid_size=12, **kw)


@pytest.mark.parametrize("transform", ["log", "none"])
def test_scaler_round_trip(transform):
    y = np.array([5.0, 7.0, 11.0, 13.0])
    s = SeriesScaler.fit(y, np.zeros((4, 0)), transform)
    assert np.allclose(s.inverse(s.target(y)), y)
    assert s.target(y).mean() == pytest.approx(0) and s.target(y).std() == pytest.approx(1)
    assert np.allclose(SeriesScaler.from_state_dict(s.state_dict()).target(y), s.target(y))


def test_auto_transform_logs_only_positive_series():
    assert resolve_transform("auto", np.array([1.0, 2.0])) == "log"
    assert resolve_transform("auto", np.array([0.0, 2.0])) == "none"
    with pytest.raises(ValueError, match="--transform log needs positive target values"):
        resolve_transform("log", np.array([-1.0, 2.0]))


def test_scaler_is_fitted_on_the_training_part_only(tmp_path, monkeypatch):
    seen = []
    fit = SeriesScaler.fit.__func__

    def spy(cls, target, covariates, transform):
        seen.append(np.array(target))
        return fit(cls, target, covariates, transform)

    monkeypatch.setattr(SeriesScaler, "fit", classmethod(spy))
    cfg = config(series_csv(tmp_path / "a.csv"))
    data = Forecast().build_data(cfg, TrainConfig(batch_size=8))
    assert len(seen) == 1 and len(seen[0]) == data.plan.n_fit == N - 24 - 12


def test_changing_the_test_part_changes_neither_scaler_nor_training_windows(tmp_path):
    task, train = Forecast(), TrainConfig(batch_size=8)
    a = task.build_data(config(series_csv(tmp_path / "a.csv")), train)
    b = task.build_data(config(series_csv(tmp_path / "b.csv", test_factor=1000.0)), train)
    assert a.meta["scaler"] == b.meta["scaler"]
    wa, wb = a.train.windows, b.train.windows
    for name in ("past", "future", "known", "level"):
        assert torch.equal(getattr(wa, name), getattr(wb, name))
    assert not np.allclose(a.splits["test"].actual, b.splits["test"].actual)


def test_training_windows_end_before_the_validation_part(tmp_path):
    data = Forecast().build_data(config(series_csv(tmp_path / "a.csv")), TrainConfig(batch_size=8))
    w, p = data.train.windows, data.plan
    last_origin = p.context + len(w) - 1                    # window_step 1
    assert last_origin + p.horizon == p.n_fit
    assert data.splits["valid"].origins[0] == p.n_fit and data.splits["test"].origins[0] == p.n_train


def test_windows_are_relative_to_the_last_context_value():
    z = np.arange(10.0)
    w = make_windows(z, np.zeros((10, 0)), np.array([4]), 3, 2)
    assert w.past.tolist() == [[-2.0, -1.0, 0.0]] and w.future.tolist() == [[1.0, 2.0]] and w.level.item() == 3.0


def test_a_backtest_forecast_does_not_read_the_values_it_forecasts():
    torch.manual_seed(0)
    model = DirectForecaster(0, 3, hidden_size=8)
    scaler = SeriesScaler(transform="none", mean=0.0, std=1.0, cov_mean=np.zeros(0), cov_std=np.ones(0))
    z = np.sin(np.arange(30.0))

    def forecasts(values):                                   # origins 20 and 22, context 8, horizon 3
        return network_forecasts(model, values, np.zeros((30, 0)), np.array([20, 22]), 8, 3, scaler,
                                 (0.1, 0.5, 0.9))

    first = forecasts(z)
    late, early = z.copy(), z.copy()
    late[22:] += 100.0                                       # what both origins forecast (or later)
    early[20:] += 100.0                                      # origin 22's context now differs
    assert np.allclose(forecasts(late), first)
    moved = forecasts(early)
    assert np.allclose(moved[0], first[0]) and not np.allclose(moved[1], first[1])
