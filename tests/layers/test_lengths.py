"""`lengths=`: rows of any length in any order, each computed as if it had been run alone, unpadded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit

T, B, I, H, P = 5, 4, 3, 4, 2
LENGTHS = [3, 5, 0, 1]
DT = torch.float64

CONFIGS = {
    "rnn_tanh": lambda **kw: rnnkit.RNN(I, H, **kw),
    "rnn_relu": lambda **kw: rnnkit.RNN(I, H, nonlinearity="relu", **kw),
    "gru": lambda **kw: rnnkit.GRU(I, H, **kw),
    "lstm": lambda **kw: rnnkit.LSTM(I, H, **kw),
    "lstm_proj": lambda **kw: rnnkit.LSTM(I, H, proj_size=P, **kw),
    "gru_layer_norm": lambda **kw: rnnkit.GRU(I, H, layer_norm=True, **kw),
}


def states_of(state) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def initial_state(layer, batch: int):
    LD = layer.num_layers * layer.num_directions
    h = torch.randn(LD, batch, layer.proj_size or H, dtype=DT)
    return (h, torch.randn(LD, batch, H, dtype=DT)) if layer.mode == "lstm" else h


def take_rows(state, rows):
    s = tuple(t[:, rows] for t in states_of(state))
    return s if len(s) > 1 else s[0]


def seq(x: torch.Tensor, batch_first: bool) -> torch.Tensor:
    """(T, B, I) -> the layer's layout."""
    return x.transpose(0, 1) if batch_first else x


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_each_row_equals_running_that_row_alone_unpadded(config, bidirectional, batch_first):
    layer = CONFIGS[config](num_layers=2, bidirectional=bidirectional, batch_first=batch_first, dtype=DT)
    x = torch.randn(T, B, I, dtype=DT)
    hx = initial_state(layer, B)
    out, state = layer(seq(x, batch_first), hx, lengths=LENGTHS)
    out = seq(out, batch_first)                                            # (T, B, D*P)
    for b, n in enumerate(LENGTHS):
        alone_out, alone_state = layer(seq(x[:n, b:b + 1], batch_first), take_rows(hx, [b]))
        torch.testing.assert_close(out[:n, b:b + 1], seq(alone_out, batch_first), rtol=0, atol=1e-12)
        for s, a in zip(states_of(state), states_of(alone_state), strict=True):
            torch.testing.assert_close(s[:, b:b + 1], a, rtol=0, atol=1e-12)
        assert torch.equal(out[n:, b], torch.zeros_like(out[n:, b]))


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_backward_direction_starts_at_each_rows_last_real_step(config):
    layer = CONFIGS[config](bidirectional=True, dtype=DT)
    x = torch.randn(T, B, I, dtype=DT)
    out, _ = layer(x, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS):
        if n == 0:
            continue
        # The reverse direction's first step sees x[n - 1] and the zero initial state.
        _, last = layer(x[n - 1:n, b:b + 1])
        first_reverse = out[n - 1, b, layer.output_size:]
        expected = states_of(last)[0][1, 0]
        torch.testing.assert_close(first_reverse, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_zero_length_rows_return_the_initial_state_and_zero_outputs(config):
    layer = CONFIGS[config](num_layers=2, bidirectional=True, dtype=DT)
    hx = initial_state(layer, 3)
    out, state = layer(torch.randn(T, 3, I, dtype=DT), hx, lengths=[0, 2, 0])
    for s, h in zip(states_of(state), states_of(hx), strict=True):
        assert torch.equal(s[:, [0, 2]], h[:, [0, 2]])
    assert torch.equal(out[:, [0, 2]], torch.zeros_like(out[:, [0, 2]]))


def test_all_zero_lengths_return_the_initial_state():
    layer = rnnkit.LSTM(I, H, dtype=DT)
    hx = initial_state(layer, B)
    out, state = layer(torch.randn(T, B, I, dtype=DT), hx, lengths=[0] * B)
    assert torch.equal(state[0], hx[0]) and torch.equal(state[1], hx[1])
    assert not out.any()


@pytest.mark.parametrize("lengths", [
    LENGTHS, tuple(LENGTHS), torch.tensor(LENGTHS), torch.tensor(LENGTHS, dtype=torch.int32),
    torch.tensor(LENGTHS, dtype=torch.int16), np.array(LENGTHS),
], ids=["list", "tuple", "int64", "int32", "int16", "numpy"])
def test_lengths_are_accepted_as_any_integer_sequence(lengths):
    layer = rnnkit.GRU(I, H, bidirectional=True)
    x = torch.randn(T, B, I)
    reference = layer(x, lengths=torch.tensor(LENGTHS))
    out = layer(x, lengths=lengths)
    assert torch.equal(out[0], reference[0]) and torch.equal(out[1], reference[1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_lengths_may_live_on_another_device_than_the_input():
    layer = rnnkit.LSTM(I, H, bidirectional=True)
    x = torch.randn(T, B, I)
    on_cpu = layer(x, lengths=torch.tensor(LENGTHS))
    on_gpu = layer(x, lengths=torch.tensor(LENGTHS, device="cuda"))
    assert torch.equal(on_cpu[0], on_gpu[0])
    gpu_layer = rnnkit.LSTM(I, H, bidirectional=True, device="cuda")
    gpu_layer.load_state_dict(layer.state_dict())
    out, _ = gpu_layer(x.cuda(), lengths=torch.tensor(LENGTHS))        # CPU lengths, CUDA input
    torch.testing.assert_close(out.cpu(), on_cpu[0], rtol=0, atol=1e-5)


def test_permuting_rows_permutes_outputs_and_states():
    layer = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, dtype=DT)
    x = torch.randn(T, B, I, dtype=DT)
    perm = torch.tensor([2, 0, 3, 1])
    out, (h, c) = layer(x, lengths=LENGTHS)
    out_p, (h_p, c_p) = layer(x[:, perm], lengths=torch.tensor(LENGTHS)[perm])
    torch.testing.assert_close(out_p, out[:, perm], rtol=0, atol=1e-12)
    torch.testing.assert_close(h_p, h[:, perm], rtol=0, atol=1e-12)
    torch.testing.assert_close(c_p, c[:, perm], rtol=0, atol=1e-12)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_extra_padding_beyond_every_length_changes_nothing(config, batch_first):
    layer = CONFIGS[config](num_layers=2, bidirectional=True, batch_first=batch_first, dtype=DT)
    x = torch.randn(T, B, I, dtype=DT)
    longer = torch.cat([x, torch.randn(4, B, I, dtype=DT)])                  # T + 4 steps, all padding
    out, state = layer(seq(x, batch_first), lengths=LENGTHS)
    out_long, state_long = layer(seq(longer, batch_first), lengths=LENGTHS)
    out_long = seq(out_long, batch_first)
    assert out_long.shape[0] == T + 4
    torch.testing.assert_close(out_long[:T], seq(out, batch_first), rtol=0, atol=1e-12)
    assert not out_long[T:].any()
    for a, b in zip(states_of(state_long), states_of(state), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_full_lengths_equal_no_lengths(config):
    layer = CONFIGS[config](num_layers=2, bidirectional=True)
    x = torch.randn(T, B, I)
    out, state = layer(x)
    out_l, state_l = layer(x, lengths=[T] * B)
    assert torch.equal(out, out_l)
    assert all(torch.equal(a, b) for a, b in zip(states_of(state), states_of(state_l), strict=True))


def test_non_finite_padding_reaches_neither_outputs_nor_gradients():
    layer = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, dtype=DT)
    x = torch.randn(T, B, I, dtype=DT)
    dirty = x.clone()
    dirty[3:, 0], dirty[:, 2], dirty[1:, 3] = float("nan"), float("inf"), float("nan")
    clean_out, (clean_h, _) = layer(x, lengths=LENGTHS)
    dirty = dirty.requires_grad_()
    out, (h, c) = layer(dirty, lengths=LENGTHS)
    torch.testing.assert_close(out, clean_out, rtol=0, atol=0)
    torch.testing.assert_close(h, clean_h, rtol=0, atol=0)
    (out.sum() + h.sum() + c.sum()).backward()
    for name, p in layer.named_parameters():
        assert bool(torch.isfinite(p.grad).all()), name
    mask = torch.arange(T).unsqueeze(1) < torch.tensor(LENGTHS)               # (T, B)
    assert bool(torch.isfinite(dirty.grad).all())
    assert not dirty.grad[~mask].any()


def test_unbatched_input_takes_a_scalar_length():
    layer = rnnkit.GRU(I, H, bidirectional=True, dtype=DT)
    x = torch.randn(T, I, dtype=DT)
    alone_out, alone_state = layer(x[:3])
    for length in (3, [3], torch.tensor(3), torch.tensor([3])):
        out, state = layer(x, lengths=length)
        assert out.shape == (T, 2 * H)
        torch.testing.assert_close(out[:3], alone_out, rtol=0, atol=1e-12)
        assert not out[3:].any()
        torch.testing.assert_close(state, alone_state, rtol=0, atol=1e-12)


def test_lengths_do_not_need_sorting_or_unsorting_by_the_user():
    layer = rnnkit.RNN(I, H)
    x = torch.randn(T, 2, I)
    out, h = layer(x, lengths=[1, 5])                  # increasing order; torch would need enforce_sorted=False
    torch.testing.assert_close(h[0, 0], out[0, 0])
    torch.testing.assert_close(h[0, 1], out[4, 1])
