"""Degenerate shapes behave sensibly: empty sequences, a single row, an empty batch, a single step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit

I, H, P = 4, 6, 2

CONFIGS = {
    "rnn": lambda **kw: rnnkit.RNN(I, H, **kw),
    "gru": lambda **kw: rnnkit.GRU(I, H, **kw),
    "lstm": lambda **kw: rnnkit.LSTM(I, H, **kw),
    "lstm_proj": lambda **kw: rnnkit.LSTM(I, H, proj_size=P, **kw),
}

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")


def states_of(state) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def initial_state(layer, batch: tuple[int, ...]):
    LD = layer.num_layers * layer.num_directions
    h = torch.randn(LD, *batch, layer.proj_size or H)
    return (h, torch.randn(LD, *batch, H)) if layer.mode == "lstm" else h


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_empty_sequence_returns_no_outputs_and_the_initial_state(config, batch_first):
    layer = CONFIGS[config](num_layers=2, bidirectional=True, batch_first=batch_first)
    hx = initial_state(layer, (3,))
    out, state = layer(torch.randn((3, 0, I) if batch_first else (0, 3, I)), hx)
    assert out.shape == ((3, 0, 2 * layer.output_size) if batch_first else (0, 3, 2 * layer.output_size))
    for s, h in zip(states_of(state), states_of(hx), strict=True):
        assert torch.equal(s, h)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_empty_sequence_without_state_returns_zero_state(config):
    layer = CONFIGS[config]()
    out, state = layer(torch.randn(0, 2, I))
    assert out.shape == (0, 2, layer.output_size)
    assert all(not s.any() for s in states_of(state))


def test_empty_unbatched_sequence_returns_unbatched_shapes():
    out, (h, c) = rnnkit.LSTM(I, H, proj_size=P)(torch.randn(0, I))
    assert out.shape == (0, P) and h.shape == (1, P) and c.shape == (1, H)


def test_empty_sequence_with_zero_lengths_is_accepted():
    out, h = rnnkit.GRU(I, H)(torch.randn(0, 2, I), lengths=[0, 0])
    assert out.shape == (0, 2, H) and not h.any()


def test_empty_sequence_keeps_the_graph_to_the_initial_state():
    h0 = torch.randn(1, 2, H, requires_grad=True)
    _, h = rnnkit.GRU(I, H)(torch.randn(0, 2, I), h0)
    h.sum().backward()
    assert torch.equal(h0.grad, torch.ones_like(h0))


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_single_row_batch_matches_torch_nn(config, assert_same):
    layer = CONFIGS[config](num_layers=2, bidirectional=True)
    reference = layer.to_torch()
    x = torch.randn(5, 1, I)
    assert_same(layer(x), reference(x))
    out, _ = layer(x, lengths=[3])
    assert out.shape == (5, 1, 2 * layer.output_size) and not out[3:].any()


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_single_step_sequence_matches_torch_nn(config, assert_same):
    layer = CONFIGS[config](num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(3, 1, I)
    assert_same(layer(x), layer.to_torch()(x))


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_empty_batch_returns_empty_outputs_and_states(config):
    layer = CONFIGS[config](num_layers=2, bidirectional=True)
    out, state = layer(torch.randn(5, 0, I))
    ref_out, ref_state = layer.to_torch()(torch.randn(5, 0, I))
    assert out.shape == ref_out.shape
    assert [s.shape for s in states_of(state)] == [s.shape for s in states_of(ref_state)]


def test_empty_batch_accepts_empty_lengths():
    out, (h, c) = rnnkit.LSTM(I, H)(torch.randn(5, 0, I), lengths=[])
    assert out.shape == (5, 0, H) and h.shape == c.shape == (1, 0, H)


def test_single_unit_layers_work():
    layer = rnnkit.LSTM(1, 2, proj_size=1, num_layers=2)
    out, (h, c) = layer(torch.randn(4, 1, 1), lengths=[2])
    assert out.shape == (4, 1, 1) and h.shape == (2, 1, 1) and c.shape == (2, 1, 2)


def test_layers_move_between_dtypes_like_torch():
    layer = rnnkit.GRU(I, H).double()
    out, _ = layer(torch.randn(5, 2, I, dtype=torch.float64))
    assert out.dtype == torch.float64
    assert isinstance(layer.to_torch(), nn.GRU) and layer.to_torch().weight_ih_l0.dtype == torch.float64
