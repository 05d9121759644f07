"""forecast: multi-step probabilistic forecasting of a real series with an rnnkit LSTM/GRU.

    rnnkit train --task forecast                          # airline passengers, 12 months ahead
    rnnkit train --task forecast --data elecdemand        # half-hourly demand + temperature, a day ahead
    rnnkit train --task forecast --data sales.csv --target sales --fill interpolate --horizon 14
    rnnkit predict --checkpoint runs/forecast-... --input history.csv

Data: `data` (embedded series) and `csv_format` (your CSV). Split, in time order: training part |
validation part | test part. The scaler and the training windows use the training part only; the
validation backtest picks the best epoch; the test backtest gives the reported metrics. Networks: `model`
(direct or autoregressive, Gaussian or quantile head). Backtest: `backtest` (rolling origin, parameters
fixed after training, actuals before each origin visible). Baselines in the same run and on the same
origins: naive, seasonal naive, ETS, ARIMA (`baselines`), fitted on everything before the test part
(training and validation parts: more than the network's weights see). Metrics:
MASE (primary), sMAPE, MAE, RMSE, interval coverage (`metrics`). `report` draws the forecasts with
intervals against the actuals and the error by horizon step.
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from rnnkit.tasks.base import TaskConfig, TaskData
from rnnkit.tasks.forecast.backtest import actuals, baseline_forecasts, network_forecasts
from rnnkit.tasks.forecast.baselines import make_baselines
from rnnkit.tasks.forecast.calibration import interval_scale, rescale
from rnnkit.tasks.forecast.config import ForecastConfig, Plan, plan
from rnnkit.tasks.forecast.csv_format import read_forecast_input, read_series_csv
from rnnkit.tasks.forecast.data import EMBEDDED, TimeSeries, load_embedded, step_index, step_text
from rnnkit.tasks.forecast.metrics import mase_scale, summary
from rnnkit.tasks.forecast.model import build_forecaster, interval_levels
from rnnkit.tasks.forecast.plots import plot_error_by_horizon, plot_forecasts
from rnnkit.tasks.forecast.scaling import SeriesScaler, resolve_transform
from rnnkit.tasks.forecast.windows import WindowBatches, known_features, make_windows, rolling_origins
from rnnkit.training.bptt import FullBPTT
from rnnkit.training.config import TrainConfig
from rnnkit.training.errors import DataError


@dataclass
class Part:
    """One backtest split: its origins, the actuals they are scored on, and the MASE scale."""

    origins: np.ndarray         # (O,)
    actual: np.ndarray          # (O, H) original units
    scale: float                # in-sample seasonal-naive MAE of everything before the part


@dataclass
class ForecastData(TaskData):
    series: TimeSeries | None = None
    plan: Plan | None = None
    scaler: SeriesScaler | None = None
    z: np.ndarray = field(default_factory=lambda: np.zeros(0))        # (N,) scaled target
    known: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (N, F) known inputs
    baseline_names: tuple[str, ...] = ()
    fitted: dict[tuple[str, int], Any] = field(default_factory=dict)    # baselines by (name, end of their data)


def load_series(cfg: ForecastConfig, path: str | None = None) -> TimeSeries:
    """The embedded series or the CSV that `cfg.data` (or `path`) names."""
    source = path or cfg.data
    if source in EMBEDDED:
        series = load_embedded(source)
        if cfg.season is not None:
            series.season = cfg.season
        return series
    if not Path(source).exists() and Path(source).suffix == "":
        raise DataError(f"{source}: no such file, and not an embedded series ({', '.join(EMBEDDED)})")
    return read_series_csv(source, time_column=cfg.time_column, target=cfg.target, covariates=cfg.covariate_list,
                           fill=cfg.fill, season=cfg.season)


def check_fits_model(series: TimeSeries, meta: dict[str, Any], source: str | None) -> None:
    """Refuse a series that is not the kind the model was trained on: another target, other covariates,
    or another time step (a daily model fed hourly data would forecast the wrong thing without a word)."""
    where = source or series.name
    if series.target_name != meta["target"]:
        raise DataError(f"{where}: the target column is {series.target_name!r}, but the model forecasts "
                        f"{meta['target']!r}; rename the column or train a model on this data")
    if list(series.covariate_names) != list(meta["covariates"]):
        raise DataError(f"{where}: covariates {list(series.covariate_names)} do not match the model's "
                        f"{meta['covariates']}")
    if "unit" in meta and (series.unit != meta["unit"] or not math.isclose(series.step, meta["step"], rel_tol=1e-6)):
        raise DataError(f"{where}: one step is {step_text(series.unit, series.step)}, but the model was trained "
                        f"on steps of {step_text(meta['unit'], meta['step'])}")


def model_inputs(series: TimeSeries, scaler: SeriesScaler, season: int, extra_covariates: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(z (N,), known (N [+ F], features)): the scaled target and the known inputs, optionally extended by
    the covariates of future steps."""
    cov, times = series.covariates, series.time
    if extra_covariates is not None and len(extra_covariates):
        cov = np.concatenate([cov, extra_covariates])
        times = np.concatenate([times, series.future_times(len(extra_covariates))])
    steps = step_index(times, series.unit, series.step)
    return scaler.target(series.target), known_features(scaler.covariates(cov), season, steps)


