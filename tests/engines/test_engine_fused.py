"""The fused engine against the reference engine, for every option combination.

Outputs and final states match to 1e-5 in float32; the hand-written backward passes
`torch.autograd.gradcheck` in float64 and equals the reference engine's autograd gradients. Each
check runs with the compiled CPU loops and with the torch-op loops the engine uses elsewhere.
"""

from __future__ import annotations

import pytest
import torch

from engines.cases import all_combos, grads, loops_context, outputs, problem
from rnnkit.engines import fused, reference

COMBOS = all_combos()
LOOPS = ("native", "python")


@pytest.mark.parametrize("loops", LOOPS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.id)
def test_outputs_match_reference_float32(combo, loops):
    p = problem(combo, torch.float32)
    expected = outputs(reference.run_direction, p)
    with loops_context(loops):
        actual = outputs(fused.run_direction, p)
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-5)


@pytest.mark.parametrize("loops", LOOPS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.id)
def test_gradients_match_reference_float64(combo, loops):
    p = problem(combo)
    expected = grads(outputs(reference.run_direction, p), p)
    with loops_context(loops):
        actual = grads(outputs(fused.run_direction, p), p)
    for leaf, a, e in zip(p.leaves, actual, expected, strict=True):
        if e is None:
            e = torch.zeros_like(leaf)
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("loops", LOOPS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.id)
def test_gradcheck(combo, loops):
    p = problem(combo)

    def f(*leaves):
        it = iter(leaves)
        x = next(it)
        state = tuple(next(it) if s.requires_grad else s for s in p.state)
        params = list(it)
        w = p.weights
        names = ["w_ih", "w_hh", "b_ih", "b_hh"] + (["w_hr"] if w.w_hr is not None else [])
        new = dict(zip(names, params, strict=False))
        ln = w.ln
        if ln is not None:
            rest = params[len(names):]
            pairs = [tuple(rest[i:i + 2]) for i in range(0, len(rest), 2)]
            ln = type(ln)(*pairs)
        weights = w._replace(**new, ln=ln)
        r = fused.run_direction(p.mode, x, state, weights, p.mask, p.h_dropout)
        return (r.output, *r.state)

    with loops_context(loops):
        assert torch.autograd.gradcheck(f, p.leaves, fast_mode=True)


@pytest.mark.parametrize("loops", LOOPS)
@pytest.mark.parametrize("combo", [c for c in COMBOS if c.mask and c.h_dropout and c.state
                                   and c.layer_norm == (c.mode in ("lstm", "gru"))], ids=lambda c: c.id)
@pytest.mark.parametrize("checkpoint", [1, 2, 3])
def test_checkpointing_gives_the_same_gradients(combo, loops, checkpoint):
    p = problem(combo, steps=7)
    expected = grads(outputs(reference.run_direction, p), p)
    with loops_context(loops):
        outs = outputs(fused.run_direction, p, checkpoint=checkpoint)
        actual = grads(outs, p)
    torch.testing.assert_close(outs[0], outputs(reference.run_direction, p)[0], rtol=0, atol=1e-12)
    for leaf, a, e in zip(p.leaves, actual, expected, strict=True):
        torch.testing.assert_close(a, torch.zeros_like(leaf) if e is None else e, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("loops", LOOPS)
@pytest.mark.parametrize("combo", [c for c in COMBOS if c.mask and c.h_dropout and c.state], ids=lambda c: c.id)
def test_inference_path_matches_training_path(combo, loops):
    """Without gradients the engine stores nothing; the numbers must not change."""
    p = problem(combo, torch.float32)
    with loops_context(loops):
        train = outputs(fused.run_direction, p)
        with torch.inference_mode():
            infer = outputs(fused.run_direction, p)
    for a, e in zip(infer, train, strict=True):
        torch.testing.assert_close(a, e.detach(), rtol=0, atol=0)


def test_compiled_and_python_loops_agree_float64():
    for combo in COMBOS:
        p = problem(combo)
        with loops_context("native"):
            native_out = outputs(fused.run_direction, p)
            native_grads = grads(native_out, p)
        with loops_context("python"):
            python_out = outputs(fused.run_direction, p)
            python_grads = grads(python_out, p)
        for a, e in zip(native_out + native_grads, python_out + python_grads, strict=True):
            torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12, msg=lambda m, c=combo: f"{c.id}: {m}")


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_long_sequence_float32_stays_close(mode):
    """Rounding must not drift over many steps (the compiled float32 exp/tanh are polynomial)."""
    from engines.cases import Combo

    p = problem(Combo(mode, state=True), torch.float32, steps=300)
    expected = outputs(reference.run_direction, p)
    with loops_context("native"):
        actual = outputs(fused.run_direction, p)
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-5)


def test_zero_steps_and_zero_batch():
    from engines.cases import Combo

    for mode in ("lstm", "gru", "rnn_tanh"):
        for steps in (0,):
            p = problem(Combo(mode), torch.float32, steps=steps)
            r = fused.run_direction(p.mode, p.x, p.state, p.weights)
            assert r.output.shape == (0, p.x.shape[1], p.state[0].shape[-1])
            for s, s0 in zip(r.state, p.state, strict=True):
                torch.testing.assert_close(s, s0)


def test_record_falls_back_to_reference():
    from engines.cases import Combo

    p = problem(Combo("lstm"), torch.float32)
    r = fused.run_direction(p.mode, p.x, p.state, p.weights, record=True)
    assert r.record is not None and set(r.record) >= {"h", "c", "i", "f", "g", "o"}


def test_without_the_compiled_loops_the_engine_warns_once_and_uses_python_loops(monkeypatch):
    from engines.cases import Combo
    from rnnkit.engines import native

    def broken_build():
        raise OSError("no compiler")

    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setattr(native, "_build", broken_build)
    p = problem(Combo("gru", mask=True), torch.float32)
    with pytest.warns(RuntimeWarning, match="compiled RNN loops unavailable"):
        actual = outputs(fused.run_direction, p)
    assert native.loops() is None and not native.usable(p.x)
    for a, e in zip(actual, outputs(reference.run_direction, p), strict=True):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_compiled_loops_give_the_same_bits_on_one_and_two_threads(cell):
    """The tests run on one thread; big enough shapes split the per-step work across threads (GEMM columns,
    gate-math rows), which must not change a single bit, lengths included."""
    import rnnkit
    from rnnkit.engines import native

    if native.loops() is None:
        pytest.skip("compiled loops unavailable")
    torch.manual_seed(0)
    layer = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}[cell](24, 256, engine="fused")
    x = torch.randn(6, 48, 24, requires_grad=True)
    lengths = torch.randint(1, 7, (48,))
    lengths[0] = 6

    def run():
        out, state = layer(x, lengths=lengths)
        loss = out.square().sum() + sum(s.square().sum() for s in (state if isinstance(state, tuple) else (state,)))
        return [out, *torch.autograd.grad(loss, [x, *layer.parameters()])]

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run()
        torch.set_num_threads(2)
        two = run()
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a, b)
    ref = rnnkit.LSTM if cell == "lstm" else None
    if ref is not None:
        layer.engine = "reference"
        expect = run()
        for a, b in zip(one, expect, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
