"""What the fused engines' hand-written backward hands elsewhere (`rnnkit.engines.bptt.hand_backward`).

backward(create_graph=True) (gradient penalties, MAML) must give a gradient that autograd can
differentiate again, equal to the reference engine's; and .backward() called inside an autocast block
must run in the forward's dtypes.
"""

from __future__ import annotations

import pytest
import torch

import rnnkit
from engines.cases import all_combos, outputs, problem
from rnnkit.engines import fused, reference

COMBOS = [c for c in all_combos() if c.mask and c.h_dropout and c.state]


def penalty_grads(engine, p, **kw) -> list[torch.Tensor]:
    """d/dleaves of sum(out^2) + |d sum(out^2) / dx|^2: needs the gradient's own gradient."""
    outs = outputs(engine, p, **kw)
    loss = sum(o.square().sum() for o in outs)
    (gx,) = torch.autograd.grad(loss, p.x, create_graph=True)
    return list(torch.autograd.grad(loss + gx.square().sum(), p.leaves, allow_unused=True))


@pytest.mark.parametrize("checkpoint", [None, 2])
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.id)
def test_gradient_of_a_gradient_equals_the_reference_engines(combo, checkpoint):
    p = problem(combo)
    expected = penalty_grads(reference.run_direction, p)
    actual = penalty_grads(fused.run_direction, p, checkpoint=checkpoint)
    for leaf, a, e in zip(p.leaves, actual, expected, strict=True):
        zero = torch.zeros_like(leaf)
        torch.testing.assert_close(zero if a is None else a, zero if e is None else e, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_gradgradcheck_passes(mode):
    p = problem(next(c for c in COMBOS if c.mode == mode))

    def f(x, *state):
        return tuple(outputs(fused.run_direction, p.__class__(**{**p.__dict__, "x": x, "state": state})))

    state = [s for s in p.state]
    assert torch.autograd.gradgradcheck(f, (p.x, *state), fast_mode=True)


@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU, rnnkit.RNN])
def test_backward_inside_an_autocast_block_runs_in_the_forwards_dtype(cls):
    torch.manual_seed(0)
    layer, x = cls(3, 8, num_layers=2, engine="fused"), torch.randn(6, 4, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = layer(x)
        out.float().square().sum().backward()
    inside = [q.grad.clone() for q in layer.parameters()]
    layer.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out2, _ = layer(x)
    out2.float().square().sum().backward()
    assert out.dtype == (torch.float32 if cls is rnnkit.GRU else torch.bfloat16)     # as torch.nn on CPU
    for a, b in zip(inside, (q.grad for q in layer.parameters()), strict=True):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("engine", ["auto", "fused", "reference"])
def test_a_state_returned_under_autocast_can_be_fed_back(engine):
    from rnnkit.architectures import Seq2Seq

    layer, x = rnnkit.LSTM(3, 4, num_layers=2, engine=engine), torch.randn(5, 2, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, state = layer(x)
        out, _ = layer(x, tuple(s.detach() for s in state))          # carried across batches
        layer.eval()
        y, state = layer.step(x[0])
        y, state = layer.step(x[1], state)                           # a decoding loop
        model = Seq2Seq(src_vocab_size=9, tgt_vocab_size=7, hidden_size=6, layer_options={"engine": engine})
        logits = model(torch.randint(3, 9, (2, 4)), torch.randint(0, 7, (2, 5))).logits
    assert out.shape == (5, 2, 4) and y.shape == (2, 4) and logits.shape == (2, 5, 7)


@pytest.mark.parametrize("engine", ["auto", "fused", "vendor"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU, rnnkit.RNN])
def test_under_autocast_a_layer_returns_the_dtype_torch_nn_returns(cls, dtype, engine):
    layer, x = cls(3, 4, engine=engine), torch.randn(5, 2, 3, requires_grad=True)
    twin = layer.to_torch()
    with torch.autocast("cpu", dtype=dtype):
        try:
            expected = twin(x)[0].dtype
        except RuntimeError:        # torch.nn's oneDNN LSTM fails in float16 on CPU (so does the vendor
            expected = None         # engine, which is that kernel); rnnkit's own engines run it in float16
        if expected is None and engine == "vendor":
            with pytest.raises(RuntimeError):
                layer(x)
            return
        out, state = layer(x)
    expected = expected or dtype
    assert out.dtype == expected and (state[0] if isinstance(state, tuple) else state).dtype == expected


def test_the_autocast_policy_probe_leaves_the_random_state_alone(monkeypatch):
    from rnnkit.engines import amp

    monkeypatch.setattr(amp, "_POLICY", {})             # as in a fresh process, e.g. a resumed run
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    assert [amp.torch_lowers(m, "cpu", torch.bfloat16) for m in ("lstm", "gru", "rnn_tanh")] == [True, False, True]
    assert torch.equal(torch.random.get_rng_state(), before)


def test_autocast_leaves_a_float64_layer_in_float64():
    layer = rnnkit.GRU(3, 4, dtype=torch.float64, engine="fused")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, h = layer(torch.randn(5, 2, 3, dtype=torch.float64))
    assert out.dtype == h.dtype == torch.float64


def test_the_fused_engine_runs_on_the_meta_device():
    layer = rnnkit.LSTM(3, 4, engine="fused", device="meta")
    out, _ = layer(torch.randn(5, 2, 3, device="meta"))
    assert out.device.type == "meta" and out.shape == (5, 2, 4)
