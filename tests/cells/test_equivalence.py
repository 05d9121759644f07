"""Each rnnkit cell computes exactly what its torch.nn counterpart computes, given the same weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit

I, H, B = 4, 6, 3

# (rnnkit cell, torch.nn cell, extra constructor arguments, number of state tensors)
CELLS = {
    "elman_tanh": (rnnkit.ElmanCell, nn.RNNCell, {"nonlinearity": "tanh"}, 1),
    "elman_relu": (rnnkit.ElmanCell, nn.RNNCell, {"nonlinearity": "relu"}, 1),
    "lstm": (rnnkit.LSTMCell, nn.LSTMCell, {}, 2),
    "gru": (rnnkit.GRUCell, nn.GRUCell, {}, 1),
}


def twins(kind: str, bias: bool, dtype: torch.dtype):
    ours_cls, torch_cls, extra, n_states = CELLS[kind]
    reference = torch_cls(I, H, bias=bias, dtype=dtype, **extra)
    ours = ours_cls(I, H, bias=bias, dtype=dtype, **extra)
    ours.load_state_dict(reference.state_dict())
    return ours, reference, n_states


def random_state(n_states: int, batch_shape: tuple[int, ...], dtype: torch.dtype):
    states = tuple(torch.randn(*batch_shape, H, dtype=dtype) for _ in range(n_states))
    return states if n_states > 1 else states[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_matches_torch_nn_cell(kind, batched, with_hx, bias, dtype, assert_same):
    ours, reference, n_states = twins(kind, bias, dtype)
    batch_shape = (B,) if batched else ()
    x = torch.randn(*batch_shape, I, dtype=dtype)
    hx = random_state(n_states, batch_shape, dtype) if with_hx else None
    assert_same(ours(x, hx), reference(x, hx), dtype)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_chained_over_time_matches_torch_nn_cell(kind, assert_same):
    ours, reference, n_states = twins(kind, True, torch.float64)
    state_ours = state_ref = random_state(n_states, (B,), torch.float64)
    for x_t in torch.randn(5, B, I, dtype=torch.float64):
        state_ours, state_ref = ours(x_t, state_ours), reference(x_t, state_ref)
    assert_same(state_ours, state_ref, torch.float64)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_parameter_names_and_shapes_match_torch_nn_cell(kind):
    ours, reference, _ = twins(kind, True, torch.float32)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in reference.state_dict().items()}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_accepts_empty_batch(kind):
    ours, reference, _ = twins(kind, True, torch.float32)
    out = ours(torch.randn(0, I))
    expected = reference(torch.randn(0, I))
    shapes = [t.shape for t in out] if isinstance(out, tuple) else out.shape
    assert shapes == ([t.shape for t in expected] if isinstance(expected, tuple) else expected.shape)
