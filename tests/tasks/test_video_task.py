"""`rnnkit train --task video --quick` end to end: the recurrent model solves what the mean-frame baseline cannot."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.cli.runs import load_trained
from rnnkit.tasks import get_task

FAST = ["--threads", "1", "--no-progress", "--no-tensorboard"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("video") / "quick"
    assert main(["train", "--task", "video", "--quick", "--out", str(out), *FAST]) == 0
    return out


@pytest.mark.slow
def test_quick_run_reaches_90_percent_where_the_mean_frame_baseline_stays_at_chance(run):
    m = json.loads((run / "metrics.json").read_text())
    assert m["task"] == "video" and m["primary"] == "accuracy"
    assert set(m["baselines"]) == {"mean_frame_features", "majority_class"}
    assert m["model"]["accuracy"] >= 0.9
    assert m["baselines"]["mean_frame_features"]["accuracy"] <= 0.6
    assert m["baselines"]["majority_class"]["accuracy"] == pytest.approx(0.5)


@pytest.mark.slow
def test_train_plots_clips_and_predict_labels_an_example_clip(run):
    assert (run / "plots" / "clips.png").stat().st_size > 10_000 and (run / "plots" / "confusion.png").exists()
    t = load_trained(run, "cpu")
    examples = sorted((run / "examples").glob("*.npy"))
    results = t.task.predict(t.model, t.meta, [str(p) for p in examples])
    truth = [p.stem.split("_", 2)[2] for p in examples]
    assert [r["label"] for r in results] == truth
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-3 for r in results)
    assert np.load(examples[0]).shape == (10, 20, 20, 1)


@pytest.mark.slow
def test_evaluate_recomputes_the_saved_metrics_and_retrains_the_same_baseline(run, capsys):
    assert main(["evaluate", "--checkpoint", str(run), "--threads", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    saved = json.loads((run / "metrics.json").read_text())
    assert doc["model"] == pytest.approx(saved["model"])
    for name, metrics in saved["baselines"].items():
        assert doc["baselines"][name] == pytest.approx(metrics)


def test_task_is_registered_with_its_options():
    task = get_task("video")
    cfg = task.config_class(motion="direction")
    assert task.build_model(cfg, {"classes": list("abcd"), "frame_shape": [1, 20, 20]}).rnn.config.output_size == 4


def test_a_malformed_csv_stops_training_with_one_line(tmp_path, capsys):
    for name in "abc":
        np.save(tmp_path / f"{name}.npy", np.zeros((3, 4, 4)))
    np.save(tmp_path / "a.npy", np.zeros((3, 4)))
    (tmp_path / "clips.csv").write_text("file,label\na.npy,wave\nb.npy,clap\nc.npy,wave\n", encoding="utf-8")
    assert main(["train", "--task", "video", "--data", str(tmp_path / "clips.csv"),
                 "--out", str(tmp_path / "run"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnkit: error: ") and "line 2: a.npy: expected a clip of shape" in err and "\n" not in err
