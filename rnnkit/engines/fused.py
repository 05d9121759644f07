"""The fused engine: one `torch.autograd.Function` per (layer, direction) with a hand-written BPTT.

Same contract and same numbers as `rnnkit.engines.reference` (see `spec.Engine`), for every option
of the core: Elman (tanh, relu), LSTM (proj_size, layer norm, forget bias), GRU (layer norm),
lengths (`mask`) and recurrent dropout (`h_dropout`). How it is fast:

- the input projection of all steps is one GEMM, and so are dX, dW_ih, dW_hh (and dW_hr) in backward;
- per step only `h @ W_hh^T` (a contiguous W_hh^T) and the gate math run, into preallocated buffers;
- on CPU the time loops are compiled (`rnnkit.engines.native`): per step one register-blocked GEMM
  and one vectorised pass over the gates, instead of the 30-90 framework ops of a Python loop;
- elsewhere (CUDA, or where the loops cannot be built) the same loops run as torch ops
  (`forward_loop` / `backward_loop` in `fused_lstm`, `fused_gru`, `fused_elman`);
- it stores only what the backward needs (LSTM: gates, c, tanh(c) and the outputs; GRU: r, z, n,
  W_hn h + b_hn and the outputs; Elman: the outputs), and nothing at all when no gradient is needed;
- `fused_checkpoint` (or `run_direction(..., checkpoint=k)`) stores the state only every k steps
  (default sqrt(T)) and recomputes each segment during the backward: LSTM/GRU activations shrink
  from O(T) to O(sqrt(T)) steps' worth for about one extra forward pass.

Only `record=True` (per-step recordings) falls back to the reference engine, which the layers do anyway.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.functional import LayerNormParams
from rnnkit.engines import amp, bptt, fused_elman, fused_gru, fused_lstm, reference
from rnnkit.engines.spec import DirectionResult, DirectionWeights


def run_direction(
    mode: str, x: Tensor, state: tuple[Tensor, ...], weights: DirectionWeights,
    mask: Tensor | None = None, h_dropout: Tensor | None = None, record: bool = False,
    *, checkpoint: int | str | None = None,
) -> DirectionResult:
    """Run one direction of one layer over x: (T, B, I). See `rnnkit.engines.spec.Engine`.

    checkpoint: None stores every step's activations; an int k (or "sqrt" for k = sqrt(T)) keeps the
    state every k steps and recomputes each segment in backward.
    """
    if torch.compiler.is_compiling():  # torch.compile cannot trace the compiled loops: a graph break, run eagerly
        eager = torch.compiler.disable(run_direction)
        return eager(mode, x, state, weights, mask, h_dropout, record, checkpoint=checkpoint)
    if record or x.shape[0] == 0 or x.shape[1] == 0 or functorch_active():
        return reference.run_direction(mode, x, state, weights, mask, h_dropout, record)
    device, dtype = x.device.type, amp.autocast_dtype(x.device.type)
    if amp.lowers(x, dtype) and amp.torch_lowers(mode, device, dtype):  # as torch.nn's kernel does (amp.py)
        with torch.autocast(device, enabled=False):
            return run_direction(mode, x.to(dtype), tuple(s.to(dtype) for s in state), _cast(weights, dtype), mask,
                                 h_dropout, checkpoint=checkpoint)
    opts = bptt.options(x, mask, h_dropout, checkpoint)
    if mode == "lstm":
        return fused_lstm.run(x, state, weights, opts)
    if mode == "gru":
        return fused_gru.run(x, state, weights, opts)
    if mode in ("rnn_tanh", "rnn_relu"):
        return fused_elman.run(mode, x, state, weights, opts)
    raise ValueError(f"mode must be one of 'rnn_tanh', 'rnn_relu', 'lstm', 'gru', got {mode!r}")


def functorch_active() -> bool:
    """Whether a torch.func transform (grad, jacrev, vmap, ...) is running. The hand-written backward has
    no vmap rule and torch.func cannot see inside the compiled loops, so the fused engine then hands the
    call to the reference engine, which computes the same function with ordinary, transformable ops."""
    peek = getattr(getattr(torch._C, "_functorch", None), "peek_interpreter_stack", None)
    return peek is not None and peek() is not None


def _cast(weights: DirectionWeights, dtype: torch.dtype) -> DirectionWeights:
    """Every weight (and layer-norm gain) in `dtype`; the casts are differentiable, so gradients reach the
    float32 parameters."""
    def cast(t):
        return t if t is None else t.to(dtype)

    ln = None if weights.ln is None else LayerNormParams(*(None if p is None else tuple(map(cast, p))
                                                           for p in weights.ln))
    return DirectionWeights(*map(cast, weights[:5]), ln)


def run_direction_checkpointed(
    mode: str, x: Tensor, state: tuple[Tensor, ...], weights: DirectionWeights,
    mask: Tensor | None = None, h_dropout: Tensor | None = None, record: bool = False,
) -> DirectionResult:
    """The fused engine with checkpointing across time every sqrt(T) steps (engine "fused_checkpoint")."""
    return run_direction(mode, x, state, weights, mask, h_dropout, record, checkpoint="sqrt")
