"""Data-parallel pieces that need no second process: the launch environment, sharding, checkpoint parts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from training.toys import ToyStateful, mse_sum, toy_stream

from rnnkit.cli.main import main
from rnnkit.training import CheckpointError, ConfigError, ContiguousStream, DataError, DistributedError
from rnnkit.training import distributed as D
from rnnkit.training.sharding import EMPTY, RowShard, batch_rows, rows_of, shard_source, take_rows
from rnnkit.training.tbptt import TBPTT

ENV = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "node0", "MASTER_PORT": "29500"}


# ---- the launch ------------------------------------------------------------------------------------
def test_launch_reads_the_torchrun_environment():
    assert D.Launch.from_env({}) is None
    assert D.Launch.from_env(ENV) == D.Launch(1, 2, 1, "node0", 29500)


def test_partial_rendezvous_variables_are_one_clear_error():
    with pytest.raises(ConfigError, match=r"RANK, WORLD_SIZE set but LOCAL_RANK, MASTER_ADDR, MASTER_PORT not; "
                                          r"launch with `torchrun"):
        D.Launch.from_env({"RANK": "0", "WORLD_SIZE": "2"})


@pytest.mark.parametrize(("key", "value", "match"), [("RANK", "x", "must be integers"),
                                                     ("RANK", "2", "0 <= RANK < WORLD_SIZE"),
                                                     ("MASTER_PORT", "70000", "a port in 1..65535")])
def test_invalid_rendezvous_values_are_refused(key, value, match):
    with pytest.raises(ConfigError, match=match):
        D.Launch.from_env({**ENV, key: value})


def test_one_process_under_torchrun_trains_as_usual():
    assert D.setup("cpu", {**ENV, "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1"}) is None
    assert D.setup("cpu", {}) is None and D.current() is None


def test_an_explicit_gpu_index_is_refused_for_several_ranks():
    with pytest.raises(ConfigError, match="would put every rank on one GPU; use --device cuda"):
        D.setup("cuda:0", ENV)


def test_the_cli_reports_a_partial_launch_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for key in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    code = main(["train", "--task", "charlm", "--out", str(tmp_path / "r"), "--quick"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith("rnnkit: error: incomplete torchrun environment: WORLD_SIZE set but RANK")
    assert not (tmp_path / "r").exists()


# ---- sharding -------------------------------------------------------------------------------------
def test_stream_shards_partition_the_rows_and_keep_the_columns():
    stream = toy_stream(B=6, N=12, T=4)
    shards = [stream.shard(r, 3) for r in range(3)]
    for b in range(len(stream)):
        whole, parts = stream.batch(b), [s.batch(b) for s in shards]
        assert torch.equal(torch.cat([p.x for p in parts]), whole.x)       # no row twice, none missing
        assert torch.equal(torch.cat([p.y for p in parts]), whole.y)
        assert {(p.stream, p.offset, p.steps) for p in parts} == {(whole.stream, whole.offset, whole.steps)}
    assert [len(s) for s in shards] == [len(stream)] * 3 and shards[1].batch_size == 2


def test_a_rank_continues_its_own_streams_under_tbptt():
    """Row i of batch b+1 continues row i of batch b on the same rank: the runner's order check passes."""
    stream = toy_stream(B=4, N=12, T=3, dtype=torch.float32)
    model, stepper = ToyStateful(dtype=torch.float32), TBPTT(3, 3, mse_sum)
    for batch in stream.shard(1, 2):
        stepper.update(model, batch)


def test_stream_reset_masks_are_sharded_with_their_rows():
    starts = torch.zeros(48, dtype=torch.bool)
    starts[[0, 13, 30]] = True
    stream = toy_stream(B=4, N=12, T=4, starts=starts)
    parts = [stream.shard(r, 2) for r in range(2)]
    assert torch.equal(torch.cat([p.reset for p in parts]), stream.reset)


def test_world_size_must_divide_the_stream_layout():
    with pytest.raises(ConfigError, match=r"world size 4 does not divide the stream layout: stream 'toy' has "
                                          r"batch_size 6 rows"):
        shard_source(toy_stream(B=6), 1, 4)


@dataclass(frozen=True)
class Pair:
    x: torch.Tensor          # (B, T)
    lengths: torch.Tensor    # (B,)
    name: str = "pairs"


class Pairs:
    """A global batch source of `rows` rows cut into batches of `batch_size` (the last one short)."""

    def __init__(self, rows: int, batch_size: int) -> None:
        self.x, self.batch_size = torch.arange(rows * 3).reshape(rows, 3), batch_size

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def epoch(self, index: int, start: int = 0):
        for b in range(start, len(self)):
            x = self.x[b * self.batch_size:(b + 1) * self.batch_size]
            yield Pair(x, x[:, 0])


