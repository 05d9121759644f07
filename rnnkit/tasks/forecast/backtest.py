"""Rolling-origin backtest: forecast H steps from each origin of the test part, conditioning on the actuals.

Every forecaster, network or classical, is fitted once on the training part and then asked for a
forecast at each origin o = n_train, n_train + step, ... (as long as o + H fits in the series), seeing
the actual values before o only. All forecasts come back as (lower, median, upper) quantiles in the
series' original units, shaped (origins, H, 3), next to the actuals (origins, H).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from rnnkit.tasks.forecast.scaling import SeriesScaler
from rnnkit.tasks.forecast.windows import make_windows


@torch.no_grad()
def network_forecasts(model, z: np.ndarray, known: np.ndarray, origins: np.ndarray, context: int, horizon: int,
                      scaler: SeriesScaler, levels: tuple[float, ...], *, samples: int = 200, seed: int = 0,
                      batch_size: int = 256) -> np.ndarray:
    """(O, H, Q) quantiles in original units from a trained network; z is only read before each origin."""
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    out = []
    for start in range(0, len(origins), batch_size):
        chunk = origins[start: start + batch_size]
        w = make_windows(z[: chunk.max()], known, chunk, context, horizon)
        w = replace(w, future=torch.full_like(w.future, float("nan"))).to(device)   # the targets stay unseen
        q = model.quantiles(w, levels, samples=samples, generator=generator)        # (B, H, Q), relative
        out.append((q + w.level[:, None, None]).cpu().double().numpy())
    return scaler.inverse(np.concatenate(out))


def baseline_forecasts(baseline, g: np.ndarray, covariates: np.ndarray, origins: np.ndarray, horizon: int,
                       scaler: SeriesScaler, levels: tuple[float, ...]) -> np.ndarray:
    """(O, H, Q) quantiles in original units from a fitted classical baseline on the transformed series g."""
    q = [baseline.forecast(g[:o], covariates[:o], covariates[o: o + horizon], horizon, levels) for o in origins]
    return scaler.untransformed(np.stack(q))


def actuals(target: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(O, H) the values each origin's forecast is scored against."""
    return np.stack([target[o: o + horizon] for o in origins])
