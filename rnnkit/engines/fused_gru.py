"""Hand-written BPTT for one direction of a GRU layer (`rnnkit.cells.gru`, PyTorch's formulation).

Forward, per step t (gate order r, z, n; xp_t = W_ih x_t + b_ih for all steps first, layer-normalised
when asked; b_hh stays with W_hh h because the reset gate multiplies its n part):

    v_t = W_hh (h_{t-1} * d) (-> LN_hh) + b_hh        one (B, H) x (H, 3H) GEMM
    r = sig(xr + vr);  z = sig(xz + vz);  n = tanh(xn + r vn)
    h_t = (1 - z) n + z h_{t-1}                       (the undropped h_{t-1})

Stored per token: r, z, n, vn (4H) and the outputs. Backward, per step from the last:

    dh  = dh_{t+1 -> t} + dout_t
    dAn = dh (1-z)(1-n^2);  dAr = dAn vn r(1-r);  dAz = dh (h_{t-1} - n) z(1-z)
    dXP = [dAr, dAz, dAn];  dV = [dAr, dAz, dAn r]   (then LN_hh's backward)
    dh_{t -> t-1} = dh z + (dV W_hh) * d

then dW_ih, dW_hh, db_ih, db_hh, dX and the gains as single GEMMs/reductions over all T*B rows.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.functional import LN_EPS
from rnnkit.engines import bptt, native, workspace
from rnnkit.engines.spec import DirectionResult, DirectionWeights


def forward_loop(h, w_hh_t, b_hh, mask, hdrop, ln_hh_w, ln_hh_b, eps, out, G, XH, RH, store) -> None:
    """Steps [0, S) of the forward: G (S,B,4H) holds the input projections in its first 3H columns on
    entry and r, z, n, vn on exit; h (B,H) is updated in place; XH/RH have S steps (store) or 1."""
    H = h.shape[-1]
    for t, g in enumerate(G.unbind(0)):
        s = t if store else 0
        v = torch.mm(h if hdrop is None else h * hdrop, w_hh_t)
        if ln_hh_w is not None:
            v, XH[s], RH[s] = bptt.layer_norm(v, ln_hh_w, ln_hh_b)
        if b_hh is not None:
            v += b_hh
        rz = g[:, :2 * H]
        rz.add_(v[:, :2 * H]).sigmoid_()
        r, z = g[:, :H], g[:, H:2 * H]
        n = g[:, 2 * H:3 * H]
        n.addcmul_(r, v[:, 2 * H:]).tanh_()
        g[:, 3 * H:] = v[:, 2 * H:]
        h_new = torch.lerp(n, h, z)                      # (1 - z) n + z h
        if mask is None:
            h.copy_(h_new)
            out[t] = h_new
            continue
        m = mask[t].unsqueeze(1)
        g.masked_fill_(~m, 0)
        if XH is not None:
            XH[s].masked_fill_(~m, 0)
            RH[s].masked_fill_(~mask[t], 0)
        torch.where(m, h_new, h, out=h)
        out[t] = h_new.masked_fill(~m, 0)


def backward_loop(dout, dh, h_init, w_hh, mask, hdrop, ln_hh_w, G, out, XH, RH, dXP, dHP, dV) -> None:
    """Backward of steps [0, S): dh goes from dL/dh_S to dL/dh_0; writes dXP, dHP (and dV with LN)."""
    for t in range(G.shape[0] - 1, -1, -1):
        m = None if mask is None else mask[t].unsqueeze(1)
        r, z, n, vn = G[t].chunk(4, 1)
        h_prev = out[t - 1] if t > 0 else h_init
        dht = dh + dout[t]
        if m is not None:
            dht.masked_fill_(~m, 0)
        dan = dht * (1 - z) * (1 - n * n)
        dar = dan * vn * r * (1 - r)
        daz = dht * (h_prev - n) * z * (1 - z)
        dXP[t] = torch.cat([dar, daz, dan], 1)
        dhp = torch.cat([dar, daz, dan * r], 1)
        dHP[t] = dhp
        if ln_hh_w is not None:
            dhp = bptt.layer_norm_backward(dhp, XH[t], RH[t], ln_hh_w)
            dV[t] = dhp
        dh_prev = dhp @ w_hh
        if hdrop is not None:
            dh_prev *= hdrop
        dh_prev += dht * z
        if m is None:
            dh.copy_(dh_prev)
        else:
            torch.where(m, dh_prev, dh, out=dh)


def _loops(opts: bptt.Options):
    if opts.native:
        ops = native.loops()
        return ops.gru_forward, ops.gru_backward
    return forward_loop, backward_loop


def _buffers(like: Tensor, steps: int, store: bool, B: int, H: int, ln_hh: bool) -> tuple:
    """G (steps, B, 4H); the layer norm's xhat and 1/std for `steps` steps (store) or one (scratch)."""
    n = steps if store else 1
    return workspace.empty(like, steps, B, 4 * H), *((like.new_empty(n, B, 3 * H), like.new_empty(n, B)) if ln_hh
                                               else (None, None))


