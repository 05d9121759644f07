"""The subcommands in-process on a tiny charlm run: train, evaluate, predict, generate, info, bench, TOML."""

from __future__ import annotations

import json
import shutil
import sys
import types

import pytest

from cli.conftest import TINY
from rnnkit.cli.main import main
from rnnkit.training import load_checkpoint


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, text_file):
    out = tmp_path_factory.mktemp("run") / "tiny"
    assert main(["train", "--task", "charlm", "--data", str(text_file), "--out", str(out), "--max-steps", "6",
                 "--eval-every", "3", "--diagnostics-every", "3", *TINY]) == 0
    return out


def test_train_writes_a_complete_run_folder(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics) == {"task", "primary", "higher_is_better", "model", "baselines", "seconds"}
    assert metrics["task"] == "charlm" and metrics["primary"] == "bpc" and metrics["higher_is_better"] is False
    assert set(metrics["baselines"]) == {"uniform", "unigram", "kneser_ney_5gram"}
    for path in ("config.json", "samples.txt", "logs/train.csv", "logs/eval.csv", "logs/state_grads.csv",
                 "logs/gates.csv", "checkpoints/last/checkpoint.json", "checkpoints/best/checkpoint.json"):
        assert (run_dir / path).exists(), path
    assert load_checkpoint(run_dir / "checkpoints" / "last").meta["trainer"]["step"] == 6


def test_evaluate_recomputes_the_metrics(run_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir), "--threads", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert doc["model"]["bpc"] == pytest.approx(saved["model"]["bpc"], rel=1e-6)
    assert doc["baselines"] == saved["baselines"]


