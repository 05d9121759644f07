"""`step()`: streaming one time step at a time gives the numbers of one sequence call.

Exactly (bit for bit) with the reference engine; to float rounding with the default engine, whose fused
loops compute the input projection of all steps as one GEMM, and a GEMM's last bits depend on its shape.
"""

from __future__ import annotations

import pytest
import torch

import rnnkit

T, B, I, H, P = 5, 3, 4, 6, 2

CONFIGS = {
    "rnn_tanh": lambda **kw: rnnkit.RNN(I, H, **kw),
    "rnn_relu": lambda **kw: rnnkit.RNN(I, H, nonlinearity="relu", **kw),
    "gru": lambda **kw: rnnkit.GRU(I, H, **kw),
    "lstm": lambda **kw: rnnkit.LSTM(I, H, **kw),
    "lstm_proj": lambda **kw: rnnkit.LSTM(I, H, proj_size=P, **kw),
    "lstm_layer_norm": lambda **kw: rnnkit.LSTM(I, H, layer_norm=True, **kw),
    "gru_dropouts": lambda num_layers=1, **kw: rnnkit.GRU(I, H, num_layers, dropout=0.3 if num_layers > 1 else 0.0,
                                                          recurrent_dropout=0.3, **kw),
}


def states_of(state) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def assert_matches(actual, expected, engine):
    if engine == "reference":
        assert torch.equal(actual, expected)
    else:
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6)


def stream(layer, xs, state=None):
    """Feed xs one step at a time; returns (stacked outputs along dim 0, final state)."""
    ys = []
    for x_t in xs:
        y, state = layer.step(x_t, state)
        ys.append(y)
    return torch.stack(ys), state


@pytest.mark.parametrize("engine", ["reference", "auto"])
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_chained_steps_equal_the_sequence_call(config, num_layers, batch_first, with_hx, engine):
    layer = CONFIGS[config](num_layers=num_layers, batch_first=batch_first, engine=engine).eval()
    x = torch.randn((B, T, I) if batch_first else (T, B, I))
    hx = None
    if with_hx:
        _, hx = layer(torch.randn((B, 2, I) if batch_first else (2, B, I)))
    out, state = layer(x, hx)
    ys, streamed = stream(layer, x.unbind(1 if batch_first else 0), hx)
    assert_matches(ys, out.transpose(0, 1) if batch_first else out, engine)
    for a, b in zip(states_of(streamed), states_of(state), strict=True):
        assert_matches(a, b, engine)


@pytest.mark.parametrize("engine", ["reference", "auto"])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_unbatched_steps_equal_the_unbatched_sequence_call(config, engine):
    layer = CONFIGS[config](num_layers=2, engine=engine).eval()
    x = torch.randn(T, I)
    out, state = layer(x)
    ys, streamed = stream(layer, x)
    assert ys.shape == out.shape
    assert_matches(ys, out, engine)
    for a, b in zip(states_of(streamed), states_of(state), strict=True):
        assert a.shape == b.shape
        assert_matches(a, b, engine)


def test_step_returns_output_and_state_shaped_like_the_forward():
    layer = rnnkit.LSTM(I, H, num_layers=2, proj_size=P, batch_first=True)
    y, (h, c) = layer.step(torch.randn(B, I))
    assert y.shape == (B, P)
    assert h.shape == (2, B, P) and c.shape == (2, B, H)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_step_on_a_bidirectional_layer_raises(config):
    layer = CONFIGS[config](bidirectional=True).eval()
    with pytest.raises(ValueError, match=r"step\(\) needs a unidirectional layer"):
        layer.step(torch.randn(B, I))


def test_step_in_training_mode_with_recurrent_dropout_raises():
    layer = rnnkit.LSTM(I, H, recurrent_dropout=0.2)
    with pytest.raises(ValueError, match=r"call .eval\(\) first"):
        layer.step(torch.randn(B, I))


def test_step_inside_recurrent_dropout_scope_uses_one_mask_per_sequence_like_forward():
    layer, seq = rnnkit.GRU(I, H, 2, recurrent_dropout=0.4, engine="reference"), torch.randn(T, B, I)
    torch.manual_seed(3)
    whole, _ = layer(seq)
    torch.manual_seed(3)
    state, steps = None, []
    with layer.recurrent_dropout_scope():
        for x_t in seq:
            y, state = layer.step(x_t, state)
            steps.append(y)
    torch.testing.assert_close(torch.stack(steps), whole, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"recurrent_dropout_scope"):   # the scope is over
        layer.step(seq[0], state)


def test_each_recurrent_dropout_scope_draws_its_own_masks():
    layer, x = rnnkit.LSTM(I, H, recurrent_dropout=0.5), torch.randn(B, I)
    state = (torch.randn(1, B, H), torch.randn(1, B, H))
    outs = []
    for _ in range(2):
        with layer.recurrent_dropout_scope():
            first, _ = layer.step(x, state)
            again, _ = layer.step(x, state)
        torch.testing.assert_close(first, again, rtol=0, atol=0)
        outs.append(first)
    assert not torch.equal(outs[0], outs[1])


def test_recurrent_dropout_scope_rejects_another_batch_size():
    layer = rnnkit.GRU(I, H, recurrent_dropout=0.3)
    with layer.recurrent_dropout_scope(), pytest.raises(ValueError, match=r"batch size 3, got a batch of 2"):
        layer.step(torch.randn(3, I))
        layer.step(torch.randn(2, I))


def test_step_rejects_a_sequence_shaped_input():
    layer = rnnkit.GRU(I, H).eval()
    with pytest.raises(ValueError, match=r"input must be 1-D or 2-D \(batch, input_size\).*got a 3-D tensor"):
        layer.step(torch.randn(T, B, I))
