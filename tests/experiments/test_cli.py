"""`rnnkit verify` end to end on the cheapest claim, argument handling, and the runner's error path."""

from __future__ import annotations

import json
import types

import pytest

from rnnkit.experiments import cli
from rnnkit.experiments.claims import deep_rnn
from rnnkit.experiments.result import VERDICTS
from rnnkit.experiments.runner import run_claim, select

CHEAP = "deep_rnn"          # about a second in quick mode


def test_only_one_cheap_claim_end_to_end(tmp_path, capsys):
    out = tmp_path / "report"
    assert cli.main(["verify", "--quick", "--only", CHEAP, "--out", str(out)]) == 0
    records = json.loads((out / "verify.json").read_text())
    assert [r["id"] for r in records] == [CHEAP]
    rec = records[0]
    assert rec["verdict"] in VERDICTS and rec["error"] is None
    assert rec["threshold"] == deep_rnn.THRESHOLD
    assert rec["quick"] is True and rec["seed"] == 0
    for key in ("ratio_plain", "ratio_residual", "ratio_large_init", "grad_plain"):
        assert key in rec["measurements"]
    assert rec["verdict"] == deep_rnn.verdict(rec["measurements"])     # recomputable from the JSON
    controls, tests = deep_rnn.checks(rec["measurements"])
    assert len(rec["checks"]) == len(controls) + len(tests)
    page = (out / "verify.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and deep_rnn.TITLE in page
    assert CHEAP in capsys.readouterr().out


def test_rerun_gives_identical_numbers(tmp_path):
    """Seeds are fixed: the same claim run twice produces the same measurements and verdict."""
    a = run_claim(11, deep_rnn, quick=True, seed=0)
    b = run_claim(11, deep_rnn, quick=True, seed=0)
    assert a.measurements == b.measurements and a.verdict == b.verdict


def test_selection_by_id_or_number():
    assert [n for n, _ in select(["11", "long_range", "deep_rnn"])] == [1, 11]
    assert len(select(None)) == 12
    with pytest.raises(ValueError, match="unknown claim 'nope'"):
        select(["nope"])


def test_argument_errors(tmp_path, capsys):
    assert cli.main(["verify", "--only", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown claim" in capsys.readouterr().err
    assert cli.main(["--quick"]) == 2                        # no --out; the leading "verify" is optional
    assert "--out DIR is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["verify", "--bogus"])


def test_list(capsys):
    assert cli.main(["verify", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 12 and "long_range" in lines[0]


def test_a_crashing_experiment_is_reported_not_hidden():
    def run(quick, seed):
        raise RuntimeError("experiment exploded")

    module = types.SimpleNamespace(ID="boom", TITLE="Boom", STATEMENT="s", METHOD="m", THRESHOLD={"x": 1},
                                   run=run, checks=None, verdict=None)
    outcome = run_claim(99, module, quick=True, seed=0)
    assert outcome.verdict == "inconclusive"
    assert "experiment exploded" in outcome.error
    assert outcome.measurements == {} and outcome.figure_png is None


def test_an_output_path_that_is_a_file_fails_before_any_claim_runs(tmp_path, capsys, monkeypatch):
    ran = []
    monkeypatch.setattr("rnnkit.experiments.runner.run_claim", lambda *a, **k: ran.append(a))
    (tmp_path / "verify.json").write_text("")
    assert cli.main(["verify", "--quick", "--only", CHEAP, "--out", str(tmp_path / "verify.json")]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err and ran == []


def test_ctrl_c_keeps_the_claims_that_finished_in_the_report(tmp_path, monkeypatch, capsys):
    from rnnkit.experiments import runner

    real = runner.run_claim

    def second_is_interrupted(number, module, quick, seed):
        if number != 11:
            raise KeyboardInterrupt
        return real(number, module, quick, seed)

    monkeypatch.setattr(runner, "run_claim", second_is_interrupted)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["verify", "--quick", "--only", CHEAP, "--only", "architectures", "--out", str(tmp_path)])
    assert [r["id"] for r in json.loads((tmp_path / "verify.json").read_text())] == [CHEAP]
    assert "the 1 finished claim(s) are in" in capsys.readouterr().err


def test_a_quick_report_says_its_verdicts_may_differ_from_the_full_run(tmp_path):
    assert cli.main(["verify", "--quick", "--only", CHEAP, "--out", str(tmp_path)]) == 0
    assert "Quick mode" in (tmp_path / "verify.html").read_text()
