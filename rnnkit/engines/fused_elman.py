"""Hand-written BPTT for one direction of an Elman layer (`rnnkit.cells.elman`, tanh or relu).

Forward, per step t (xp_t = W_ih x_t + b_ih + b_hh for all steps first):

    h_t = act(xp_t + W_hh (h_{t-1} * d))             one (B, H) x (H, H) GEMM; d = dropout mask or 1

The outputs are all the backward needs: tanh' = 1 - h^2, relu' = [h > 0]. Backward, per step:

    dA_t = (dh_{t+1 -> t} + dout_t) act'(h_t);    dh_{t -> t-1} = (dA_t W_hh) * d

then dW_ih, dW_hh, the biases and dX as single GEMMs over all T*B rows.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.engines import bptt, native, workspace
from rnnkit.engines.spec import DirectionResult, DirectionWeights


def forward_loop(h, w_hh_t, mask, hdrop, relu, out) -> None:
    """Steps [0, S) of the forward: out (S,B,H) holds the input projections on entry and h_t on exit;
    h (B,H) is updated in place."""
    for t, a in enumerate(out.unbind(0)):
        a.addmm_(h if hdrop is None else h * hdrop, w_hh_t)
        h_new = a.relu_() if relu else a.tanh_()
        if mask is None:
            h.copy_(h_new)
        else:
            m = mask[t].unsqueeze(1)
            torch.where(m, h_new, h, out=h)
            a.masked_fill_(~m, 0)


def backward_loop(dout, dh, w_hh, mask, hdrop, relu, out, dA) -> None:
    """Backward of steps [0, S): dh goes from dL/dh_S to dL/dh_0; writes dA, the pre-activation grads."""
    for t in range(out.shape[0] - 1, -1, -1):
        y = out[t]
        da = dh + dout[t]
        da = da * (y > 0) if relu else da * (1 - y * y)
        if mask is not None:
            da.masked_fill_(~mask[t].unsqueeze(1), 0)
        dA[t] = da
        dh_prev = da @ w_hh
        if hdrop is not None:
            dh_prev *= hdrop
        if mask is None:
            dh.copy_(dh_prev)
        else:
            torch.where(mask[t].unsqueeze(1), dh_prev, dh, out=dh)


def _loops(opts: bptt.Options):
    if opts.native:
        ops = native.loops()
        return ops.elman_forward, ops.elman_backward
    return forward_loop, backward_loop


def _forward(opts, relu, x, h0, w_ih, w_hh, b_ih, b_hh):
    T, B, _ = x.shape
    fwd, _ = _loops(opts)
    bias = bptt.bias_sum(b_ih, b_hh)
    w_hh_t = w_hh.t().contiguous()
    h = h0.clone(memory_format=torch.contiguous_format)
    out = workspace.empty(x, T, B, w_hh.shape[0])
    bptt.project(x, w_ih, bias, None, out, opts)
    fwd(h, w_hh_t, opts.mask, opts.h_dropout, relu, out)
    return out, h


class ElmanFunction(torch.autograd.Function):
    """One direction of one Elman layer with a hand-written backward.

    The outputs are all it stores, so checkpointing would save nothing: the option is ignored.
    """

    @staticmethod
    def forward(ctx, opts, relu, x, h0, w_ih, w_hh, b_ih, b_hh):
        out, h = _forward(opts, relu, x, h0, w_ih, w_hh, b_ih, b_hh)
        ctx.opts, ctx.relu = opts, relu
        bptt.save_inputs(ctx, "rnn_relu" if relu else "rnn_tanh", (x, h0, w_ih, w_hh, b_ih, b_hh), out)
        return out, h

    @staticmethod
    @bptt.hand_backward
    def backward(ctx, dout, dhT):
        opts = ctx.opts
        x, h0, w_ih, w_hh, b_ih, b_hh, out = ctx.saved_tensors
        _, bwd = _loops(opts)
        dout = bptt.grad_or_zeros(dout, out)
        dh = bptt.grad_or_zeros(dhT, h0, fresh=True)
        dA = workspace.empty(out, *out.shape)
        bwd(dout, dh, w_hh.contiguous(), opts.mask, opts.h_dropout, ctx.relu, out, dA)
        dw_hh = bptt.recurrent_weight_grad(None, dA, h0, out, opts.h_dropout)
        pg = bptt.ProjectionGrads(x, w_ih, ctx.needs_input_grad[2], opts)
        pg.add(0, x.shape[0], dA, bptt.Projection(None, None), None)
        db = pg.dbias
        return (None, None, pg.dx, dh, pg.dw_ih, dw_hh, db if b_ih is not None else None,
                db.clone() if b_hh is not None else None)


def run(mode: str, x: Tensor, state: tuple[Tensor, ...], w: DirectionWeights, opts: bptt.Options) -> DirectionResult:
    """One direction of an Elman layer over x: (T, B, I); see `rnnkit.engines.spec.Engine`."""
    (h0,) = state
    relu = mode == "rnn_relu"
    tensors = (x, h0, w.w_ih, w.w_hh, w.b_ih, w.b_hh)
    if bptt.needs_grad(tensors):
        out, h = ElmanFunction.apply(opts, relu, *tensors)
    else:
        out, h = _forward(opts, relu, *tensors)
    return DirectionResult(out, (h,), None)
