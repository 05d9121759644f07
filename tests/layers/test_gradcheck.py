"""Autograd through every layer variant agrees with finite differences (float64 gradcheck).

Each check differentiates the output and final state(s) with respect to the input, the initial
state(s) and every parameter at once. Sizes are tiny so the full Jacobians stay cheap.
"""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit

T, B, I, H, P = 3, 2, 2, 3, 2
DT = torch.float64
LENGTHS = [3, 1]

VARIANTS = {
    # name: (constructor, forward keyword arguments, reseed before every call)
    "rnn_tanh_bidirectional_lengths": (lambda: rnnkit.RNN(I, H, bidirectional=True), {"lengths": LENGTHS}, False),
    "rnn_relu_two_layers": (lambda: rnnkit.RNN(I, H, num_layers=2, nonlinearity="relu"), {}, False),
    "rnn_no_bias_batch_first": (lambda: rnnkit.RNN(I, H, bias=False, batch_first=True), {}, False),
    "gru_bidirectional_lengths": (lambda: rnnkit.GRU(I, H, bidirectional=True), {"lengths": LENGTHS}, False),
    "gru_two_layers_zero_length_row": (lambda: rnnkit.GRU(I, H, num_layers=2), {"lengths": [0, 2]}, False),
    "gru_layer_norm_bidirectional": (lambda: rnnkit.GRU(I, H, bidirectional=True, layer_norm=True),
                                     {"lengths": LENGTHS}, False),
    "gru_recurrent_dropout": (lambda: rnnkit.GRU(I, H, recurrent_dropout=0.4), {}, True),
    "lstm_bidirectional_lengths": (lambda: rnnkit.LSTM(I, H, bidirectional=True), {"lengths": LENGTHS}, False),
    "lstm_proj_bidirectional_lengths": (lambda: rnnkit.LSTM(I, H, proj_size=P, bidirectional=True),
                                        {"lengths": LENGTHS}, False),
    "lstm_proj_two_layers_batch_first": (lambda: rnnkit.LSTM(I, H, num_layers=2, proj_size=P, batch_first=True),
                                         {"lengths": LENGTHS}, False),
    "lstm_layer_norm_forget_bias": (lambda: rnnkit.LSTM(I, H, layer_norm=True, forget_bias=1.0),
                                    {"lengths": LENGTHS}, False),
    "lstm_recurrent_dropout_proj": (lambda: rnnkit.LSTM(I, H, proj_size=P, recurrent_dropout=0.4), {}, True),
    "lstm_dropout_between_layers": (lambda: rnnkit.LSTM(I, H, num_layers=2, dropout=0.4), {}, True),
    "rnn_recurrent_dropout_lengths": (lambda: rnnkit.RNN(I, H, recurrent_dropout=0.4), {"lengths": LENGTHS}, True),
}


def initial_state(layer, batch: tuple[int, ...]) -> list[torch.Tensor]:
    LD = layer.num_layers * layer.num_directions
    states = [torch.randn(LD, *batch, layer.proj_size or H, dtype=DT)]
    if layer.mode == "lstm":
        states.append(torch.randn(LD, *batch, H, dtype=DT))
    return [s.requires_grad_() for s in states]


def as_function(layer, n_states: int, reseed: bool, **forward_kw):
    """f(x, *states, *params) -> (output, *final states), with the parameters as explicit inputs."""
    names = [n for n, _ in layer.named_parameters()]

    def f(x, *rest):
        states, params = rest[:n_states], rest[n_states:]
        hx = tuple(states) if layer.mode == "lstm" else states[0]
        if reseed:
            torch.manual_seed(1234)       # the same dropout masks on every evaluation
        out, state = functional_call(layer, dict(zip(names, params, strict=True)), (x, hx), forward_kw)
        return (out, *state) if layer.mode == "lstm" else (out, state)

    return f


def perturb(layer) -> None:
    """Move layer-norm gains and shifts off 1 and 0 so every gradient is exercised in general position."""
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("ln_"):
                p.add_(0.3 * torch.randn_like(p))


def params_of(layer) -> list[torch.Tensor]:
    return [p.detach().clone().requires_grad_() for p in layer.parameters()]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_layer_gradients_match_finite_differences(variant):
    make, forward_kw, reseed = VARIANTS[variant]
    layer = make().to(DT)
    perturb(layer)
    x = torch.randn((B, T, I) if layer.batch_first else (T, B, I), dtype=DT, requires_grad=True)
    states = initial_state(layer, (B,))
    f = as_function(layer, len(states), reseed, **forward_kw)
    assert torch.autograd.gradcheck(f, (x, *states, *params_of(layer)))


def test_recurrent_dropout_gradcheck_really_drops_units():
    """Guards the dropout variants above: with the fixed seed the mask is not all ones."""
    layer = rnnkit.GRU(I, H, recurrent_dropout=0.4).to(DT)
    x = torch.randn(T, B, I, dtype=DT)
    torch.manual_seed(1234)
    dropped = layer(x)[0]
    assert not torch.allclose(dropped, layer.eval()(x)[0])


@pytest.mark.parametrize("make", [lambda: rnnkit.LSTM(I, H, proj_size=P, bidirectional=True),
                                  lambda: rnnkit.GRU(I, H, num_layers=2)], ids=["lstm_proj_bi", "gru_two_layers"])
def test_unbatched_layer_gradients_match_finite_differences(make):
    layer = make().to(DT)
    x = torch.randn(T, I, dtype=DT, requires_grad=True)
    states = initial_state(layer, ())
    f = as_function(layer, len(states), False)
    assert torch.autograd.gradcheck(f, (x, *states, *params_of(layer)))


def test_packed_sequence_gradients_match_finite_differences():
    layer = rnnkit.LSTM(I, H, bidirectional=True).to(DT)
    names = [n for n, _ in layer.named_parameters()]

    def f(x, h0, c0, *params):
        packed = pack_padded_sequence(x, torch.tensor([1, 3]), enforce_sorted=False)
        out, (h, c) = functional_call(layer, dict(zip(names, params, strict=True)), (packed, (h0, c0)))
        return out.data, h, c

    x = torch.randn(T, B, I, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x, *initial_state(layer, (B,)), *params_of(layer)))