def test_predict_and_generate(run_dir, capsys):
    assert main(["predict", "--checkpoint", str(run_dir), "--input", "To be, or not", "--input", "Ham"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in lines] == ["To be, or not", "Ham"]
    assert len(lines[0]["next"]) == 5 and sum(c["p"] for c in lines[0]["next"]) <= 1.0 + 1e-3
    assert main(["generate", "--checkpoint", str(run_dir), "--prompt", "HAMLET.", "--length", "40",
                 "--top-k", "5", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("HAMLET.") and len(first.rstrip("\n")) == len("HAMLET.") + 40
    main(["generate", "--checkpoint", str(run_dir), "--prompt", "HAMLET.", "--length", "40", "--top-k", "5",
          "--seed", "3"])
    assert capsys.readouterr().out == first                                  # seeded sampling repeats
    assert main(["generate", "--checkpoint", str(run_dir), "--prompt", "Ωmega"]) == 2
    assert "outside the model's vocabulary" in capsys.readouterr().err


def test_info_from_checkpoint_and_from_options(run_dir, capsys, text_file):
    assert main(["info", "--checkpoint", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "total" in out and "activations kept for backward" in out and "MiB" in out
    assert main(["info", "--task", "charlm", "--data", str(text_file), "--cell", "gru", "--hidden", "32"]) == 0
    out = capsys.readouterr().out
    assert "GRU(8, 32" in out or "GRU(64, 32" in out


def test_resume_refuses_changed_model_options_and_allows_more_steps(run_dir, capsys, tmp_path):
    assert main(["train", "--out", str(run_dir), "--resume", "--hidden", "32", *TINY[2:]]) == 2
    assert "cannot change --hidden when resuming" in capsys.readouterr().err
    assert main(["train", "--task", "charlm", "--out", str(run_dir), *TINY]) == 2
    assert "already holds a run; pass --resume" in capsys.readouterr().err
    assert main(["train", "--out", str(run_dir), "--resume", "--no-progress", "--no-plots", "--no-tensorboard"]) == 0
    assert "the run had already finished at update 6; nothing more to train" in capsys.readouterr().err
    assert main(["train", "--out", str(run_dir), "--resume", "--max-steps", "8", "--no-progress", "--no-plots",
                 "--no-tensorboard"]) == 0
    assert load_checkpoint(run_dir / "checkpoints" / "last").meta["trainer"]["step"] == 8


def test_overwrite_keeps_the_old_run_when_the_new_one_cannot_start(run_dir, capsys, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["train", "--task", "charlm", "--data", str(empty), "--out", str(copy), "--overwrite", *TINY]) == 2
    assert "the file is empty" in capsys.readouterr().err
    assert (copy / "checkpoints" / "last").is_dir() and (copy / "metrics.json").is_file()


def test_a_run_without_a_checkpoint_is_refused_with_the_way_out(run_dir, tmp_path, text_file, capsys):
    out = tmp_path / "r"
    out.mkdir()
    shutil.copy(run_dir / "config.json", out)        # a run still starting, or one that stopped early
    args = ["train", "--task", "charlm", "--data", str(text_file), "--out", str(out), "--max-steps", "1", *TINY]
    assert main(args) == 2
    assert "has not saved a checkpoint (still starting, or it stopped early)" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "nothing to resume" in err and "start it again with --overwrite" in err
    assert main([*args, "--overwrite"]) == 0
    assert (out / "checkpoints" / "last").is_dir()


def test_generate_refuses_a_temperature_that_is_not_a_finite_number(run_dir, capsys):
    for bad in ("nan", "inf"):
        assert main(["generate", "--checkpoint", str(run_dir), "--temperature", bad]) == 2
        assert "temperature must be a finite number >= 0" in capsys.readouterr().err


def test_toml_config_with_flags_on_top(tmp_path, text_file):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'task = "charlm"\nout = "{tmp_path / "t"}"\n[train]\nmax_steps = 2\nk1 = 8\nbatch-size = 4\n'
                   f'progress = false\ntensorboard = false\nplots = false\n[charlm]\ndata = "{text_file}"\n'
                   'hidden = 8\nembed = 4\neval-rows = 4\ncell = "gru"\n')        # flag-style names work too
    assert main(["train", "--config", str(cfg), "--max-steps", "3"]) == 0
    saved = json.loads((tmp_path / "t" / "config.json").read_text())
    assert saved["train"]["max_steps"] == 3 and saved["train"]["k1"] == 8 and saved["task_config"]["cell"] == "gru"
    assert saved["train"]["batch_size"] == 4 and saved["task_config"]["eval_rows"] == 4


def test_bench_forwards_its_arguments(monkeypatch, capsys):
    seen = []
    fake = types.ModuleType("rnnkit.bench")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "rnnkit.bench", fake)
    assert main(["bench", "--quick", "--help"]) == 0
    assert seen == [["--quick", "--help"]]
    monkeypatch.setitem(sys.modules, "rnnkit.bench", None)     # as if it were not installed
    assert main(["bench"]) == 2
    assert "rnnkit bench is not available" in capsys.readouterr().err


def test_quick_runs_on_the_users_own_text(tmp_path, text_file):
    """--quick picks a few Shakespeare works for the default corpus; with --data it must not get in the way."""
    out = tmp_path / "q"
    assert main(["train", "--task", "charlm", "--quick", "--data", str(text_file), "--out", str(out), "--max-steps",
                 "2", "--no-progress", "--no-tensorboard", "--no-plots"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["task_config"]["works"] is None and config["task_config"]["data"] == str(text_file.resolve())


def test_a_task_of_your_own_is_named_by_its_import_path_and_found_again(tmp_path, text_file, monkeypatch, capsys):
    (tmp_path / "mytasks.py").write_text("from rnnkit.tasks.charlm import CharLM\n\n\n"
                                         "class MyLM(CharLM):\n    name = 'mylm'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "mytasks", raising=False)
    out = tmp_path / "run"
    assert main(["train", "--task", "mytasks:MyLM", "--data", str(text_file), "--out", str(out), "--max-steps", "2",
                 *TINY]) == 0
    assert json.loads((out / "config.json").read_text())["task_source"] == "mytasks:MyLM"
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--no-baselines"]) == 0
    assert json.loads(capsys.readouterr().out)["task"] == "mylm"
    assert main(["train", "--task", "mytasks:Nope", "--out", str(tmp_path / "x")]) == 2
    assert "task 'mytasks:Nope': cannot load it" in capsys.readouterr().err


def test_a_folder_another_process_trains_in_is_refused_even_with_overwrite(run_dir, capsys, tmp_path, text_file):
    import subprocess

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from rnnkit.training import runlock; "
                               "runlock.hold(sys.argv[1]); print('held', flush=True); sys.stdin.read()", str(copy)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for flag in ("--overwrite", "--resume"):
            assert main(["train", "--task", "charlm", "--data", str(text_file), "--out", str(copy), flag,
                         *TINY]) == 2
            assert "another process is training in" in capsys.readouterr().err
        assert (copy / "checkpoints" / "last").is_dir() and (copy / "metrics.json").is_file()   # nothing deleted
    finally:
        holder.kill()
        holder.wait()


def test_train_holds_its_folder_from_the_first_check_to_the_end(tmp_path, text_file, monkeypatch):
    from rnnkit.training import runlock
    from rnnkit.training.trainer import Trainer

    out, seen = tmp_path / "held", []
    real_hold, real_lock = runlock.hold, Trainer._lock_run_dir

    def hold(folder):
        seen.append("command holds" if not seen else "check")
        release = real_hold(folder)
        return lambda: (seen.append("released"), release())

    def trainer_lock(self):
        seen.append("trainer re-enters" if out.resolve() in runlock._held else "trainer takes it")
        return real_lock(self)

    monkeypatch.setattr(runlock, "hold", hold)
    monkeypatch.setattr(Trainer, "_lock_run_dir", trainer_lock)
    assert main(["train", "--task", "charlm", "--data", str(text_file), "--out", str(out), "--max-steps", "1",
                 *TINY]) == 0
    assert seen[0] == "command holds" and "trainer re-enters" in seen      # taken before the trainer runs,
    assert seen[-1] == "released" and not runlock._held                    # and let go last


def test_overwrite_deletes_what_rnnkit_wrote_and_keeps_the_users_files(run_dir, tmp_path, text_file):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "plots").mkdir(exist_ok=True)
    mine = [copy / "logs" / "notes.txt", copy / "plots" / "mine.png", copy / "logs" / "mine.csv", copy / "README"]
    for path in mine:
        path.write_text("the user's")
    old = [copy / "plots" / "attention_test.png", copy / "checkpoints" / ".tmp-abc"]   # as rnnkit names them
    for path in old:
        path.write_text("an old run's")
    assert main(["train", "--task", "charlm", "--data", str(text_file), "--out", str(copy), "--overwrite",
                 "--max-steps", "1", "--diagnostics-every", "0", *TINY]) == 0
    assert all(path.read_text() == "the user's" for path in mine)
    assert not any(path.exists() for path in old)
    assert load_checkpoint(copy / "checkpoints" / "last").meta["trainer"]["step"] == 1


def test_a_folder_with_a_config_json_of_the_users_is_refused(tmp_path, text_file, capsys):
    out = tmp_path / "project"
    out.mkdir()
    (out / "config.json").write_text('{"my": "settings"}')
    for flags in ([], ["--overwrite"]):
        assert main(["train", "--task", "charlm", "--data", str(text_file), "--out", str(out), "--max-steps", "1",
                     *flags, *TINY]) == 2
        assert "config.json that is not an rnnkit run's" in capsys.readouterr().err
    assert (out / "config.json").read_text() == '{"my": "settings"}'
