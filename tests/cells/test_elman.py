"""The Elman cell: pre-activation and nonlinearity, tanh or relu."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import rnnkit
from rnnkit.cells import ElmanStep, elman_step

I, H, B = 4, 6, 3


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_elman_step_applies_the_nonlinearity_to_the_summed_projections(nonlinearity):
    cell = rnnkit.ElmanCell(I, H, nonlinearity=nonlinearity, dtype=torch.float64)
    x, h0 = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    s = elman_step(x, h0, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, nonlinearity)
    assert isinstance(s, ElmanStep)
    a = F.linear(x, cell.weight_ih, cell.bias_ih) + F.linear(h0, cell.weight_hh, cell.bias_hh)
    torch.testing.assert_close(s.a, a)
    torch.testing.assert_close(s.h, torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a))


def test_elman_cell_module_calls_the_step_function():
    cell = rnnkit.ElmanCell(I, H, nonlinearity="relu")
    x, h0 = torch.randn(B, I), torch.randn(B, H)
    expected = elman_step(x, h0, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, "relu").h
    assert torch.equal(cell(x, h0), expected)


def test_unbatched_elman_cell_returns_unbatched_state():
    assert rnnkit.ElmanCell(I, H)(torch.randn(I), torch.randn(H)).shape == (H,)


def test_elman_cell_defaults_to_tanh_like_torch_rnn_cell():
    assert rnnkit.ElmanCell(I, H).nonlinearity == torch.nn.RNNCell(I, H).nonlinearity == "tanh"
