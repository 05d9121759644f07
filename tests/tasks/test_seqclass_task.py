"""The seqclass task end to end: `--quick` on JapaneseVowels, a user CSV, predict, plots, no test leakage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.cli.runs import load_trained
from rnnkit.tasks import get_task
from rnnkit.tasks.seqclass.config import SeqClassConfig
from rnnkit.training.config import TrainConfig

QUIET = ["--threads", "1", "--no-progress", "--no-tensorboard", "--no-plots"]


def gestures_csv(path, n=40, test_scale=1.0, split=True, label=True, seed=0):
    """Two classes of variable-length 2-channel series: rising or falling ramps plus noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        cls = i % 2
        length = int(rng.integers(5, 15))
        ramp = np.linspace(0, 1, length) * (1 if cls else -1)
        part = "test" if i >= 3 * n // 4 else "train"
        scale = test_scale if part == "test" else 1.0
        for t in range(length):
            cells = [f"s{i}", str(t), f"{scale * (ramp[t] + 0.1 * rng.normal()):.4f}", f"{rng.normal():.4f}"]
            cells += [["down", "up"][cls]] if label else []
            cells += [part] if split else []
            rows.append(",".join(cells))
    header = "series_id,time,x,y" + (",label" if label else "") + (",split" if split else "")
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_quick_japanese_vowels_run_is_far_above_chance_and_evaluates_the_same(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--task", "seqclass", "--quick", "--out", str(out), *QUIET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"]["accuracy"] >= 0.85                      # chance: 1/9
    assert metrics["baselines"]["1nn_dtw"]["accuracy"] > 0.9
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--no-baselines", "--threads", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["accuracy"] == metrics["model"]["accuracy"]


@pytest.mark.slow
def test_user_csv_trains_predicts_and_plots(tmp_path, capsys):
    data = gestures_csv(tmp_path / "gestures.csv")
    out = tmp_path / "run"
    assert main(["train", "--task", "seqclass", "--data", str(data), "--hidden", "8", "--epochs", "10",
                 "--batch-size", "8", "--valid-fraction", "0.2", "--out", str(out), *QUIET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"]["accuracy"] >= 0.8 and metrics["baselines"]["1nn_euclidean"]["accuracy"] >= 0.8
    trained = load_trained(out, "cpu")
    assert trained.meta["classes"] == ["down", "up"] and trained.meta["channels"] == ["x", "y"]
    task = get_task("seqclass")
    paths = task.report(trained.model, task.build_data(trained.task_cfg, trained.train_cfg, trained.meta), "test",
                        out)
    assert [p.name for p in paths] == ["confusion_model_test.png", "confusion_1nn_dtw_test.png",
                                       "confusion_1nn_euclidean_test.png"]
    capsys.readouterr()
    unlabelled = gestures_csv(tmp_path / "new.csv", n=4, split=False, label=False, seed=5)
    assert main(["predict", "--checkpoint", str(out), "--input", str(unlabelled), "--threads", "1"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["series_id"] for r in results] == ["s0", "s1", "s2", "s3"]
    assert all(r["predicted"] in ("down", "up") and r["label"] is None for r in results)


def test_normalisation_never_sees_the_test_series(tmp_path):
    task, train = get_task("seqclass"), TrainConfig(batch_size=8)
    a = task.build_data(SeqClassConfig(data=str(gestures_csv(tmp_path / "a.csv"))), train)
    b = task.build_data(SeqClassConfig(data=str(gestures_csv(tmp_path / "b.csv", test_scale=1000.0))), train)
    assert a.meta["scaler"] == b.meta["scaler"]
    assert not np.allclose(a.splits["test"].series[0], b.splits["test"].series[0])


def test_validation_series_are_held_out_of_the_training_batches(tmp_path):
    data = get_task("seqclass").build_data(SeqClassConfig(data=str(gestures_csv(tmp_path / "a.csv")),
                                                          valid_fraction=0.2), TrainConfig(batch_size=8))
    assert len(data.train.series) + len(data.splits["valid"]) == len(data.reference) == 30


def test_malformed_csv_stops_the_cli_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("series_id,time,x,label\na,0,1,p\na,1,oops,p\n", encoding="utf-8")
    assert main(["train", "--task", "seqclass", "--data", str(bad), "--out", str(tmp_path / "run"), *QUIET]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{bad}, line 3, column 'x': 'oops' is not a number" in err


def test_fill_is_refused_for_an_embedded_set():
    with pytest.raises(Exception, match="--fill repairs a CSV file"):
        SeqClassConfig(fill="interpolate")


def test_a_single_class_is_refused_in_one_line(tmp_path, capsys):
    data = tmp_path / "one.csv"
    data.write_text(gestures_csv(tmp_path / "two.csv").read_text().replace(",down,", ",up,"), encoding="utf-8")
    assert main(["train", "--task", "seqclass", "--data", str(data), "--out", str(tmp_path / "run"), *QUIET]) == 2
    assert "the training series have one class ('up'); a classifier needs at least 2" in capsys.readouterr().err
