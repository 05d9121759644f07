"""The reference engine: the cells' step functions in a plain time loop, differentiated by autograd.

This is the readable definition of every layer; faster engines are tested against it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.elman import elman_step
from rnnkit.cells.gru import gru_step
from rnnkit.cells.lstm import lstm_step
from rnnkit.engines.spec import DirectionResult, DirectionWeights


def _step(mode: str, x: Tensor, state: tuple[Tensor, ...], w: DirectionWeights, h_drop: Tensor | None):
    h_in = state[0] if h_drop is None else state[0] * h_drop
    if mode == "lstm":
        s = lstm_step(x, h_in, state[1], w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.w_hr, w.ln)
        return (s.h, s.c), s
    if mode == "gru":
        s = gru_step(x, h_in, w.w_ih, w.w_hh, w.b_ih, w.b_hh, w.ln)
        # The update h = (1-z) n + z h uses the undropped h: dropout only masks what W_hh sees.
        if h_drop is not None:
            s = s._replace(h=(1 - s.z) * s.n + s.z * state[0])
        return (s.h,), s
    s = elman_step(x, h_in, w.w_ih, w.w_hh, w.b_ih, w.b_hh, mode.removeprefix("rnn_"))
    return (s.h,), s


def _fresh(t: Tensor) -> Tensor:
    """`t` copied to freshly allocated (aligned, contiguous) memory.

    CPU matmul kernels round differently when an operand is not 64-byte aligned, so a step's numbers
    would depend on where x_t or h_0 happen to sit inside a larger tensor; copying makes `step()` and
    the sequence call agree bit for bit.
    """
    return t.clone(memory_format=torch.contiguous_format)


def run_direction(
    mode: str, x: Tensor, state: tuple[Tensor, ...], weights: DirectionWeights,
    mask: Tensor | None = None, h_dropout: Tensor | None = None, record: bool = False,
) -> DirectionResult:
    """Run one direction of one layer over x: (T, B, I). See `rnnkit.engines.spec.Engine`."""
    outputs: list[Tensor] = []
    records: list[tuple] = []
    steps_mask = mask.unsqueeze(-1).unbind(0) if mask is not None else None  # T x (B, 1)
    state = tuple(_fresh(s) for s in state)
    for t, x_t in enumerate(x.unbind(0)):
        new_state, full = _step(mode, _fresh(x_t), state, weights, h_dropout)
        if steps_mask is None:
            state = new_state
            outputs.append(new_state[0])
        else:
            m = steps_mask[t]
            state = tuple(torch.where(m, n, s) for n, s in zip(new_state, state, strict=True))
            outputs.append(torch.where(m, new_state[0], torch.zeros_like(new_state[0])))
        if record:
            records.append(full)
    output = torch.stack(outputs) if outputs else x.new_zeros(0, x.shape[1], state[0].shape[-1])
    rec = None
    if record and not records:  # T = 0: empty recordings, still with every name and feature size
        _, full = _step(mode, x.new_zeros(0, x.shape[-1]), tuple(s[:0] for s in state), weights, None)
        rec = {name: v.new_zeros(0, x.shape[1], v.shape[-1]) for name, v in full._asdict().items()}
    elif record:
        rec = _stack_record(records, mask)
    return DirectionResult(output, state, rec)


def _stack_record(records: list[tuple], mask: Tensor | None) -> dict[str, Tensor]:
    """Stack per-step quantities to (T, B, ·), zero at padded steps."""
    if not records:
        return {}
    stacked = {name: torch.stack([getattr(r, name) for r in records]) for name in records[0]._fields}
    if mask is not None:
        keep = mask.unsqueeze(-1)
        stacked = {name: torch.where(keep, v, torch.zeros_like(v)) for name, v in stacked.items()}
    return stacked
