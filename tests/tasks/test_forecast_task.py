"""The forecast task end to end: `--quick` on the airline series, a user CSV with covariates, predict, plots."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.cli.runs import load_trained
from rnnkit.tasks import get_task
from rnnkit.training.errors import DataError

QUIET = ["--threads", "1", "--no-progress", "--no-tensorboard", "--no-plots"]


def demand_csv(path, n=240, future=0):
    """Daily demand driven by a weekly cycle and a temperature covariate; `future` rows leave the target empty."""
    rng = np.random.default_rng(0)
    t = np.arange(n + future)
    temp = 20 + 5 * np.sin(2 * np.pi * t / 60) + rng.normal(0, 1, len(t))
    y = 50 + 8 * np.sin(2 * np.pi * t / 7) + 2 * (temp - 20) + rng.normal(0, 1, len(t))
    days = np.datetime64("2023-01-01") + t
    rows = [f"{d},{'' if i >= n else f'{v:.4f}'},{c:.4f}"
            for i, (d, v, c) in enumerate(zip(days, y, temp, strict=True))]
    path.write_text("date,demand,temp\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_quick_airline_run_beats_the_naive_forecasts_and_evaluates_the_same(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--task", "forecast", "--quick", "--out", str(out), *QUIET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    model, base = metrics["model"], metrics["baselines"]
    assert metrics["primary"] == "mase" and set(base) == {"naive", "seasonal_naive", "ets"}
    assert model["mase"] < 0.8 * base["seasonal_naive"]["mase"] and model["mase"] < 0.5 * base["naive"]["mase"]
    assert 0.3 < model["coverage"] <= 1.0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--no-baselines", "--threads", "1"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["model"]["mase"] == pytest.approx(model["mase"], rel=1e-6)
    assert main(["predict", "--checkpoint", str(out), "--input", "airline", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    steps = result["forecast"]
    assert len(steps) == 12 and steps[0]["time"] == "1961-01-01" and steps[-1]["time"] == "1961-12-01"
    assert all(s["lower"] <= s["median"] <= s["upper"] for s in steps)
    assert result["interval_scale"] >= 1.0            # --calibrate widen (the default) never narrows
    assert main(["evaluate", "--checkpoint", str(out), "--no-baselines", "--threads", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["interval_width"] >= model["interval_width"] * (1 - 1e-9)


@pytest.mark.slow
def test_calibration_widens_the_test_interval_by_what_the_validation_backtest_asks(tmp_path):
    from rnnkit.tasks.forecast.calibration import interval_scale

    out = tmp_path / "run"
    assert main(["train", "--task", "forecast", "--quick", "--calibrate", "conformal", "--out", str(out), *QUIET]) == 0
    trained = load_trained(out, "cpu")
    task = get_task("forecast")
    data = task.build_data(trained.task_cfg, trained.train_cfg, trained.meta)
    raw, calibrated = task._raw_forecasts(trained.model, data, "test"), task.forecasts(trained.model, data, "test")
    s = interval_scale(data.splits["valid"].actual, task.forecasts(trained.model, data, "valid"), 0.8)
    assert (calibrated[..., 1] == raw[..., 1]).all()                           # the median never moves
    assert calibrated[..., 2] - calibrated[..., 1] == pytest.approx(s * (raw[..., 2] - raw[..., 1]))


@pytest.mark.slow
def test_user_csv_with_covariates_trains_predicts_and_plots(tmp_path, capsys):
    data = demand_csv(tmp_path / "demand.csv")
    out = tmp_path / "run"
    args = ["train", "--task", "forecast", "--data", str(data), "--time-column", "date", "--strategy", "direct",
            "--distribution", "quantile", "--horizon", "7", "--context", "14", "--test-size", "28",
            "--valid-size", "14", "--hidden", "8", "--epochs", "2", "--baselines", "naive,seasonal_naive",
            "--out", str(out), *QUIET]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["model"]) == {"mase", "smape", "mae", "rmse", "coverage", "interval_width"}
    trained = load_trained(out, "cpu")
    assert trained.meta["covariates"] == ["temp"] and trained.meta["season"] == 7
    task = get_task("forecast")
    paths = task.report(trained.model, task.build_data(trained.task_cfg, trained.train_cfg, trained.meta),
                        "test", out)
    assert [p.name for p in paths] == ["forecast_test.png", "mase_by_horizon_test.png", "forecasts_test.csv"]
    assert all(p.stat().st_size > 0 for p in paths)
    capsys.readouterr()
    history = demand_csv(tmp_path / "history.csv", n=60, future=7)
    assert main(["predict", "--checkpoint", str(out), "--input", str(history), "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["last_observed"] == "2023-03-01" and len(result["forecast"]) == 7
    short = demand_csv(tmp_path / "short.csv", n=60, future=3)
    assert main(["predict", "--checkpoint", str(out), "--input", str(short), "--threads", "1"]) == 2
    assert "whose last 7 rows leave the target empty" in capsys.readouterr().err
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(history.read_text().replace("date,demand,temp", "date,load,temp"), encoding="utf-8")
    assert main(["predict", "--checkpoint", str(out), "--input", str(renamed), "--threads", "1"]) == 2
    assert "the target column is 'load', but the model forecasts 'demand'" in capsys.readouterr().err
    hourly = tmp_path / "hourly.csv"
    lines = history.read_text().splitlines()
    hours = np.datetime64("2023-01-01T00:00") + np.arange(len(lines) - 1).astype("timedelta64[h]")
    hourly.write_text("\n".join([lines[0], *(f"{h},{row.split(',', 1)[1]}" for h, row in zip(hours, lines[1:],
                                                                                            strict=True))]) + "\n")
    assert main(["predict", "--checkpoint", str(out), "--input", str(hourly), "--threads", "1"]) == 2
    assert "one step is 1 hour, but the model was trained on steps of 1 day" in capsys.readouterr().err


def test_malformed_csv_stops_the_cli_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,v\n2021-01-01,1\n2021-01-03,2\n2021-01-02,3\n", encoding="utf-8")
    assert main(["train", "--task", "forecast", "--data", str(bad), "--out", str(tmp_path / "run"), *QUIET]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"{bad}, line 4: timestamp 2021-01-02 is earlier than the one on line 3" in err


def test_too_short_series_is_a_config_error_naming_the_sizes(tmp_path, capsys):
    data = demand_csv(tmp_path / "demand.csv", n=40)
    assert main(["train", "--task", "forecast", "--data", str(data), "--time-column", "date",
                 "--out", str(tmp_path / "run"), *QUIET]) == 2
    assert "too few for context" in capsys.readouterr().err


def test_constant_series_is_refused_in_one_line_as_nothing_to_forecast(tmp_path, capsys):
    flat = tmp_path / "flat.csv"
    flat.write_text("time,y\n" + "".join(f"{i},5.0\n" for i in range(200)), encoding="utf-8")
    assert main(["train", "--task", "forecast", "--data", str(flat), "--out", str(tmp_path / "run"), *QUIET]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "constant (5 throughout): there is nothing to forecast" in err


def test_log_transform_of_a_series_with_negative_values_is_refused_in_one_line(tmp_path, capsys):
    walk = tmp_path / "walk.csv"
    values = np.cumsum(np.random.default_rng(0).normal(size=200)) - 50
    walk.write_text("time,y\n" + "".join(f"{i},{v:.3f}\n" for i, v in enumerate(values)), encoding="utf-8")
    assert main(["train", "--task", "forecast", "--data", str(walk), "--transform", "log",
                 "--out", str(tmp_path / "run"), *QUIET]) == 2
    assert "--transform log needs positive target values" in capsys.readouterr().err


def test_a_fractional_time_step_fits_its_model_despite_rounding(tmp_path):
    from rnnkit.tasks.forecast.csv_format import read_series_csv
    from rnnkit.tasks.forecast.task import check_fits_model

    whole, part = tmp_path / "whole.csv", tmp_path / "part.csv"
    whole.write_text("time,y\n" + "".join(f"{i / 10},{i % 7}\n" for i in range(1000)), encoding="utf-8")
    part.write_text("time,y\n" + "".join(f"{i / 10},{i % 7}\n" for i in range(60)), encoding="utf-8")
    trained, recent = read_series_csv(whole), read_series_csv(part)
    meta = {"target": "y", "covariates": [], "unit": trained.unit, "step": trained.step}
    check_fits_model(recent, meta, str(part))         # 0.1 and 0.1 with other last bits: the same step
    with pytest.raises(DataError, match=r"one step is 0.2, but the model was trained on steps of 0.1"):
        check_fits_model(dataclasses.replace(recent, step=0.2), meta, str(part))
