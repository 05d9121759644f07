"""Cells convert to and from torch.nn cells with identical weights and state_dict keys."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit

I, H = 4, 6
PAIRS = {
    "elman_tanh": (rnnkit.ElmanCell, lambda **kw: nn.RNNCell(I, H, **kw)),
    "elman_relu": (rnnkit.ElmanCell, lambda **kw: nn.RNNCell(I, H, nonlinearity="relu", **kw)),
    "lstm": (rnnkit.LSTMCell, lambda **kw: nn.LSTMCell(I, H, **kw)),
    "gru": (rnnkit.GRUCell, lambda **kw: nn.GRUCell(I, H, **kw)),
}


def assert_state_dicts_equal(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_from_torch_builds_the_matching_cell_with_equal_weights(kind, bias):
    cls, make = PAIRS[kind]
    reference = make(bias=bias)
    cell = rnnkit.from_torch(reference)
    assert type(cell) is cls
    assert cell.bias == bias
    assert_state_dicts_equal(cell, reference)
    assert getattr(cell, "nonlinearity", None) == getattr(reference, "nonlinearity", None)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_cell_to_torch_from_torch_round_trips_exactly(kind):
    cls, make = PAIRS[kind]
    reference = make(dtype=torch.float64)
    back = rnnkit.from_torch(reference).to_torch()
    assert type(back) is type(reference)
    assert_state_dicts_equal(back, reference)
    ours = cls.from_torch(reference)
    assert_state_dicts_equal(cls.from_torch(ours.to_torch()), ours)
    assert ours.weight_ih.dtype == torch.float64


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_converted_cell_computes_the_same_function(kind):
    _, make = PAIRS[kind]
    reference = make()
    x = torch.randn(3, I)
    out, expected = rnnkit.from_torch(reference)(x), reference(x)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_cell_from_torch_rejects_the_wrong_torch_cell():
    with pytest.raises(TypeError, match=r"LSTMCell.from_torch got a GRUCell"):
        rnnkit.LSTMCell.from_torch(nn.GRUCell(I, H))


@pytest.mark.parametrize("cls", [rnnkit.LSTMCell, rnnkit.GRUCell])
def test_layer_norm_cell_refuses_to_torch(cls):
    with pytest.raises(ValueError, match=r"layer-norm cell has no torch.nn equivalent"):
        cls(I, H, layer_norm=True).to_torch()


def test_from_torch_with_layer_norm_copies_weights_and_starts_norms_at_unit_gain():
    reference = nn.LSTMCell(I, H)
    cell = rnnkit.LSTMCell.from_torch(reference, layer_norm=True)
    assert torch.equal(cell.weight_hh, reference.weight_hh)
    assert torch.equal(cell.ln_ih_weight, torch.ones(4 * H))