def _forward_segment(fwd, x, s, e, h, w_ih, b_ih, w_hh_t, b_hh, opts, ln, out, bufs, store):
    """Project steps [s, e) into G's first 3H columns and run the time loop over them."""
    G = bufs[0]
    proj = bptt.project(x[s:e], w_ih, b_ih, None if ln[0] is None else (ln[0], ln[1]), G[..., :3 * G.shape[-1] // 4],
                        opts)
    fwd(h, w_hh_t, b_hh, bptt.sliced(opts.mask, s, e), opts.h_dropout, ln[2], ln[3], LN_EPS, out, *bufs, store)
    return proj


def _forward(opts, x, h0, w_ih, w_hh, b_ih, b_hh, ln, store: bool):
    T, B, _ = x.shape
    H = w_hh.shape[1]
    fwd, _ = _loops(opts)
    w_hh_t, b_hh = w_hh.t().contiguous(), bptt.contiguous(b_hh)
    h = h0.clone(memory_format=torch.contiguous_format)
    out = workspace.empty(x, T, B, H)
    if not opts.checkpoint:
        bufs = _buffers(x, T, store, B, H, ln[2] is not None)
        proj = _forward_segment(fwd, x, 0, T, h, w_ih, b_ih, w_hh_t, b_hh, opts, ln, out, bufs, store)
        return out, h, bufs, proj, []
    starts, seg = [], _buffers(x, opts.checkpoint, False, B, H, ln[2] is not None)
    for s, e in bptt.segments(T, opts.checkpoint):  # keep only the state at each segment's start
        starts.append(h.clone())
        _forward_segment(fwd, x, s, e, h, w_ih, b_ih, w_hh_t, b_hh, opts, ln, out[s:e], (seg[0][:e - s], *seg[1:]),
                         False)
    return out, h, None, None, starts


class GRUFunction(torch.autograd.Function):
    """One direction of one GRU layer with a hand-written backward."""

    @staticmethod
    def forward(ctx, opts, x, h0, w_ih, w_hh, b_ih, b_hh, *ln):
        out, h, bufs, proj, starts = _forward(opts, x, h0, w_ih, w_hh, b_ih, b_hh, ln, store=True)
        ctx.opts = opts
        extra = starts if opts.checkpoint else [*bufs, *proj]
        bptt.save_inputs(ctx, "gru", (x, h0, w_ih, w_hh, b_ih, b_hh, *ln), out, *extra)
        return out, h

    @staticmethod
    @bptt.hand_backward
    def backward(ctx, dout, dhT):
        opts = ctx.opts
        x, h0, w_ih, w_hh, b_ih, b_hh, *rest = ctx.saved_tensors
        ln, out, extra = rest[:4], rest[4], rest[5:]
        T, B, _ = x.shape
        H = w_hh.shape[1]
        fwd, bwd = _loops(opts)
        dout = bptt.grad_or_zeros(dout, out)
        dh = bptt.grad_or_zeros(dhT, h0, fresh=True)
        w_hh_c = w_hh.contiguous()
        if opts.checkpoint:  # the forward's operands, for recomputing segments
            w_hh_t, b_hh_c = w_hh.t().contiguous(), bptt.contiguous(b_hh)
        pg = bptt.ProjectionGrads(x, w_ih, ctx.needs_input_grad[1], opts)
        dw_hh = db_hh = None
        dln_hh = [None, None]
        for k, (s, e) in reversed(list(enumerate(bptt.segments(T, opts.checkpoint)))):
            S = e - s
            if opts.checkpoint:  # recompute this segment's buffers from the state at its start
                h_s = extra[k]
                bufs = _buffers(x, S, True, B, H, ln[2] is not None)
                proj = _forward_segment(fwd, x, s, e, h_s.clone(), w_ih, b_ih, w_hh_t, b_hh_c, opts, ln,
                                        torch.empty_like(out[s:e]), bufs, True)
            else:
                h_s = h0.contiguous()
                bufs, proj = tuple(extra[:3]), bptt.Projection(*extra[3:])
            G, XH, RH = bufs
            dXP, dHP = workspace.empty(x, S, B, 3 * H), workspace.empty(x, S, B, 3 * H)
            dV = x.new_empty(S, B, 3 * H) if ln[2] is not None else None
            bwd(dout[s:e], dh, h_s, w_hh_c, bptt.sliced(opts.mask, s, e), opts.h_dropout, ln[2], G, out[s:e], XH, RH,
                dXP, dHP, dV)
            dw_hh = bptt.recurrent_weight_grad(dw_hh, dHP if dV is None else dV, h_s, out[s:e], opts.h_dropout)
            if b_hh is not None:
                db_hh = bptt.accumulate(db_hh, bptt.rows(dHP).sum(0))
            if ln[2] is not None:
                bptt.add_gain_grads(dln_hh, dHP, XH)
            pg.add(s, e, dXP, proj, ln[0])
        ln_grads = (*pg.dln, *dln_hh) if ln[0] is not None else (None,) * 4
        return (None, pg.dx, dh, pg.dw_ih, dw_hh, pg.dbias if b_ih is not None else None, db_hh, *ln_grads)


def run(x: Tensor, state: tuple[Tensor, ...], w: DirectionWeights, opts: bptt.Options) -> DirectionResult:
    """One direction of a GRU layer over x: (T, B, I); see `rnnkit.engines.spec.Engine`."""
    (h0,) = state
    ln = (*w.ln.ih, *w.ln.hh) if w.ln is not None else (None,) * 4
    tensors = (x, h0, w.w_ih, w.w_hh, w.b_ih, w.b_hh, *ln)
    if bptt.needs_grad(tensors):
        out, h = GRUFunction.apply(opts, *tensors)
    else:
        out, h, *_ = _forward(opts, *tensors[:6], ln, store=False)
    return DirectionResult(out, (h,), None)
