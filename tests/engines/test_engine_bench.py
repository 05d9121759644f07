"""`rnnkit bench --quick` runs end to end and writes its JSON and markdown (no timing is asserted)."""

from __future__ import annotations

import json

import pytest
import torch

from rnnkit.bench import main
from rnnkit.bench.cases import Case, grid


@pytest.mark.slow
def test_quick_bench_writes_json_and_markdown(tmp_path, capsys):
    threads = torch.get_num_threads()
    try:
        assert main(["--quick", "--threads", "1", "--rounds", "1", "--min-time", "0", "--out", str(tmp_path)]) == 0
    finally:
        torch.set_num_threads(threads)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["environment"]["threads"] == 1
    labels = {r["case"]["label"] for r in data["results"]}
    assert {c.label for c in grid(quick=True)} == labels
    contenders = {r["contender"] for r in data["results"]}
    assert contenders == {"torch.nn", "reference", "fused", "auto"}
    for r in data["results"]:
        for mode in ("fwd", "fwdbwd"):
            t = r[mode]
            assert t["ms"] > 0 and t["tokens_per_s"] > 0 and t["gflops"] > 0
            assert (t["ratio"] is None) == (r["contender"] == "torch.nn")
    table = (tmp_path / "results.md").read_text()
    assert table.count("\n| lstm") == 8 and "f+b x nn" in table
    assert "auto (" in capsys.readouterr().out


def test_bench_rejects_unknown_names(tmp_path):
    with pytest.raises(SystemExit, match="--cells"):
        main(["--quick", "--cells", "transformer", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--engines"):
        main(["--quick", "--engines", "cudnn", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--shapes"):
        main(["--shapes", "32x100", "--out", str(tmp_path)])


@pytest.mark.parametrize(("flags", "message"), [(["--threads", "0"], "--threads: expected a positive integer"),
                                               (["--rounds", "0"], "--rounds: expected a positive integer"),
                                               (["--device", "nosuch"], "--device:"),
                                               (["--cases", "zzz"], "--cases: no case label contains")])
def test_bench_checks_its_options_before_measuring(tmp_path, flags, message):
    with pytest.raises(SystemExit, match=message):
        main(["--quick", *flags, "--out", str(tmp_path / "r")])


def test_a_bench_output_path_that_is_a_file_fails_before_any_measurement(tmp_path):
    (tmp_path / "r").write_text("")
    with pytest.raises(SystemExit, match=r"--out: .* is a file"):
        main(["--quick", "--out", str(tmp_path / "r")])


def test_the_cli_prints_the_message_of_a_bench_check(tmp_path, capsys):
    from rnnkit.cli.main import main as cli

    assert cli(["bench", "--quick", "--cells", "transformer", "--out", str(tmp_path)]) == 2
    assert "rnnkit: error: --cells: expected some of" in capsys.readouterr().err


def test_gemm_flops_count_every_layer_and_direction():
    one = Case("lstm", 2, 3, 4, 5)
    assert one.gemm_flops(backward=False) == 2 * 3 * 2 * 20 * (4 + 5)
    assert one.gemm_flops(backward=True) == 3 * one.gemm_flops(backward=False)
    stack = Case("gru", 2, 3, 4, 5, layers=2, bidirectional=True)
    per_dir = lambda fan_in: 2 * 3 * 2 * 15 * (fan_in + 5)  # noqa: E731
    assert stack.gemm_flops(backward=False) == 2 * per_dir(4) + 2 * per_dir(10)


def test_full_grid_has_the_issue_shapes_and_stacks():
    cases = grid(("lstm",))
    shapes = {(c.B, c.T, c.I, c.H) for c in cases}
    assert {(32, 100, 128, 256), (64, 200, 256, 512), (8, 50, 32, 64), (1, 1000, 64, 128)} <= shapes
    assert {c.layers for c in cases} == {1, 2, 3} and any(c.bidirectional for c in cases)
