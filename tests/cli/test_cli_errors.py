"""Bad options, missing files and malformed data: one clear line on stderr, no traceback, exit code 2."""

from __future__ import annotations

import pytest

from rnnkit.cli.main import main


def one_line_error(capsys, argv, code=2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("flags", "message"), [
    (["--epochs", "0"], "rnnkit: error: epochs must be >= 1, got 0"),
    (["--k1", "8", "--k2", "4"], "k2 must be >= k1"),
    (["--lr", "-1"], "lr must be > 0.0, got -1.0"),
    (["--lr", "nan"], "lr must be a finite number, got nan"),
    (["--hidden", "0"], "hidden must be >= 1, got 0"),
    (["--valid-fraction", "0.3", "--test-fraction", "0.3"], "valid_fraction + test_fraction must be < 0.5"),
    (["--precision", "fp16", "--device", "cpu"], "precision fp16 needs a CUDA device"),
])
def test_bad_config_values_give_one_clear_line(capsys, text_file, tmp_path, flags, message):
    line = one_line_error(capsys, ["train", "--task", "charlm", "--data", str(text_file), "--out",
                                   str(tmp_path / "r"), "--no-progress", *flags])
    assert message in line


def test_bad_flag_types_and_unknown_names_give_one_line(capsys, tmp_path):
    assert "argument --epochs: invalid int value: 'many'" in one_line_error(
        capsys, ["train", "--task", "charlm", "--epochs", "many"])
    assert "invalid choice: 'lstmm'" in one_line_error(capsys, ["train", "--task", "charlm", "--cell", "lstmm"])
    line = one_line_error(capsys, ["train", "--task", "nope"])
    assert "unknown task 'nope'; available tasks: " in line and "charlm" in line
    assert "which task? pass --task NAME" in one_line_error(capsys, ["train"])
    assert "--resume needs --out DIR" in one_line_error(capsys, ["train", "--task", "charlm", "--resume"])


def test_bad_toml_config_gives_one_line(capsys, tmp_path, text_file):
    bad = tmp_path / "bad.toml"
    bad.write_text("task = 'charlm'\n[train]\nepochz = 3\n")
    assert "bad.toml: unknown train option 'epochz'" in one_line_error(capsys, ["train", "--config", str(bad)])
    bad.write_text("task = 'charlm'\n[train\n")
    assert "bad.toml: not valid TOML" in one_line_error(capsys, ["train", "--config", str(bad)])
    bad.write_text("task = 'charlm'\n[train]\nepochs = 'three'\n")
    assert "epochs must be int, got 'three'" in one_line_error(capsys, ["train", "--config", str(bad)])
    bad.write_text("task = 'charlm'\n[sentiment]\ncell = 'gru'\n")
    assert "unknown key 'sentiment'" in one_line_error(capsys, ["train", "--config", str(bad)])
    assert "no such config file" in one_line_error(capsys, ["train", "--config", str(tmp_path / "none.toml")])


def test_missing_files_give_one_line(capsys, tmp_path):
    missing = tmp_path / "missing.txt"
    assert f"{missing}: no such file" in one_line_error(
        capsys, ["train", "--task", "charlm", "--data", str(missing), "--out", str(tmp_path / "r")])
    assert "no checkpoint at" in one_line_error(capsys, ["evaluate", "--checkpoint", str(tmp_path / "nothing")])
    (tmp_path / "empty_run").mkdir()
    assert "no checkpoint in" in one_line_error(capsys, ["generate", "--checkpoint", str(tmp_path / "empty_run")])
    assert "nothing to resume" in one_line_error(
        capsys, ["train", "--task", "charlm", "--out", str(tmp_path / "fresh"), "--resume"])
    assert "nothing to resume in" in one_line_error(capsys, ["train", "--out", str(tmp_path / "fresh"), "--resume"])


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"  \n\n ", "the file is empty"),
    (b"caf\xe9 au lait\n" * 10, "not valid UTF-8 (byte 0xe9 at offset 3, line 1)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "contains a NUL byte at offset 8"),
    (b"To be, or not to be.\n", "too few for a valid split"),
])
def test_malformed_data_gives_one_line(capsys, tmp_path, content, message):
    path = tmp_path / "data.txt"
    path.write_bytes(content)
    line = one_line_error(capsys, ["train", "--task", "charlm", "--data", str(path), "--out", str(tmp_path / "r")])
    assert message in line and str(path) in line


def test_text_too_short_for_the_batch_layout(capsys, tmp_path, text_file):
    line = one_line_error(capsys, ["train", "--task", "charlm", "--data", str(text_file), "--out",
                                   str(tmp_path / "r"), "--batch-size", "512", "--k1", "64"])
    assert "too short for 512 rows of at least 64 steps" in line


def test_a_model_library_refusing_the_settings_gives_one_line_before_the_baselines_run(capsys, tmp_path,
                                                                                        monkeypatch):
    from rnnkit.tasks.translate.task import Translate

    def refuse(self, cfg, meta):
        raise ValueError("bridge='copy' needs encoder and decoder states of the same size")

    monkeypatch.setattr(Translate, "build_model", refuse)
    monkeypatch.setattr(Translate, "baselines", lambda *a: pytest.fail("the baselines ran before the check"))
    line = one_line_error(capsys, ["train", "--task", "translate", "--quick", "--out", str(tmp_path / "r"),
                                   "--no-progress"])
    assert line == ("rnnkit: error: task translate: these model settings do not fit together: bridge='copy' needs "
                    "encoder and decoder states of the same size")


def test_resuming_a_folder_whose_config_json_is_not_a_runs_says_so(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"my": "settings"}')
    assert main(["train", "--out", str(tmp_path), "--resume"]) == 2
    assert "its config.json is not an rnnkit run's" in capsys.readouterr().err
