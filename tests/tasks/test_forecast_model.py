"""The forecasting networks: the autoregressive rollout, the heads' quantiles and losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.tasks.forecast.model import (
    MIN_SCALE,
    AutoregressiveForecaster,
    DirectForecaster,
    build_forecaster,
    gaussian_quantiles,
    interval_levels,
    pinball_sum,
)
from rnnkit.tasks.forecast.windows import Windows, make_windows

LEVELS = (0.1, 0.5, 0.9)


def windows(batch=3, context=6, horizon=4, features=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Windows(torch.randn(batch, context, generator=g), torch.randn(batch, horizon, generator=g),
                   torch.randn(batch, context + horizon, features, generator=g), torch.randn(batch, generator=g))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rollout_equals_teacher_forcing_on_the_path_it_sampled(cell):
    """Step-by-step rollout with the carried state == one teacher-forced pass over [context, sampled path]."""
    torch.manual_seed(0)
    model = AutoregressiveForecaster(2, 4, cell=cell, hidden_size=8).eval()
    w = windows()
    samples = 5
    paths = model.sample_paths(w, samples, torch.Generator().manual_seed(7))          # (B, S, H)
    rep = Windows(w.past.repeat_interleave(samples, 0), paths.reshape(-1, 4), w.known.repeat_interleave(samples, 0),
                  w.level.repeat_interleave(samples))
    out = model(rep)[:, -4:]                                                           # predictions of the horizon
    mean, scale = out[..., 0], F.softplus(out[..., 1]) + MIN_SCALE
    g = torch.Generator().manual_seed(7)
    noise = torch.stack([torch.randn(3 * samples, generator=g) for _ in range(4)], 1)  # the rollout's draws, in order
    torch.testing.assert_close(mean + scale * noise, paths.reshape(-1, 4), rtol=1e-5, atol=1e-5)


def test_rollout_starts_from_the_last_context_value_and_ignores_the_future():
    torch.manual_seed(0)
    model = AutoregressiveForecaster(2, 4, hidden_size=8).eval()
    w = windows()
    other = Windows(w.past, torch.full_like(w.future, float("nan")), w.known, w.level)
    a = model.quantiles(w, LEVELS, 50, torch.Generator().manual_seed(1))
    b = model.quantiles(other, LEVELS, 50, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    assert (a[..., 0] <= a[..., 1]).all() and (a[..., 1] <= a[..., 2]).all()


def test_teacher_forcing_predicts_every_step_after_the_first():
    model = AutoregressiveForecaster(2, 4, hidden_size=8)
    w = windows()
    assert model(w).shape == (3, 6 + 4 - 1, 2)
    loss, count = model.loss_sum(w)
    assert count == 3 * 9 and torch.isfinite(loss)


def test_direct_model_emits_the_whole_horizon_at_once():
    model = DirectForecaster(2, 4, distribution="quantile", levels=LEVELS, hidden_size=8).eval()
    w = windows()
    q = model.quantiles(w, LEVELS)
    assert q.shape == (3, 4, 3) and (q.diff(dim=-1) >= 0).all()                # sorted: never crossing
    assert model.loss_sum(w)[1] == 12
    with pytest.raises(ValueError, match="predicts levels"):
        model.quantiles(w, (0.05, 0.5, 0.95))


def test_direct_model_does_not_read_the_future_targets():
    model = DirectForecaster(2, 4, hidden_size=8).eval()
    w = windows()
    other = Windows(w.past, w.future + 100, w.known, w.level)
    torch.testing.assert_close(model(w), model(other))


def test_gaussian_quantiles_and_interval_levels():
    q = gaussian_quantiles(torch.tensor([0.0]), torch.tensor([2.0]), interval_levels(0.8))
    torch.testing.assert_close(q, torch.tensor([[-2 * 1.2815516, 0.0, 2 * 1.2815516]]))
    assert interval_levels(0.9) == pytest.approx((0.05, 0.5, 0.95))


def test_pinball_loss_by_hand():
    quantiles = torch.tensor([[1.0, 2.0, 3.0]])
    levels = torch.tensor(LEVELS)
    # y = 2.5: diffs 1.5, 0.5, -0.5 -> 0.1*1.5 + 0.5*0.5 + 0.1*0.5
    assert pinball_sum(quantiles, torch.tensor([2.5]), levels).item() == pytest.approx(0.15 + 0.25 + 0.05)


def test_autoregressive_quantile_head_is_refused():
    with pytest.raises(ValueError, match="needs distribution 'gaussian'"):
        build_forecaster("autoregressive", 0, 3, distribution="quantile", levels=LEVELS, cell="lstm",
                         hidden_size=4, num_layers=1, dropout=0.0)


def test_make_windows_refuses_origins_without_enough_context():
    with pytest.raises(ValueError, match="fewer than context=5"):
        make_windows(np.zeros(20), np.zeros((20, 0)), np.array([3]), 5, 2)
