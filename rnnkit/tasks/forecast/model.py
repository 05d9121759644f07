"""The two forecasting networks and their probabilistic heads.

    direct          rnnkit `ManyToOne` reads the window [past values, then H blank steps] with a flag that
                    marks the blank (future) steps and the known inputs at every step, and its head emits
                    all H steps at once: H x (mean, scale) or H x quantiles. No error feeds back.
    autoregressive  rnnkit `ManyToMany` reads [previous value, known inputs] at each step and emits the
                    next value's Gaussian (mean, scale). It trains with teacher forcing on whole windows;
                    it forecasts by rolling out: feed each sampled value back as the next input, many
                    sample paths at once, and read the quantiles off the paths.

Heads: `gaussian` (trained by negative log-likelihood; any quantile follows from mean and scale) or
`quantile` (trained by the pinball loss at fixed levels, sorted at prediction so they never cross;
direct strategy only, since a rollout needs values to sample and feed back).
All values are scaled and relative to the window's level (see `windows.py`).
"""

from __future__ import annotations

from statistics import NormalDist

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.architectures import ManyToMany, ManyToOne
from rnnkit.architectures.factory import map_state
from rnnkit.tasks.forecast.windows import Windows

STRATEGIES = ("direct", "autoregressive")
DISTRIBUTIONS = ("gaussian", "quantile")
MIN_SCALE = 1e-3     # floor of the Gaussian scale (scaled units): keeps the likelihood bounded


def interval_levels(interval: float) -> tuple[float, float, float]:
    """(lower, median, upper) quantile levels of a central interval, e.g. 0.8 -> (0.1, 0.5, 0.9)."""
    if not 0 < interval < 1:
        raise ValueError(f"interval must lie in (0, 1), got {interval}")
    return ((1 - interval) / 2, 0.5, (1 + interval) / 2)


def gaussian_nll_sum(mean: Tensor, scale: Tensor, y: Tensor) -> Tensor:
    """Sum of -log N(y; mean, scale^2) over all elements, without the constant log(2 pi)/2."""
    return (torch.log(scale) + 0.5 * ((y - mean) / scale) ** 2).sum()


def pinball_sum(quantiles: Tensor, y: Tensor, levels: Tensor) -> Tensor:
    """Sum over elements and levels of the pinball loss: q_pred (..., Q) against y (...)."""
    diff = y.unsqueeze(-1) - quantiles                          # (..., Q)
    return torch.maximum(levels * diff, (levels - 1) * diff).sum()


def gaussian_quantiles(mean: Tensor, scale: Tensor, levels: tuple[float, ...]) -> Tensor:
    """(..., Q) quantiles of N(mean, scale^2)."""
    z = torch.tensor([NormalDist().inv_cdf(q) for q in levels], dtype=mean.dtype, device=mean.device)
    return mean.unsqueeze(-1) + scale.unsqueeze(-1) * z


class DirectForecaster(nn.Module):
    """Window -> all H steps at once (many-to-one with an H x P head)."""

    def __init__(self, known_features: int, horizon: int, *, distribution: str = "gaussian",
                 levels: tuple[float, ...] = (0.1, 0.5, 0.9), cell: str = "lstm", hidden_size: int = 64,
                 num_layers: int = 1, dropout: float = 0.0, engine: str = "auto") -> None:
        super().__init__()
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
        self.horizon, self.distribution, self.levels = horizon, distribution, tuple(levels)
        self.params = 2 if distribution == "gaussian" else len(levels)
        self.net = ManyToOne(input_size=2 + known_features, output_size=horizon * self.params, cell=cell,
                             hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, pooling="last",
                             layer_options={"engine": engine})
        self.register_buffer("level_tensor", torch.tensor(self.levels), persistent=False)

    def forward(self, w: Windows) -> Tensor:
        """-> (B, H, P): gaussian (mean, raw scale) or quantiles (unsorted)."""
        B, L = w.past.shape
        values = torch.cat([w.past, w.past.new_zeros(B, self.horizon)], 1)                   # (B, L+H)
        flag = torch.cat([w.past.new_zeros(B, L), w.past.new_ones(B, self.horizon)], 1)       # (B, L+H)
        x = torch.cat([values.unsqueeze(-1), flag.unsqueeze(-1), w.known], -1)               # (B, L+H, 2+F)
        return self.net(x).view(B, self.horizon, self.params)

    def loss_sum(self, w: Windows) -> tuple[Tensor, int]:
        out = self(w)
        if self.distribution == "gaussian":
            return gaussian_nll_sum(out[..., 0], F.softplus(out[..., 1]) + MIN_SCALE, w.future), w.future.numel()
        return pinball_sum(out, w.future, self.level_tensor), w.future.numel()

    @torch.no_grad()
    def quantiles(self, w: Windows, levels: tuple[float, ...], samples: int = 0,
                  generator: torch.Generator | None = None) -> Tensor:
        """(B, H, Q) forecast quantiles at `levels` (relative to each window's level)."""
        out = self(w)
        if self.distribution == "gaussian":
            return gaussian_quantiles(out[..., 0], F.softplus(out[..., 1]) + MIN_SCALE, levels)
        if tuple(levels) != self.levels:
            raise ValueError(f"this quantile head predicts levels {self.levels}, asked for {tuple(levels)}")
        return out.sort(-1).values


