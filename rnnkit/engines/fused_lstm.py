"""Hand-written BPTT for one direction of an LSTM layer (`rnnkit.cells.lstm`).

Forward, per step t (gate order i, f, g, o; the input projection xp_t = W_ih x_t + b_ih + b_hh is
computed for all steps first, layer-normalised when asked):

    v_t = W_hh (h_{t-1} * d)               one (B, P) x (P, 4H) GEMM; d = recurrent-dropout mask or 1
    v_t = LN_hh(v_t)                       with layer norm
    i, f, g, o = sig, sig, tanh, sig (xp_t + v_t)
    c_t = f c_{t-1} + i g
    h_t = o tanh(c_t)    (o tanh(LN_c(c_t)) with layer norm);   h_t = W_hr h_t with proj_size

Stored for the backward (per token): the activated gates (4H), c_t (H), tanh(c_t) (H), the outputs
(P, returned anyway), and the layer norms' xhat and 1/std. Backward, per step, from the last:

    dh  = dh_{t+1 -> t} + dout_t;          dh_pre = dh W_hr with proj_size
    dc  = dc_{t+1 -> t} + dh_pre o (1 - tanh^2(c_t))            (through LN_c's backward)
    dA  = [dc g i(1-i),  dc c_{t-1} f(1-f),  dc i (1-g^2),  dh_pre tanh(c_t) o(1-o)]
    dc_{t -> t-1} = dc f;   dh_{t -> t-1} = (LN_hh^T dA) W_hh * d

after which dW_ih, dW_hh, dW_hr, db, dX and the layer-norm gains are single GEMMs/reductions over all
T*B rows (`rnnkit.engines.bptt`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.functional import LN_EPS
from rnnkit.engines import bptt, native, workspace
from rnnkit.engines.spec import DirectionResult, DirectionWeights


# ---- the time loops, written with torch ops (any device); `csrc/recurrence.cpp` mirrors them -------------
def forward_loop(h, c, w_hh_t, w_hr_t, mask, hdrop, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b, eps, out, G, C, TC,
                 XH, RH, XC, RC, store) -> None:
    """Steps [0, S) of the forward: G (S,B,4H) holds the input projections on entry, the activated gates
    on exit; the state h (B,P), c (B,H) is updated in place; the other buffers have S steps (store) or 1."""
    H = C.shape[-1]
    for t, gates in enumerate(G.unbind(0)):
        s = t if store else 0
        v = torch.mm(h if hdrop is None else h * hdrop, w_hh_t)
        if ln_hh_w is not None:
            v, XH[s], RH[s] = bptt.layer_norm(v, ln_hh_w, ln_hh_b)
        gates += v
        gates[:, :2 * H].sigmoid_()
        gates[:, 2 * H:3 * H].tanh_()
        gates[:, 3 * H:].sigmoid_()
        i, f, g, o = gates.chunk(4, 1)
        c_new = torch.addcmul(f * c, i, g)
        if ln_c_w is not None:
            y, XC[s], RC[s] = bptt.layer_norm(c_new, ln_c_w, ln_c_b)
            tc = torch.tanh(y, out=TC[s])
        else:
            tc = torch.tanh(c_new, out=TC[s])
        h_new = o * tc
        if w_hr_t is not None:
            h_new = h_new @ w_hr_t
        if mask is None:
            C[s] = c_new
            c.copy_(c_new)
            h.copy_(h_new)
            out[t] = h_new
            continue
        m = mask[t].unsqueeze(1)
        gates.masked_fill_(~m, 0)  # padded rows store zeros
        for buf in (TC, XH, XC):
            if buf is not None:
                buf[s].masked_fill_(~m, 0)
        for buf in (RH, RC):
            if buf is not None:
                buf[s].masked_fill_(~mask[t], 0)
        torch.where(m, c_new, c, out=C[s])
        c.copy_(C[s])
        torch.where(m, h_new, h, out=h)
        out[t] = h_new.masked_fill(~m, 0)


def backward_loop(dout, dh, dc, c_init, w_hh, w_hr, mask, hdrop, ln_hh_w, ln_c_w, G, C, TC, XH, RH, XC, RC,
                  dA, dV, dHo, dYC) -> None:
    """Backward of steps [0, S): dh, dc go from the gradient at the last state to the one at the first."""
    for t in range(G.shape[0] - 1, -1, -1):
        m = None if mask is None else mask[t].unsqueeze(1)
        dht = dh + dout[t]
        if m is not None:
            dht.masked_fill_(~m, 0)
        if w_hr is not None:
            dHo[t] = dht
            dht = dht @ w_hr
        i, f, g, o = G[t].chunk(4, 1)
        tc = TC[t]
        c_prev = C[t - 1] if t > 0 else c_init
        dtc = dht * o * (1 - tc * tc)
        if ln_c_w is not None:
            dYC[t] = dtc
            dtc = bptt.layer_norm_backward(dtc, XC[t], RC[t], ln_c_w)
        dcur = dc + dtc
        da = torch.cat([dcur * g * i * (1 - i), dcur * c_prev * f * (1 - f), dcur * i * (1 - g * g),
                        dht * tc * o * (1 - o)], dim=1)
        if m is not None:
            da.masked_fill_(~m, 0)
        dA[t] = da
        if ln_hh_w is not None:
            da = bptt.layer_norm_backward(da, XH[t], RH[t], ln_hh_w)
            dV[t] = da
        dh_prev = da @ w_hh
        if hdrop is not None:
            dh_prev *= hdrop
        if m is None:
            torch.mul(dcur, f, out=dc)
            dh.copy_(dh_prev)
        else:
            torch.where(m, dcur * f, dc, out=dc)
            torch.where(m, dh_prev, dh, out=dh)


def _loops(opts: bptt.Options):
    if opts.native:
        ops = native.loops()
        return ops.lstm_forward, ops.lstm_backward
    return forward_loop, backward_loop


# ---- buffers and the autograd Function -----------------------------------------------------------------
class _Buffers:
    """The forward's buffers: G (gates) for `steps` steps; C, TC and the layer-norm statistics for
    `steps` steps too when the backward needs them (store), else for one step (scratch)."""

    def __init__(self, like: Tensor, steps: int, store: bool, B: int, H: int, ln_hh: bool, ln_c: bool) -> None:
        new = lambda *shape: workspace.empty(like, *shape)  # noqa: E731
        n = steps if store else 1
        self.G, self.C, self.TC = new(steps, B, 4 * H), new(n, B, H), new(n, B, H)
        self.XH, self.RH = (new(n, B, 4 * H), new(n, B)) if ln_hh else (None, None)
        self.XC, self.RC = (new(n, B, H), new(n, B)) if ln_c else (None, None)

    def all(self) -> tuple:
        return self.G, self.C, self.TC, self.XH, self.RH, self.XC, self.RC

    @classmethod
    def of(cls, tensors) -> _Buffers:
        bufs = cls.__new__(cls)
        bufs.G, bufs.C, bufs.TC, bufs.XH, bufs.RH, bufs.XC, bufs.RC = tensors
        return bufs


def _forward_segment(fwd, x, s, e, h, c, w_ih, bias, w_hh_t, w_hr_t, opts, ln, out, bufs, store):
    """Project steps [s, e) into bufs.G and run the time loop over them."""
    proj = bptt.project(x[s:e], w_ih, bias, None if ln[0] is None else (ln[0], ln[1]), bufs.G, opts)
    fwd(h, c, w_hh_t, w_hr_t, bptt.sliced(opts.mask, s, e), opts.h_dropout, ln[2], ln[3], ln[4], ln[5], LN_EPS,
        out, *bufs.all(), store)
    return proj


def _forward(opts, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ln, store: bool):
    """Run the whole forward. Returns out, h_T, c_T, the stored buffers, the projection and checkpoints."""
    T, B, _ = x.shape
    H, P = w_hh.shape[0] // 4, w_hh.shape[1]
    fwd, _ = _loops(opts)
    bias = bptt.bias_sum(b_ih, b_hh)
    w_hh_t, w_hr_t = w_hh.t().contiguous(), bptt.contiguous(None if w_hr is None else w_hr.t())
    h, c = h0.clone(memory_format=torch.contiguous_format), c0.clone(memory_format=torch.contiguous_format)
    out = workspace.empty(x, T, B, P)
    ln_flags = (ln[2] is not None, ln[4] is not None)
    if not opts.checkpoint:
        bufs = _Buffers(x, T, store, B, H, *ln_flags)
        proj = _forward_segment(fwd, x, 0, T, h, c, w_ih, bias, w_hh_t, w_hr_t, opts, ln, out, bufs, store)
        return out, h, c, bufs, proj, []
    starts, seg = [], _Buffers(x, opts.checkpoint, False, B, H, *ln_flags)
    for s, e in bptt.segments(T, opts.checkpoint):  # keep only the state at each segment's start
        starts += [h.clone(), c.clone()]
        bufs = _Buffers.of((seg.G[:e - s], *seg.all()[1:]))
        _forward_segment(fwd, x, s, e, h, c, w_ih, bias, w_hh_t, w_hr_t, opts, ln, out[s:e], bufs, False)
    return out, h, c, None, None, starts


class LSTMFunction(torch.autograd.Function):
    """One direction of one LSTM layer with a hand-written backward."""

    @staticmethod
    def forward(ctx, opts, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, *ln):
        out, h, c, bufs, proj, starts = _forward(opts, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, ln, store=True)
        ctx.opts = opts
        # checkpointing: the state at each segment's start; else every step's buffers and the input
        # layer norm's statistics
        extra = starts if opts.checkpoint else [*bufs.all(), *proj]
        bptt.save_inputs(ctx, "lstm", (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, *ln), out, *extra)
        return out, h, c

    @staticmethod
    @bptt.hand_backward
    def backward(ctx, dout, dhT, dcT):
        opts = ctx.opts
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, *rest = ctx.saved_tensors
        ln, out, extra = rest[:6], rest[6], rest[7:]
        T, B, _ = x.shape
        H, P = w_hh.shape[0] // 4, w_hh.shape[1]
        fwd, bwd = _loops(opts)
        dout = bptt.grad_or_zeros(dout, out)
        dh, dc = bptt.grad_or_zeros(dhT, h0, fresh=True), bptt.grad_or_zeros(dcT, c0, fresh=True)
        w_hh_c, w_hr_c = w_hh.contiguous(), bptt.contiguous(w_hr)
        if opts.checkpoint:  # the forward's operands, for recomputing segments
            w_hh_t, w_hr_t = w_hh.t().contiguous(), bptt.contiguous(None if w_hr is None else w_hr.t())
            bias = bptt.bias_sum(b_ih, b_hh)
        pg = bptt.ProjectionGrads(x, w_ih, ctx.needs_input_grad[1], opts)
        dw_hh = dw_hr = None
        dln_hh, dln_c = [None, None], [None, None]
        for k, (s, e) in reversed(list(enumerate(bptt.segments(T, opts.checkpoint)))):
            S = e - s
            if opts.checkpoint:  # recompute this segment's buffers from the state at its start
                h_s, c_s = extra[2 * k], extra[2 * k + 1]
                bufs = _Buffers(x, S, True, B, H, ln[2] is not None, ln[4] is not None)
                proj = _forward_segment(fwd, x, s, e, h_s.clone(), c_s.clone(), w_ih, bias, w_hh_t, w_hr_t, opts, ln,
                                        torch.empty_like(out[s:e]), bufs, True)
            else:
                h_s, c_s = h0.contiguous(), c0.contiguous()
                bufs, proj = _Buffers.of(extra[:7]), bptt.Projection(*extra[7:])
            dA = workspace.empty(x, S, B, 4 * H)
            dV = x.new_empty(S, B, 4 * H) if ln[2] is not None else None
            dHo = x.new_empty(S, B, P) if w_hr is not None else None
            dYC = x.new_empty(S, B, H) if ln[4] is not None else None
            bwd(dout[s:e], dh, dc, c_s, w_hh_c, w_hr_c, bptt.sliced(opts.mask, s, e), opts.h_dropout, ln[2], ln[4],
                *bufs.all(), dA, dV, dHo, dYC)
            dw_hh = bptt.recurrent_weight_grad(dw_hh, dA if dV is None else dV, h_s, out[s:e], opts.h_dropout)
            if ln[2] is not None:
                bptt.add_gain_grads(dln_hh, dA, bufs.XH)
            if w_hr is not None:  # dW_hr = sum_t dh_t^T (o tanh(c))_t
                dw_hr = bptt.accumulate(dw_hr, torch.mm(bptt.rows(dHo).t(), bptt.rows(bufs.G[..., 3 * H:] * bufs.TC)))
            if ln[4] is not None:
                bptt.add_gain_grads(dln_c, dYC, bufs.XC)
            pg.add(s, e, dA, proj, ln[0])
        db = pg.dbias
        ln_grads = (*pg.dln, *dln_hh, *dln_c) if ln[0] is not None else (None,) * 6
        return (None, pg.dx, dh, dc, pg.dw_ih, dw_hh, db if b_ih is not None else None,
                db.clone() if b_hh is not None else None, dw_hr, *ln_grads)


def run(x: Tensor, state: tuple[Tensor, ...], w: DirectionWeights, opts: bptt.Options) -> DirectionResult:
    """One direction of an LSTM layer over x: (T, B, I); see `rnnkit.engines.spec.Engine`."""
    h0, c0 = state
    ln = (*w.ln.ih, *w.ln.hh, *w.ln.c) if w.ln is not None else (None,) * 6
    tensors = (x, h0, c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_hr, *ln)
    if bptt.needs_grad(tensors):
        out, h, c = LSTMFunction.apply(opts, *tensors)
    else:
        out, h, c, *_ = _forward(opts, *tensors[:8], ln, store=False)
    return DirectionResult(out, (h, c), None)
