"""TBPTT(k1, k2) against brute-force references: explicit unrolled autograd of the same truncated objective."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from rnnkit.training.streams import ContiguousStream
from rnnkit.training.tbptt import TBPTT, stream_loss
from training.toys import ToyStateful, mse_sum, toy_stream


def run_tbptt(model, stream, k1, k2, lr=0.0):
    """Per-update gradients (name -> tensor) of a TBPTT run with plain SGD (lr=0: parameters fixed)."""
    runner = TBPTT(k1, k2, mse_sum)
    grads, losses = [], []
    for batch in stream:
        model.zero_grad(set_to_none=True)
        res = runner.update(model, batch)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        losses.append(res.loss)
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
    return grads, losses


def reference(model, stream, k1, k2, lr=0.0):
    """Brute force: for the update at step t, unroll steps t-k2+1..t one at a time from h_{t-k2} (computed
    without a graph), step s using the parameter version of its block; J = mean loss of steps t-k1+1..t;
    its gradient w.r.t. every version, summed, is the update's gradient."""
    x, y = stream.x, stream.y                                        # (B, L, ·)
    reset = stream.reset
    B, L = x.shape[:2]
    params0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    versions = [params0]                                             # versions[j]: parameters of block j
    grads = []

    def step(params, s, h):
        if reset is not None and h is not None:
            keep = (~reset[:, s]).to(x.dtype).view(1, B, 1)
            h = tuple(t * keep for t in h) if isinstance(h, tuple) else h * keep
        out, h = functional_call(model, params, (x[:, s:s + 1], h))
        return out, h

    for u in range(L // k1):
        t = (u + 1) * k1
        lo = max(t - k2, 0)
        h = None
        with torch.no_grad():
            for s in range(lo):
                _, h = step(versions[s // k1], s, h)
        leaves = [{n: v.clone().requires_grad_() for n, v in versions[j].items()} for j in range(u + 1)]
        J = 0
        for s in range(lo, t):
            out, h = step(leaves[s // k1], s, h)
            if s >= t - k1:
                J = J + mse_sum(out, y[:, s:s + 1])[0]
        J = J / (B * k1)
        g = torch.autograd.grad(J, [v for leaf in leaves for v in leaf.values()], allow_unused=True)
        names = list(params0)
        total = {n: sum(g[j * len(names) + i] for j in range(u + 1) if g[j * len(names) + i] is not None)
                 for i, n in enumerate(names)}
        grads.append(total)
        versions.append({n: versions[-1][n] - lr * total[n] for n in names})
    return grads


def assert_grads_equal(got, want):
    assert len(got) == len(want)
    for u, (a, b) in enumerate(zip(got, want, strict=True)):
        for n in b:
            torch.testing.assert_close(a[n], b[n], rtol=1e-9, atol=1e-12, msg=f"update {u}, {n}")


@pytest.mark.parametrize(("k1", "k2"), [(4, 4), (2, 5), (3, 5), (1, 3), (3, 7), (2, 8), (4, 6)])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_tbptt_gradients_match_bruteforce_reference(cell, k1, k2):
    model = ToyStateful(cell)
    stream = toy_stream(N=12 * k1 if k1 < 3 else 4 * k1, T=k1)
    got, _ = run_tbptt(model, stream, k1, k2)
    assert_grads_equal(got, reference(model, stream, k1, k2))


@pytest.mark.parametrize(("k1", "k2"), [(2, 5), (3, 3), (2, 6)])
def test_tbptt_with_updates_between_windows_matches_versioned_reference(k1, k2):
    """Overlapping windows span parameter updates: each step's part of the gradient uses the parameters it
    was computed with (no forward recomputation), exactly as the versioned brute force does."""
    model = ToyStateful("elman", layers=2)
    stream = toy_stream(N=6 * k1, T=k1)
    want = reference(model, stream, k1, k2, lr=0.1)
    got, _ = run_tbptt(model, stream, k1, k2, lr=0.1)
    assert_grads_equal(got, want)


def test_tbptt_resets_rows_where_a_sequence_ends_mid_batch():
    B, N = 2, 12
    starts = torch.zeros(B * N, dtype=torch.bool)
    starts[[5, 9, 14, 15]] = True                      # row 0 restarts at its steps 5, 9; row 1 at 2, 3
    model = ToyStateful("lstm")
    stream = toy_stream(B, N, T=3, starts=starts)
    assert stream.reset is not None and stream.reset.sum() == 4
    got, _ = run_tbptt(model, stream, 3, 5)
    assert_grads_equal(got, reference(model, stream, 3, 5))


@pytest.mark.parametrize("k2", [12, 100])
def test_k2_at_least_stream_length_is_full_bptt(k2):
    model = ToyStateful("lstm")
    stream = toy_stream(N=12, T=12)
    got, _ = run_tbptt(model, stream, 12, k2)
    out, _ = model(stream.x)
    J = mse_sum(out, stream.y)[0] / stream.y[..., 0].numel()
    full = torch.autograd.grad(J, list(model.parameters()))
    for (n, _), g in zip(model.named_parameters(), full, strict=True):
        torch.testing.assert_close(got[0][n], g, rtol=1e-10, atol=1e-12)


def test_k2_beyond_stream_sends_every_loss_to_step_one():
    """With k2 >= T every step's loss reaches step 1, so the per-update gradients (weighted by their share
    of the targets) add up to the full-BPTT gradient of the whole stream."""
    model = ToyStateful("gru")
    stream = toy_stream(N=12, T=3)
    got, _ = run_tbptt(model, stream, 3, 1000)
    out, _ = model(stream.x)
    full = torch.autograd.grad(mse_sum(out, stream.y)[0] / 24, list(model.parameters()))
    for (n, _), g in zip(model.named_parameters(), full, strict=True):
        torch.testing.assert_close(sum(u[n] for u in got) * 3 / 12, g, rtol=1e-10, atol=1e-12)


def test_carried_state_across_batches_equals_one_long_sequence():
    model = ToyStateful("lstm", layers=2)
    stream = toy_stream(N=20, T=4)
    runner = TBPTT(4, 4, mse_sum)
    _, losses = run_tbptt(model, stream, 4, 4)
    out, (h, c) = model(stream.x)
    per_step = ((out - stream.y) ** 2).sum(-1).sum(0)                # (L,)
    torch.testing.assert_close(torch.tensor(losses, dtype=torch.float64),
                               per_step.view(-1, 4).sum(1) / (2 * 4), rtol=1e-12, atol=0)
    for batch in stream:
        runner.update(model, batch)
    torch.testing.assert_close(runner._state[0], h, rtol=1e-12, atol=0)
    torch.testing.assert_close(runner._state[1], c, rtol=1e-12, atol=0)
    total, count = stream_loss(model, ContiguousStream(stream.x.flatten(0, 1), stream.y.flatten(0, 1), 2, 3),
                               mse_sum)
    assert count == 40
    assert total == pytest.approx(float(((out - stream.y) ** 2).sum().detach()), rel=1e-12)


def test_window_memory_is_bounded():
    model = ToyStateful("gru", dtype=torch.float32)
    runner = TBPTT(2, 7, mse_sum)
    for batch in toy_stream(N=60, T=2, dtype=torch.float32):
        runner.update(model, batch)
        model.zero_grad()
        span = runner._t - (runner._links[0].t_start if runner._links else runner._t)
        assert span <= 7 - 2 + 2 and len(runner._blocks) <= 4


def test_batches_out_of_order_are_refused():
    model = ToyStateful("gru")
    stream = toy_stream(N=12, T=3)
    runner = TBPTT(3, 3, mse_sum)
    runner.update(model, stream.batch(0))
    with pytest.raises(ValueError, match="out of order: expected stream 'toy' from column 3"):
        runner.update(model, stream.batch(2))
    with pytest.raises(ValueError, match="exactly 4 steps; got 3"):
        TBPTT(4, 4, mse_sum).update(model, stream.batch(0))
    with pytest.raises(ValueError, match="k1 <= k2"):
        TBPTT(5, 3)


def test_update_without_a_loss_fn_says_what_is_missing():
    model, stream = ToyStateful("gru"), toy_stream()
    with pytest.raises(TypeError, match=r"TBPTT needs a loss to train"):
        TBPTT(4).update(model, stream.batch(0))