def test_row_shards_cover_every_row_once_and_split_a_short_batch_unevenly():
    source = Pairs(rows=11, batch_size=4)                       # batches of 4, 4 and 3 rows
    shards = [shard_source(source, r, 2) for r in range(2)]
    assert all(isinstance(s, RowShard) and len(s) == 3 for s in shards)
    got = [list(s.epoch(0)) for s in shards]
    assert [len(b.x) for b in got[0]] == [2, 2, 2] and [len(b.x) for b in got[1]] == [2, 2, 1]
    rows = torch.cat([b.x for pair in zip(*got, strict=True) for b in pair])
    assert torch.equal(rows, source.x)
    assert all(b.name == "pairs" and torch.equal(b.lengths, b.x[:, 0]) for b in got[1])
    assert [len(b.x) for b in shard_source(source, 1, 2).epoch(0, start=2)] == [1]


def test_a_rank_with_no_rows_of_a_batch_gets_EMPTY():
    source = Pairs(rows=5, batch_size=4)                        # the last batch has one row for four ranks
    last = [list(RowShard(source, r, 4).epoch(0))[-1] for r in range(4)]
    assert last[0] is not EMPTY and last[1:] == [EMPTY] * 3
    assert rows_of(3, 4, 10) == (8, 10) and rows_of(0, 4, 10) == (0, 3)


def test_world_size_must_divide_a_batch_size():
    with pytest.raises(ConfigError, match=r"world size 3 does not divide batch_size 4: .* launch 2 or 4 processes"):
        shard_source(Pairs(8, 4), 0, 3)


def test_batches_without_a_common_batch_dimension_are_refused():
    with pytest.raises(DataError, match=r"cannot split a tuple batch across ranks: .* different leading sizes "
                                        r"\[2, 3\]; give its source a shard\(rank, world\) method"):
        batch_rows((torch.zeros(2), torch.zeros(3)))


def test_take_rows_keeps_the_structure():
    batch = {"a": (torch.arange(4), [torch.ones(4, 2)]), "n": 7, "s": torch.tensor(1.0)}
    got = take_rows(batch, 1, 3)
    assert got["a"][0].tolist() == [1, 2] and got["a"][1][0].shape == (2, 2) and got["n"] == 7
    assert got["s"].item() == 1.0


def test_a_source_that_is_already_per_rank_is_left_alone():
    source = Pairs(8, 4)
    source.per_rank = True
    assert shard_source(source, 1, 2) is source


# ---- checkpoints ----------------------------------------------------------------------------------
def test_rank_parts_round_trip_through_one_checkpoint():
    parts = [({"stepper.carry.0": torch.full((1,), float(r))}, {"stepper": {"t": r}}) for r in range(3)]
    tensors, meta = D.pack_ranks(parts)
    assert meta["world_size"] == 3 and set(tensors) == {f"rank{r}.stepper.carry.0" for r in range(3)}
    for r in range(3):
        t, m = D.unpack_rank(tensors, meta, r, 3, "ck")
        assert t["stepper.carry.0"].item() == r and m == {"stepper": {"t": r}}


@pytest.mark.parametrize(("saved", "now", "hint"), [(2, 1, "with 2 processes (e.g. torchrun --nproc_per_node 2)"),
                                                    (1, 4, "in one process")])
def test_a_checkpoint_of_another_world_size_is_refused(saved, now, hint):
    meta = {"world_size": saved} if saved > 1 else {}
    with pytest.raises(CheckpointError, match=rf"ck was written by a run of {saved} process\(es\) and this run has "
                                              rf"{now}: resume it {hint.replace('(', '[(]').replace(')', '[)]')}"):
        D.unpack_rank({}, meta, 0, now, "ck")


def test_a_contiguous_stream_source_is_sharded_by_its_own_method():
    stream = toy_stream(B=4)
    assert isinstance(shard_source(stream, 0, 2), ContiguousStream)


def test_shutdown_meets_at_a_barrier_then_leaves_the_group(tmp_path, monkeypatch):
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    monkeypatch.setattr(D, "_GROUP", D.Group(D.Launch(0, 1, 0, "localhost", 1),
                                           torch.device("cpu"), "gloo"))
    met = []
    monkeypatch.setattr(torch.distributed, "barrier", lambda *a, **k: met.append(True))
    D.shutdown(wait=True)
    assert met == [True] and not torch.distributed.is_initialized() and D.current() is None
    D.shutdown(wait=True)          # nothing joined: a no-op


def test_shutdown_leaves_the_group_even_when_the_barrier_fails(tmp_path, monkeypatch):
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    monkeypatch.setattr(D, "_GROUP", D.Group(D.Launch(0, 1, 0, "localhost", 1),
                                           torch.device("cpu"), "gloo"))

    def lost(*a, **k):
        raise RuntimeError("[pair.cc:598] Connection closed by peer")

    monkeypatch.setattr(torch.distributed, "barrier", lost)
    with pytest.raises(DistributedError, match="lost contact with the other ranks during the final barrier"):
        D.shutdown(wait=True)
    assert not torch.distributed.is_initialized() and D.current() is None
