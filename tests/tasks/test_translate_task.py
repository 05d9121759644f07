"""The translate task end to end: `--quick` on number words, a user TSV with predict and plots, CLI errors."""

from __future__ import annotations

import json

import pytest

from rnnkit.cli.main import main
from rnnkit.cli.runs import load_trained
from rnnkit.tasks import get_task
from rnnkit.training.errors import DataError

QUIET = ["--threads", "1", "--no-progress", "--no-tensorboard", "--no-plots"]


@pytest.mark.slow
def test_quick_run_is_well_above_chance_and_beam_one_matches_greedy(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--task", "translate", "--quick", "--out", str(out), *QUIET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["model"]
    assert metrics["exact_match"] > 0.3 and metrics["bleu"] > 50 and metrics["chrf"] > 70   # chance: 0
    assert metrics["exact_match_beam"] > 0.3
    trained = load_trained(out, "cpu")
    task = get_task("translate")
    data = task.build_data(trained.task_cfg, trained.train_cfg, trained.meta)
    data.meta["beam"] = 1
    assert task.translations(trained.model, data, "test", "beam")[0] == \
        task.translations(trained.model, data, "test", "greedy")[0]
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(out), "--input", "four thousand and twelve", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["input"] == "four thousand and twelve" and result["translation"] and result["unknown_words"] == []
    assert main(["predict", "--checkpoint", str(out), "--input", "Four Thousand and Twelve", "--threads", "1"]) == 0
    capitalised = json.loads(capsys.readouterr().out)      # a model of lowercase text reads any case
    assert capitalised["translation"] == result["translation"] and capitalised["unknown_words"] == []


@pytest.mark.slow
def test_user_pairs_train_with_a_baseline_and_plots(tmp_path):
    from num2words import num2words

    rows = [f"{num2words(n)}\t{num2words(n, lang='de')}" for n in range(0, 400)]
    data = tmp_path / "pairs.tsv"
    data.write_text("source\ttarget\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "--task", "translate", "--data", str(data), "--hidden", "24", "--embed", "16",
                 "--epochs", "3", "--batch-size", "16", "--beam", "2", "--heatmaps", "2", "--out", str(out),
                 *QUIET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["baselines"]) == {"no_attention"}
    assert {"exact_match", "bleu", "exact_match_beam", "bleu_beam"} <= set(metrics["model"])
    trained = load_trained(out, "cpu")
    task = get_task("translate")
    built = task.build_data(trained.task_cfg, trained.train_cfg, trained.meta)
    paths = task.report(trained.model, built, "test", out)
    assert [p.name for p in paths] == ["attention_test.png", "exact_match_by_length_test.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    other = tmp_path / "other.tsv"     # another language pair: the model knows none of its source words
    other.write_text("source\ttarget\n" + "\n".join(f"{num2words(n, lang='fr')}\t{n}" for n in range(21, 200)) + "\n",
                     encoding="utf-8")
    with pytest.raises(DataError, match=r"of the held-out source words are outside the model's vocabulary"):
        task.build_data(trained.task_cfg.replace(data=str(other)), trained.train_cfg, trained.meta)


def test_malformed_pairs_stop_the_cli_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("source\ttarget\nGo.\tVa !\nRun!\t\n", encoding="utf-8")
    code = main(["train", "--task", "translate", "--data", str(bad), "--out", str(tmp_path / "run"), *QUIET])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "bad.tsv, line 3: empty target text" in err


@pytest.mark.slow
def test_char_tokens_translate_into_a_language_that_writes_numbers_as_one_word(tmp_path, capsys):
    """en -> de at word level cannot work (each test number is one unseen word); characters can."""
    out = tmp_path / "de"
    assert main(["train", "--task", "translate", "--quick", "--target-lang", "de", "--tokens", "char",
                 "--out", str(out), *QUIET]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["model"]
    assert metrics["exact_match"] > 0.5 and metrics["chrf"] > 80     # word level: 0.0
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(out), "--input", "four thousand and twelve", "--threads", "1"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["translation"].startswith("viertausend")