class AutoregressiveForecaster(nn.Module):
    """One step at a time (many-to-many): [z_{t-1}, known_t] -> N(z_t), rolled out over the horizon."""

    def __init__(self, known_features: int, horizon: int, *, cell: str = "lstm", hidden_size: int = 64,
                 num_layers: int = 1, dropout: float = 0.0, engine: str = "auto") -> None:
        super().__init__()
        self.horizon, self.distribution = horizon, "gaussian"
        self.net = ManyToMany(input_size=1 + known_features, output_size=2, cell=cell, hidden_size=hidden_size,
                              num_layers=num_layers, dropout=dropout, layer_options={"engine": engine})

    def step_inputs(self, previous: Tensor, known: Tensor) -> Tensor:
        """previous (B, T) values and known (B, T, F) inputs -> (B, T, 1+F)."""
        return torch.cat([previous.unsqueeze(-1), known], -1)

    def forward(self, w: Windows) -> Tensor:
        """Teacher forcing over the whole window: (B, L+H-1, 2) predictions of steps 1 .. L+H-1."""
        values = torch.cat([w.past, w.future], 1)                                # (B, L+H)
        out, _ = self.net(self.step_inputs(values[:, :-1], w.known[:, 1:]))      # (B, L+H-1, 2)
        return out

    def loss_sum(self, w: Windows) -> tuple[Tensor, int]:
        """Gaussian NLL of every step after the first, context and horizon alike."""
        out = self(w)
        target = torch.cat([w.past, w.future], 1)[:, 1:]
        return gaussian_nll_sum(out[..., 0], F.softplus(out[..., 1]) + MIN_SCALE, target), target.numel()

    @torch.no_grad()
    def sample_paths(self, w: Windows, samples: int, generator: torch.Generator | None = None) -> Tensor:
        """(B, S, H) sampled futures: read the context, then feed each sampled value back in."""
        B, L = w.past.shape
        if L < 2:
            raise ValueError("the autoregressive rollout needs context >= 2")
        _, state = self.net(self.step_inputs(w.past[:, :-1], w.known[:, 1:L]))      # state after step L-1
        state = map_state(state, lambda s: s.repeat_interleave(samples, dim=1))     # (layers, B*S, H)
        known = w.known[:, L:].repeat_interleave(samples, dim=0)                   # (B*S, H, F)
        previous = w.past[:, -1].repeat_interleave(samples)                        # (B*S,): z_{o-1} - level = 0
        paths = []
        for h in range(self.horizon):
            out, state = self.net(self.step_inputs(previous.unsqueeze(1), known[:, h: h + 1]), state=state)
            mean, scale = out[:, 0, 0], F.softplus(out[:, 0, 1]) + MIN_SCALE
            noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
            previous = mean + scale * noise
            paths.append(previous)
        return torch.stack(paths, 1).view(B, samples, self.horizon)

    @torch.no_grad()
    def quantiles(self, w: Windows, levels: tuple[float, ...], samples: int = 200,
                  generator: torch.Generator | None = None) -> Tensor:
        """(B, H, Q) empirical quantiles of `samples` rolled-out paths."""
        paths = self.sample_paths(w, samples, generator)                         # (B, S, H)
        q = torch.tensor(levels, dtype=paths.dtype, device=paths.device)
        return torch.quantile(paths, q, dim=1).permute(1, 2, 0)                  # (B, H, Q)


def build_forecaster(strategy: str, known_features: int, horizon: int, *, distribution: str,
                     levels: tuple[float, ...], cell: str, hidden_size: int, num_layers: int, dropout: float,
                     engine: str = "auto") -> DirectForecaster | AutoregressiveForecaster:
    """The network a strategy names (see the module docstring)."""
    if strategy == "direct":
        return DirectForecaster(known_features, horizon, distribution=distribution, levels=levels, cell=cell,
                                hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, engine=engine)
    if strategy == "autoregressive":
        if distribution != "gaussian":
            raise ValueError("the autoregressive strategy needs distribution 'gaussian': its rollout samples "
                             f"values to feed back, got {distribution!r}")
        return AutoregressiveForecaster(known_features, horizon, cell=cell, hidden_size=hidden_size,
                                        num_layers=num_layers, dropout=dropout, engine=engine)
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")


__all__ = ["DISTRIBUTIONS", "STRATEGIES", "AutoregressiveForecaster", "DirectForecaster", "build_forecaster",
           "gaussian_nll_sum", "gaussian_quantiles", "interval_levels", "pinball_sum"]
