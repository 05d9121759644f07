"""The contiguous-stream layout, recurrent-state helpers and typed config validation."""

from __future__ import annotations

import pytest
import torch

from rnnkit.training import IGNORE_INDEX, ConfigError, ContiguousStream, DataError, TrainConfig
from rnnkit.training import state as S


def test_row_i_of_batch_b_continues_in_row_i_of_batch_b_plus_1():
    tokens = torch.arange(101)
    stream = ContiguousStream.language_model(tokens, batch_size=4, steps=5)
    batches = list(stream)
    assert len(batches) == 5 and stream.length == 25
    for b in range(len(batches) - 1):
        assert torch.equal(batches[b].x[:, -1] + 1, batches[b + 1].x[:, 0])          # contiguous rows
        assert batches[b + 1].offset == batches[b].offset + 5
    assert torch.equal(batches[0].x[:, 0], torch.tensor([0, 25, 50, 75]))
    assert torch.equal(batches[0].y, batches[0].x + 1)                               # next-token targets
    assert next(iter(stream.epoch(0, start=3))).offset == 15                          # restartable


def test_document_starts_reset_rows_and_mask_targets():
    tokens = torch.arange(12)
    starts = torch.zeros(12, dtype=torch.bool)
    starts[[0, 4, 9]] = True
    stream = ContiguousStream.language_model(tokens, batch_size=1, steps=11, starts=starts)
    b = stream.batch(0)
    assert b.reset[0].nonzero().flatten().tolist() == [0, 4, 9]       # state zeroed before inputs 4 and 9
    assert (b.y[0] == IGNORE_INDEX).nonzero().flatten().tolist() == [3, 8]   # no target across a boundary
    assert stream.targets == 11 - 2


def test_padding_keeps_every_step_and_short_streams_are_refused():
    stream = ContiguousStream.language_model(torch.arange(11), batch_size=3, steps=4, pad=True)
    assert stream.length == 4 and stream.targets == 10
    assert (stream.y == IGNORE_INDEX).sum() == 2
    with pytest.raises(DataError, match="too short for 8 rows of at least 16 steps"):
        ContiguousStream.language_model(torch.arange(100), batch_size=8, steps=16, drop_last=True)
    assert len(ContiguousStream.language_model(torch.arange(100), batch_size=4, steps=8, drop_last=True)) == 3


def test_state_trees_round_trip_and_reset_rows():
    h, c = torch.randn(2, 3, 4), torch.randn(2, 3, 5)
    state = (h, [c, None])
    flat = S.flatten(state)
    assert S.rebuild(S.structure(state), flat) == (h, [c, None]) and S.size(S.structure(state)) == 2
    keep = torch.tensor([True, False, True])
    out = S.reset_rows(torch.nn.Module(), (h, c), keep)
    assert torch.equal(out[0][:, 1], torch.zeros(2, 4)) and torch.equal(out[1][:, 0], c[:, 0])
    leaf = S.leaf((h, c))
    assert leaf[0].requires_grad and leaf[0].is_leaf and not S.is_finite((h * float("nan"),))


@pytest.mark.parametrize(("values", "message"), [
    ({"epochs": 0}, "epochs must be >= 1, got 0"),
    ({"epochs": 1.5}, "epochs must be int, got 1.5"),
    ({"k1": 10, "k2": 5}, "k2 must be >= k1"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of adam, adamw, sgd; got 'rmsprop'"),
    ({"lr": 0}, "lr must be > 0.0, got 0.0"),
    ({"device": "tpu"}, "device must be auto, cpu, cuda or cuda:N"),
    ({"max_steps": None, "patience": 0}, "patience must be >= 1, got 0"),
    ({"deterministic": "yes"}, "deterministic must be bool, got 'yes'"),
])
def test_train_config_is_validated_with_clear_messages(values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**values)


def test_train_config_from_dict_refuses_unknown_keys():
    with pytest.raises(ConfigError, match=r"run.toml: unknown train option 'epoch'"):
        TrainConfig.from_dict({"epoch": 3}, "run.toml")
    cfg = TrainConfig.from_dict({"lr": 1, "k1": 8})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.window == 8
