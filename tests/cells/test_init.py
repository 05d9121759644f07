"""Initialisation of the cells: PyTorch's uniform default and the orthogonal recurrent option."""

from __future__ import annotations

import math

import pytest
import torch

import rnnkit

I, H = 4, 6
CELLS = {"elman": (rnnkit.ElmanCell, 1), "lstm": (rnnkit.LSTMCell, 4), "gru": (rnnkit.GRUCell, 3)}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_default_init_is_uniform_within_one_over_sqrt_hidden(kind):
    cell = CELLS[kind][0](I, H)
    bound = 1 / math.sqrt(H)
    for name, p in cell.named_parameters():
        assert bool((p.abs() <= bound).all()), name


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_orthogonal_init_makes_each_gate_block_of_w_hh_orthogonal(kind):
    cls, gates = CELLS[kind]
    cell = cls(I, H, recurrent_init="orthogonal", dtype=torch.float64)
    for block in cell.weight_hh.chunk(gates, dim=0):
        torch.testing.assert_close(block.T @ block, torch.eye(H, dtype=torch.float64))


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_orthogonal_init_survives_reset_parameters(kind):
    cls, gates = CELLS[kind]
    cell = cls(I, H, recurrent_init="orthogonal", dtype=torch.float64)
    cell.reset_parameters()
    block = cell.weight_hh.chunk(gates, dim=0)[-1]
    torch.testing.assert_close(block.T @ block, torch.eye(H, dtype=torch.float64))


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_unknown_recurrent_init_is_rejected(kind):
    with pytest.raises(ValueError, match=r"recurrent_init must be one of .*got 'xavier'"):
        CELLS[kind][0](I, H, recurrent_init="xavier")
