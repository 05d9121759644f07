"""Pieces shared by the fused engine's hand-written BPTT (`fused_lstm`, `fused_gru`, `fused_elman`).

Every cell splits the same way. What does not depend on the previous step is done for all T*B rows
at once: the input projection `X W_ih^T + b` (and its layer norm) in forward, and in backward
`dX = dXP W_ih`, `dW_ih = dXP^T X`, `dW_hh = dV^T H_in`, the biases and the layer-norm gains as
single GEMMs or reductions. Only the recurrence itself runs step by step, in a "loop" that writes
into preallocated buffers: the compiled loops of `rnnkit.engines.native` on CPU, or the same loops
written with torch ops (each cell module's `forward_loop` / `backward_loop`) on any device.

The hand-written backward covers first derivatives; `hand_backward` (end of this module) hands
backward(create_graph=True) to the reference engine's autograd graph, so second derivatives are exact too
(at the reference engine's cost: with checkpointing, the whole sequence's graph).

Checkpointing across time (`checkpoint=k`): the forward keeps only the outputs and the state every k
steps; the backward recomputes one k-step segment at a time (its input projection and its forward
loop) and backpropagates through it, so the stored activations drop from about 7H floats per token
(LSTM) to one segment's worth, for roughly one extra forward pass of time.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.cells.functional import LN_EPS, LayerNormParams
from rnnkit.engines import native, reference
from rnnkit.engines.spec import DirectionWeights


class Options(NamedTuple):
    """What one fused call needs besides the differentiable tensors."""

    mask: Tensor | None        # (T, B) bool, True at real steps
    h_dropout: Tensor | None   # (B, P|H) mask on h_{t-1} before W_hh
    checkpoint: int | None     # segment length for checkpointing across time; None stores everything
    native: bool               # use the compiled CPU loops


def options(x: Tensor, mask: Tensor | None, h_dropout: Tensor | None, checkpoint: int | str | None) -> Options:
    """Normalise the per-call options: contiguous masks, a concrete segment length, the loop choice."""
    T = x.shape[0]
    if checkpoint == "sqrt":
        checkpoint = max(1, math.isqrt(T))
    if mask is not None:
        mask = mask.to(device=x.device, dtype=torch.bool).contiguous()
    if h_dropout is not None:
        h_dropout = h_dropout.to(x.dtype).contiguous()
    return Options(mask, h_dropout, checkpoint if checkpoint and checkpoint < T else None, native.usable(x))


def needs_grad(tensors: Sequence[Tensor | None]) -> bool:
    """Whether autograd will want a backward for these inputs (else the forward stores nothing)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def segments(steps: int, checkpoint: int | None) -> list[tuple[int, int]]:
    """[start, end) step ranges: one for the whole sequence, or one per checkpoint segment."""
    if not checkpoint:
        return [(0, steps)]
    return [(s, min(s + checkpoint, steps)) for s in range(0, steps, checkpoint)]


def contiguous(t: Tensor | None) -> Tensor | None:
    return None if t is None else t.contiguous()


def sliced(t: Tensor | None, s: int, e: int) -> Tensor | None:
    return None if t is None else t[s:e]