class Forecast:
    """The `forecast` task (see the module docstring)."""

    name: ClassVar[str] = "forecast"
    description: ClassVar[str] = ("multi-step probabilistic forecasting with rolling-origin backtests (default: "
                                  "airline passengers; also elecdemand or your CSV)")
    primary: ClassVar[str] = "mase"
    higher_is_better: ClassVar[bool] = False
    config_class: ClassVar[type[TaskConfig]] = ForecastConfig

    def train_defaults(self) -> dict[str, Any]:
        return {"bptt": "full", "batch_size": 16, "epochs": 100, "lr": 3e-3, "schedule": "cosine", "eval_every": 0,
                "checkpoint_every": 1000}

    def quick(self) -> dict[str, dict[str, Any]]:
        return {"task": {"baselines": "naive,seasonal_naive,ets", "samples": 100},
                "train": {"epochs": 40}}

    # ---- data ---------------------------------------------------------------------------------------
    def build_data(self, cfg: ForecastConfig, train: TrainConfig, meta: dict[str, Any] | None = None
                   ) -> ForecastData:
        series = load_series(cfg)
        if meta is not None:                  # a trained model: its horizon, context, scaling and inputs
            check_fits_model(series, meta, cfg.data)
            cfg = cfg.replace(horizon=meta["horizon"], context=meta["context"])
            scaler = SeriesScaler.from_state_dict(meta["scaler"])
        p = plan(cfg, len(series), series.season)
        if meta is None:
            transform = resolve_transform(cfg.transform, series.target)
            scaler = SeriesScaler.fit(series.target[: p.n_fit], series.covariates[: p.n_fit], transform)
            meta = {"strategy": cfg.strategy, "distribution": cfg.distribution, "levels": interval_levels(cfg.interval),
                    "horizon": p.horizon, "context": p.context, "season": series.season, "samples": cfg.samples,
                    "scaler": scaler.state_dict(), "target": series.target_name,
                    "covariates": list(series.covariate_names), "time_column": cfg.time_column,
                    "unit": series.unit, "step": float(series.step),
                    "target_column": cfg.target, "fill": cfg.fill,
                    # the validation backtest's layout, which predict repeats on the end of its input series
                    "calibration": None if cfg.calibrate == "none" else
                    {"steps": p.n_train - p.n_fit, "origin_step": p.origin_step, "mode": cfg.calibrate}}
        z, known = model_inputs(series, scaler, meta["season"])
        windows = make_windows(z[: p.n_fit], known, np.arange(p.context, p.n_fit - p.horizon + 1, p.window_step),
                               p.context, p.horizon)
        n = len(series)
        splits = {}
        for name, lo, hi in (("valid", p.n_fit, p.n_train), ("test", p.n_train, n)):
            origins = rolling_origins(lo, hi, p.horizon, p.origin_step)
            splits[name] = Part(origins, actuals(series.target, origins, p.horizon),
                                mase_scale(series.target[:lo], series.season))
        first, last = series.format(series.time[0]), series.format(series.time[-1])
        summary_line = (f"{series.name}: {n} steps ({first} .. {last}), "
                        f"season {series.season}, covariates {list(series.covariate_names) or 'none'}; train "
                        f"{p.n_fit} ({len(windows)} windows), valid {p.n_train - p.n_fit}, test {n - p.n_train} "
                        f"({len(splits['test'].origins)} origins x {p.horizon} steps); transform "
                        f"{scaler.transform}; {series.credit}")
        return ForecastData(WindowBatches(windows, train.batch_size, train.seed), meta, splits, summary_line, series,
                            p, scaler, z, known, cfg.baseline_names)

    # ---- model and training -------------------------------------------------------------------------
    def build_model(self, cfg: ForecastConfig, meta: dict[str, Any]) -> nn.Module:
        features = len(meta["covariates"]) + (2 if meta["season"] > 1 else 0)
        return build_forecaster(meta["strategy"], features, meta["horizon"], distribution=meta["distribution"],
                                levels=tuple(meta["levels"]), cell=cfg.cell, hidden_size=cfg.hidden,
                                num_layers=cfg.layers, dropout=cfg.dropout, engine=cfg.engine)

    def stepper(self, cfg: ForecastConfig, train: TrainConfig) -> FullBPTT:
        return FullBPTT(lambda model, batch: model.loss_sum(batch))

    # ---- metrics ------------------------------------------------------------------------------------
    def forecasts(self, model: nn.Module, data: ForecastData, split: str) -> np.ndarray:
        """(O, H, 3) the model's backtest quantiles (lower, median, upper) on a split; outside the validation
        split with the interval rescaled on the validation backtest (`calibration`) unless --calibrate none."""
        raw = self._raw_forecasts(model, data, split)
        if data.meta.get("calibration") is None or split == "valid":
            return raw
        levels = data.meta["levels"]
        scale = interval_scale(data.splits["valid"].actual, self._raw_forecasts(model, data, "valid"),
                               levels[2] - levels[0], data.meta["calibration"]["mode"])
        return rescale(raw, scale)

    def _raw_forecasts(self, model: nn.Module, data: ForecastData, split: str) -> np.ndarray:
        part, m = data.splits[split], data.meta
        return network_forecasts(model, data.z, data.known, part.origins, m["context"], m["horizon"], data.scaler,
                                 tuple(m["levels"]), samples=m["samples"])

    def evaluate(self, model: nn.Module, data: ForecastData, split: str) -> dict[str, float]:
        part = data.splits[split]
        return summary(part.actual, self.forecasts(model, data, split), part.scale)

    def baseline_forecasts(self, data: ForecastData, split: str) -> dict[str, np.ndarray]:
        """(O, H, 3) quantiles per classical baseline, each fitted once on everything before the split (for
        the test split: the training and the validation part, more than the network's weights see)."""
        p, part, s = data.plan, data.splits[split], data.series
        start = int(part.origins[0])
        g = data.scaler.transformed(s.target)
        out = {}
        for b in make_baselines(data.baseline_names, s.season, p.classical_history):
            if (b.name, start) not in data.fitted:
                b.fit(g[:start], s.covariates[:start])
                data.fitted[b.name, start] = b
            out[b.name] = baseline_forecasts(data.fitted[b.name, start], g, s.covariates, part.origins, p.horizon,
                                             data.scaler, tuple(data.meta["levels"]))
        return out

    def baselines(self, data: ForecastData, split: str) -> dict[str, dict[str, float]]:
        part = data.splits[split]
        return {name: summary(part.actual, q, part.scale) for name, q in self.baseline_forecasts(data, split).items()}

    def report(self, model: nn.Module, data: ForecastData, split: str, out: str | Path) -> list[Path]:
        """plots/forecast_<split>.png, plots/mase_by_horizon_<split>.png and forecasts_<split>.csv in `out`."""
        out = Path(out)
        part, s = data.splits[split], data.series
        forecasts = {"model": self.forecasts(model, data, split), **self.baseline_forecasts(data, split)}
        scores = {k: summary(part.actual, q, part.scale)["mase"] for k, q in forecasts.items()}
        best = min((k for k in forecasts if k != "model"), key=scores.get, default=None)
        shown = {k: forecasts[k] for k in ("model", "seasonal_naive", best) if k in forecasts}
        interval = data.meta["levels"][2] - data.meta["levels"][0]
        paths = [plot_forecasts(out / "plots" / f"forecast_{split}.png", s.time, s.target, part.origins,
                                data.plan.horizon, shown, scores, interval,
                                f"{s.name}: {split} backtest, {data.meta['strategy']} {data.meta['distribution']} "
                                f"model vs baselines"),
                 plot_error_by_horizon(out / "plots" / f"mase_by_horizon_{split}.png", part.actual, forecasts,
                                       part.scale, f"{s.name}: MASE by horizon step ({split})")]
        paths.append(write_forecasts(out / f"forecasts_{split}.csv", s, part, forecasts))
        return paths

    # ---- using a trained model ----------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, model: nn.Module, meta: dict[str, Any], inputs: list[str]) -> list[dict[str, Any]]:
        """Per input (a CSV in the training format, or an embedded series' name): the next H steps after its
        last target value, with the interval. With covariates, the CSV's last H rows leave the target empty
        and give the covariates of the steps to forecast."""
        scaler, H, L = SeriesScaler.from_state_dict(meta["scaler"]), meta["horizon"], meta["context"]
        results = []
        for source in inputs:
            if source in EMBEDDED:
                series, future = load_embedded(source), np.zeros((0, len(meta["covariates"])))
            else:
                series, future = read_forecast_input(source, time_column=meta["time_column"],
                                                     target=meta["target_column"], covariates=meta["covariates"],
                                                     fill=meta["fill"], season=meta["season"])
            check_fits_model(series, meta, source)
            if len(series) < L:
                raise DataError(f"{source}: {len(series)} observed steps; the model reads the last {L}")
            if meta["covariates"] and len(future) < H:
                raise DataError(f"{source}: the model uses covariates {meta['covariates']}, so the input must be a "
                                f"CSV whose last {H} rows leave the target empty and give the covariates of the "
                                f"steps to forecast (found {len(future)} such rows)")
            if len(future) > H:
                print(f"note: {source}: {len(future)} rows leave the target empty; the model forecasts {H} steps, "
                      f"so the last {len(future) - H} are not used", file=sys.stderr, flush=True)
            ahead = future[:H] if meta["covariates"] else np.zeros((H, 0))
            z, known = model_inputs(series, scaler, meta["season"], ahead)
            levels = tuple(meta["levels"])
            q = network_forecasts(model, z, known, np.array([len(series)]), L, H, scaler, levels,
                                  samples=meta["samples"])[0]
            scale = _predict_scale(model, meta, series, z, known, scaler)
            if scale is not None:
                q = rescale(q, scale)
            times = series.future_times(H)
            results.append({"input": source, "last_observed": series.format(series.time[-1]), "target": meta["target"],
                            "interval": round(levels[2] - levels[0], 4),
                            "interval_scale": None if scale is None else round(scale, 4),
                            "forecast": [{"time": series.format(t), "lower": round(float(a), 6),
                                          "median": round(float(b), 6), "upper": round(float(c), 6)}
                                         for t, (a, b, c) in zip(times, q, strict=True)]})
        return results


