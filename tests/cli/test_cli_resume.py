"""`train --resume` on every task, and on data that changed since the run started."""

from __future__ import annotations

import pytest

from cli.conftest import TINY
from rnnkit.cli.main import main
from rnnkit.cli.runs import delete_run_files
from rnnkit.tasks import task_names
from rnnkit.training import load_checkpoint

QUIET = ["--threads", "1", "--no-progress", "--no-tensorboard", "--no-plots"]


@pytest.mark.slow
@pytest.mark.parametrize("task", task_names())
def test_every_task_resumes_and_overwrite_can_delete_all_it_wrote(task, tmp_path):
    out = tmp_path / task
    plots = [f for f in QUIET if f != "--no-plots"]                 # every file a run writes, figures included
    assert main(["train", "--task", task, "--quick", "--max-steps", "2", "--out", str(out), *plots]) == 0
    assert main(["train", "--out", str(out), "--resume", "--max-steps", "3", *plots]) == 0
    assert load_checkpoint(out / "checkpoints" / "last").meta["trainer"]["step"] == 3
    delete_run_files(out)                                           # what --overwrite does
    assert [p.relative_to(out).as_posix() for p in out.rglob("*")] in ([], [".rnnkit.lock"])


def test_a_resumed_run_keeps_its_vocabulary_when_the_data_changes(tmp_path, text_file):
    data, out = tmp_path / "text.txt", tmp_path / "run"
    data.write_text(text_file.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["train", "--task", "charlm", "--data", str(data), "--out", str(out), "--max-steps", "2", *TINY]) == 0
    vocab = load_checkpoint(out / "checkpoints" / "last").meta["task_meta"]["vocab"]
    data.write_text(data.read_text(encoding="utf-8").replace("w", ""), encoding="utf-8")   # 'w' gone: a new
    assert main(["train", "--out", str(out), "--resume", "--max-steps", "4", *TINY]) == 0    # vocabulary shifts ids
    assert load_checkpoint(out / "checkpoints" / "last").meta["task_meta"]["vocab"] == vocab


def test_resuming_on_data_the_vocabulary_cannot_encode_is_refused_before_training(tmp_path, text_file, capsys):
    data, out = tmp_path / "text.txt", tmp_path / "run"
    data.write_text(text_file.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["train", "--task", "charlm", "--data", str(data), "--out", str(out), "--max-steps", "2", *TINY]) == 0
    data.write_text(data.read_text(encoding="utf-8").replace("w", "\u0416"), encoding="utf-8")   # a new character
    assert main(["train", "--out", str(out), "--resume", "--max-steps", "4", *TINY]) == 2
    err = capsys.readouterr().err
    assert f"resuming {out}" in err and "outside the model's vocabulary" in err, err
    assert load_checkpoint(out / "checkpoints" / "last").meta["trainer"]["step"] == 2
