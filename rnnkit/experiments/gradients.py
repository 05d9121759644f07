"""Per-step gradients through an unrolled recurrent layer, computed with the cells' own step functions.

`state_gradients` runs a one-layer `rnnkit` RNN/LSTM/GRU step by step with `elman_step`, `lstm_step` or
`gru_step`, puts a loss on the last output, and returns ||dL/dh_t|| (and ||dL/dc_t|| for the LSTM) for every
step t: the total error signal reaching each step, through every path.

`cut` blocks one of the LSTM's two recurrent paths without changing any forward value:
- "h": h_{t-1} enters the gates detached, so error reaches earlier steps only through c (the additive path);
- "c": c_{t-1} enters the cell update detached, so error reaches earlier steps only through h and W_hh.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.cells import elman_step, gru_step, lstm_step


def unroll(layer: nn.Module, x: Tensor, cut: str | None = None) -> tuple[list[Tensor], list[Tensor]]:
    """Run layer 0, direction 0 of `layer` over x: (B, T, I). Returns per-step h_t and c_t (LSTM) lists,
    each (B, H) with `retain_grad()` set, so their .grad holds dL/dh_t and dL/dc_t after backward."""
    if cut not in (None, "h", "c"):
        raise ValueError(f"cut must be None, 'h' or 'c', got {cut!r}")
    w = layer.direction_weights(0, 0)
    B, H = x.shape[0], layer.hidden_size
    h = x.new_zeros(B, H)
    c = x.new_zeros(B, H)
    hs, cs = [], []
    for x_t in x.unbind(1):
        if layer.mode == "lstm":
            h_in = h.detach() if cut == "h" else h
            c_in = c.detach() if cut == "c" else c
            s = lstm_step(x_t, h_in, c_in, w.w_ih, w.w_hh, w.b_ih, w.b_hh)
            h, c = s.h, s.c
            c.retain_grad()
            cs.append(c)
        elif layer.mode == "gru":
            h = gru_step(x_t, h, w.w_ih, w.w_hh, w.b_ih, w.b_hh).h
        else:
            h = elman_step(x_t, h, w.w_ih, w.w_hh, w.b_ih, w.b_hh, layer.mode.removeprefix("rnn_")).h
        h.retain_grad()
        hs.append(h)
    return hs, cs


def state_gradients(layer: nn.Module, x: Tensor, readout: Tensor, cut: str | None = None) -> dict[str, list]:
    """Loss L = sum over the batch of readout . h_T; returns the per-step gradient norms, indexed by
    distance from the loss (index 0 is step T), averaged over the batch:
    {"h": [||dL/dh_T||, ||dL/dh_{T-1}||, ...], "c": [...] (LSTM only), "x": [||dL/dx_T||, ...]}."""
    x = x.detach().clone().requires_grad_(True)
    hs, cs = unroll(layer, x, cut)
    (hs[-1] @ readout).sum().backward()
    norm = lambda t: 0.0 if t.grad is None else float(t.grad.norm(dim=-1).mean())  # noqa: E731  (None: no path)
    out = {"h": [norm(h) for h in reversed(hs)],
           "x": [float(g.norm(dim=-1).mean()) for g in reversed(x.grad.unbind(1))]}
    if cs:
        out["c"] = [norm(c) for c in reversed(cs)]
    return out


@torch.no_grad()
def set_recurrent_gaussian_(layer: nn.Module, gain: float, gen: torch.Generator) -> None:
    """W_hh of layer 0 ~ N(0, gain^2 / H): gain < 1 contracts, gain > 1 is the expanding (chaotic) regime."""
    w = layer.weight_hh_l0
    w.copy_(torch.randn(w.shape, generator=gen) * gain / layer.hidden_size**0.5)