def _predict_scale(model: nn.Module, meta: dict[str, Any], series: TimeSeries, z: np.ndarray, known: np.ndarray,
                   scaler: SeriesScaler) -> float | None:
    """The conformal interval scale from a backtest laid out like the run's validation part, on the last
    observed steps of the input; None without calibration or when the input is too short for it."""
    cal, H, L = meta.get("calibration"), meta["horizon"], meta["context"]
    if cal is None:
        return None
    n = len(series)
    start = max(n - cal["steps"], L)
    if n - start < H:
        return None
    origins = rolling_origins(start, n, H, cal["origin_step"])
    levels = tuple(meta["levels"])
    raw = network_forecasts(model, z, known, origins, L, H, scaler, levels, samples=meta["samples"])
    return interval_scale(actuals(series.target, origins, H), raw, levels[2] - levels[0], cal["mode"])


def write_forecasts(path: Path, series: TimeSeries, part: Part, forecasts: dict[str, np.ndarray]) -> Path:
    """Every backtest forecast as rows: origin, step, time, actual, then lower/median/upper per forecaster."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(forecasts)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["origin_time", "step", "time", "actual", *[f"{n}_{q}" for n in names
                                                                for q in ("lower", "median", "upper")]])
        for i, o in enumerate(part.origins):
            for h in range(part.actual.shape[1]):
                w.writerow([series.format(series.time[o]), h + 1, series.format(series.time[o + h]),
                            f"{part.actual[i, h]:.6g}",
                            *[f"{forecasts[n][i, h, k]:.6g}" for n in names for k in range(3)]])
    return path