def bias_sum(*biases: Tensor | None) -> Tensor | None:
    """The biases that add straight into the gate pre-activations, summed (None if there are none)."""
    present = [b for b in biases if b is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else sum(present[1:], present[0])


# ---- layer norm over the last dimension, forward and backward by hand ---------------------------------
def layer_norm(v: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """y = (v - mean) / sqrt(var + eps) * weight + bias over the last dim; also returns xhat and 1/std."""
    y, mean, rstd = torch.native_layer_norm(v, weight.shape, weight, bias, LN_EPS)
    return y, (v - mean) * rstd, rstd.squeeze(-1)


def layer_norm_backward(dy: Tensor, xhat: Tensor, rstd: Tensor, weight: Tensor) -> Tensor:
    """dL/dv for y = layer_norm(v): rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight."""
    g = dy * weight
    mean_g = g.mean(-1, keepdim=True)
    mean_gx = (g * xhat).mean(-1, keepdim=True)
    return rstd.unsqueeze(-1) * (g - mean_g - xhat * mean_gx)


def rows(t: Tensor) -> Tensor:
    """(T, B, F) -> (T*B, F), the layout of the bulk GEMMs."""
    return t.reshape(-1, t.shape[-1])


def add_gain_grads(acc: list[Tensor | None], dy: Tensor, xhat: Tensor) -> None:
    """Accumulate a layer norm's weight and bias gradients over all rows: sum(dy * xhat), sum(dy)."""
    acc[0] = accumulate(acc[0], rows(dy * xhat).sum(0))
    acc[1] = accumulate(acc[1], rows(dy).sum(0))


# ---- the input projection: one GEMM over all steps -----------------------------------------------------
class Projection(NamedTuple):
    """What the backward of the input projection needs beyond X and W_ih (with an input layer norm)."""

    xhat: Tensor | None        # layer norm's normalised W_ih x, (S, B, gH)
    rstd: Tensor | None        # (S, B)


def project(x: Tensor, w_ih: Tensor, bias: Tensor | None, ln_ih: tuple[Tensor, Tensor] | None,
            out: Tensor, opts: Options) -> Projection:
    """out = W_ih x_t (+ layer norm) + bias for every step of x: (S, B, I) at once.

    `out` is (S, B, gH), contiguous in its first two dims (its rows may be wider, as the GRU's G);
    the time loops then turn it into the gates in place. With the compiled loops the product uses
    their GEMM, whose rows do not depend on how many steps are projected together: `step()` then
    reproduces a whole-sequence call bit for bit.
    """
    S, B, _ = x.shape
    x2, out2 = rows(x), out.view(S * B, out.shape[-1])
    if opts.native:
        ops = native.loops()
        x2, w_t = x2.contiguous(), w_ih.t().contiguous()
        if ln_ih is None:
            ops.linear(x2, w_t, bias, out2)
            return Projection(None, None)
        v = x2.new_empty(S * B, w_t.shape[1])
        ops.linear(x2, w_t, None, v)
    elif ln_ih is None:
        if bias is not None:
            torch.addmm(bias, x2, w_ih.t(), out=out2)
        else:
            torch.mm(x2, w_ih.t(), out=out2)
        return Projection(None, None)
    else:
        v = torch.mm(x2, w_ih.t())
    y, xhat, rstd = layer_norm(v, *ln_ih)
    if bias is not None:
        torch.add(y, bias, out=out2)
    else:
        out2.copy_(y)
    return Projection(xhat.view(S, B, -1), rstd.view(S, B))


class ProjectionGrads:
    """Accumulates the gradients of the input projection over segments (one, without checkpointing)."""

    def __init__(self, x: Tensor, w_ih: Tensor, need_dx: bool, opts: Options) -> None:
        self.x, self.w_ih, self.need_dx, self.native = x, w_ih, need_dx, opts.native
        self.dx_parts: list[Tensor] = []
        self.dw_ih: Tensor | None = None
        self.dbias: Tensor | None = None
        self.dln: list[Tensor | None] = [None, None]

    def add(self, s: int, e: int, dxp: Tensor, proj: Projection, ln_w: Tensor | None) -> None:
        """dxp: (e-s, B, gH) gradient w.r.t. the projection of steps [s, e); segments come last to first."""
        self.dbias = accumulate(self.dbias, rows(dxp).sum(0))
        dv = dxp
        if proj.xhat is not None:
            add_gain_grads(self.dln, dxp, proj.xhat)
            dv = layer_norm_backward(dxp, proj.xhat, proj.rstd, ln_w)
        dv2 = rows(dv)
        self.dw_ih = accumulate(self.dw_ih, torch.mm(dv2.t(), rows(self.x[s:e])))  # dW_ih = dXP^T X
        if self.need_dx:  # dX = dXP W_ih
            if self.native:
                dx = dv2.new_empty(dv2.shape[0], self.w_ih.shape[1])
                native.loops().matmul(dv2.contiguous(), self.w_ih.contiguous(), dx)
            else:
                dx = torch.mm(dv2, self.w_ih)
            self.dx_parts.append(dx.view(e - s, *self.x.shape[1:]))

    @property
    def dx(self) -> Tensor | None:
        if not self.need_dx:
            return None
        parts = self.dx_parts[::-1]
        return parts[0] if len(parts) == 1 else torch.cat(parts)


def accumulate(total: Tensor | None, part: Tensor) -> Tensor:
    return part if total is None else total.add_(part)


def recurrent_weight_grad(total: Tensor | None, dv: Tensor, h_first: Tensor, out: Tensor,
                          h_dropout: Tensor | None) -> Tensor:
    """total + sum_t dV_t^T h_in_t, with h_in_t = h_{t-1} * dropout mask, as GEMMs over all steps.

    At real steps h_{t-1} is the previous output (or `h_first` at the segment's first step); padded
    steps have dV = 0, so the zeros the outputs hold there do not matter.
    """
    h_in0 = h_first if h_dropout is None else h_first * h_dropout
    dw = accumulate(total, torch.mm(dv[0].t(), h_in0))
    if dv.shape[0] > 1:
        h_in = out[:-1] if h_dropout is None else out[:-1] * h_dropout
        dw.addmm_(rows(dv[1:]).t(), rows(h_in))
    return dw


def grad_or_zeros(g: Tensor | None, like: Tensor, fresh: bool = False) -> Tensor:
    """An incoming gradient as a contiguous tensor (zeros when autograd passes None); `fresh` for one
    the loops may overwrite."""
    if g is None:
        return torch.zeros_like(like, memory_format=torch.contiguous_format)
    return g.clone(memory_format=torch.contiguous_format) if fresh else g.contiguous()


# ---- what a hand-written backward does not cover itself ----------------------------------------------
def save_inputs(ctx, mode: str, inputs: Sequence[Tensor | None], *extra: Tensor | None) -> None:
    """Save a Function's tensor inputs (first, in `unflatten`'s order) and what its backward needs."""
    ctx.mode, ctx.n_inputs, ctx.device_type = mode, len(inputs), inputs[0].device.type
    ctx.save_for_backward(*inputs, *extra)


def unflatten(mode: str, inputs: Sequence[Tensor | None]) -> tuple[Tensor, tuple[Tensor, ...], DirectionWeights]:
    """(x, h0[, c0], w_ih, w_hh, b_ih, b_hh[, w_hr], *layer-norm tensors) -> an engine's arguments.

    The order is the one every Function's forward takes and passes to `save_inputs`; the layer-norm tensors
    are (weight, bias) pairs for ih, hh (and c for the LSTM), or all None without layer norm."""
    n_state = 2 if mode == "lstm" else 1
    x, state, rest = inputs[0], tuple(inputs[1:1 + n_state]), inputs[1 + n_state:]
    w_hr, ln = (rest[4], rest[5:]) if mode == "lstm" else (None, rest[4:])
    pairs = list(zip(ln[::2], ln[1::2], strict=True))
    params = LayerNormParams(*pairs) if pairs and pairs[0][0] is not None else None
    return x, state, DirectionWeights(*rest[:4], w_hr, params)


def differentiable_grads(ctx, grads: Sequence[Tensor | None]) -> tuple[Tensor | None, ...]:
    """The input gradients as a graph autograd can differentiate again: rerun the reference engine on
    the saved inputs and differentiate it with create_graph=True (same function, so same numbers)."""
    n, needs = ctx.n_inputs, ctx.needs_input_grad[-ctx.n_inputs:]
    inputs = ctx.saved_tensors[:n]
    x, state, weights = unflatten(ctx.mode, inputs)
    res = reference.run_direction(ctx.mode, x, state, weights, ctx.opts.mask, ctx.opts.h_dropout)
    outs = (res.output, *res.state)
    wrt = [t for t, need in zip(inputs, needs, strict=True) if need]
    found = iter(torch.autograd.grad(outs, wrt, [grad_or_zeros(g, o) for g, o in zip(grads, outs, strict=True)],
                                     create_graph=True, allow_unused=True))
    return (None,) * (len(ctx.needs_input_grad) - n) + tuple(next(found) if need else None for need in needs)


def hand_backward(backward: Callable) -> Callable:
    """Wrap a fused Function's backward for the two cases the hand-written one does not cover:
    backward(create_graph=True) (a gradient penalty, MAML) differentiates the gradient again, so the
    gradient comes from `differentiable_grads`; and .backward() called inside an autocast block runs
    with autocast off, since the forward already ran in the dtypes it was given (as torch.amp.custom_bwd)."""

    @functools.wraps(backward)
    def run(ctx, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
        with torch.autocast(ctx.device_type, enabled=False):
            if torch.is_grad_enabled():
                return differentiable_grads(ctx, grads)
            return backward(ctx, *grads)

    return run
