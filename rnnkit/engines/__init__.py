"""Engines run one direction of one recurrent layer. `reference` is the readable ground truth.

- `reference`: the cells' step functions in a Python loop, differentiated by autograd.
- `fused`: hand-written BPTT in one `autograd.Function` per direction, compiled time loops on CPU
  (`rnnkit.engines.fused`); every option of the layers.
- `fused_checkpoint`: `fused` storing the state every sqrt(T) steps and recomputing in backward.
  The fused engines take their large CPU buffers from a pool (`rnnkit.engines.workspace`): fresh
  100 MB buffers cost ~20 ms each in page faults, ~15% of a 512-unit LSTM training step.
- `vendor`: PyTorch's own kernels (oneDNN LSTM on CPU, cuDNN on GPU) through `torch._VF`, for the
  configurations where they compute exactly the same function (`rnnkit.engines.vendor`).
- `auto` (the layers' default) picks, per call, the fastest engine that computes the configuration:
  0. First, for the whole stack (the layers offer it before going layer by layer): `torch._VF`, as
     `torch.nn` calls it, runs every layer and direction in one oneDNN/cuDNN call and pipelines them,
     which a per-(layer, direction) engine cannot. auto takes it where the vendor kernels compute
     exactly rnnkit's function (no layer norm, no active dropout, no zero-length row; see
     `vendor.run_stack`) and it is the fastest: on GPU always; on CPU for an LSTM with batch >= 16
     that is stacked (several layers or bidirectional) or runs without gradients; on CPU without the
     compiled loops for any LSTM, and for GRU/RNN without gradients.
  1. record=True -> `reference` (only it records every step); so does a call inside a torch.func
     transform (grad, jacrev, vmap), which cannot see into the hand-written backward (the `fused`
     engine hands such calls to `reference` too).
  2. Not on CPU (CUDA...) -> `vendor` (cuDNN) where it supports the configuration (no layer norm, no
     recurrent dropout, no zero-length row), else `fused` (its loops as torch ops).
  3. CPU, float32/float64, compiled loops built -> `fused`: hand BPTT with compiled loops is faster
     in training than oneDNN's LSTM and far faster than ATen's per-step GRU/RNN loops (benchmarks/README.md).
     Exception: a forward-only (no gradient) LSTM with batch >= 16 that `vendor` supports, where oneDNN's
     fused forward is faster -> `vendor`.
  4. CPU otherwise (no compiler, other dtypes) -> `vendor` for a supported LSTM, and for a supported
     GRU/RNN when no gradient is needed; `fused` otherwise (its hand BPTT beats ATen's per-step loops
     in training).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rnnkit.engines import fused, native, reference, vendor
from rnnkit.engines.spec import DirectionResult, DirectionWeights, Engine

ENGINES: dict[str, Callable] = {
    "reference": reference.run_direction,
    "fused": fused.run_direction,
    "fused_checkpoint": fused.run_direction_checkpointed,
    "vendor": vendor.run_direction,
}
ENGINE_NAMES = ("auto", *ENGINES)


def select_engine(mode: str, x: Tensor, weights: DirectionWeights, mask: Tensor | None = None,
                  h_dropout: Tensor | None = None, record: bool = False) -> str:
    """The engine `auto` runs for this call (the rules in this module's docstring)."""
    if record or fused.functorch_active():
        return "reference"
    vendor_ok = vendor.unsupported(weights, mask, h_dropout, record) is None
    if x.device.type != "cpu":
        return "vendor" if vendor_ok else "fused"
    training = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, *weights[:5]))
    if native.usable(x):
        return "vendor" if vendor_ok and mode == "lstm" and not training and x.shape[1] >= 16 else "fused"
    return "vendor" if vendor_ok and (mode == "lstm" or not training) else "fused"


def prefers_whole_stack(layer, x: Tensor) -> bool:
    """Rule 0 of `auto`: whether the whole stack should go to one vendor call (when it computes exactly
    rnnkit's function, which `vendor.run_stack` checks)."""
    if fused.functorch_active():
        return False
    if x.device.type != "cpu":
        return True
    training = torch.is_grad_enabled() and (x.requires_grad or layer.weight_hh_l0.requires_grad)
    if native.usable(x):
        stacked = layer.num_layers > 1 or layer.bidirectional
        return layer.mode == "lstm" and x.shape[1] >= 16 and (stacked or not training)
    return layer.mode == "lstm" or not training


def _whole_stack(layer, x: Tensor, states: tuple[Tensor, ...], lengths: Tensor | None):
    return vendor.run_stack(layer, x, states, lengths) if prefers_whole_stack(layer, x) else None


def run_auto(
    mode: str, x: Tensor, state: tuple[Tensor, ...], weights: DirectionWeights,
    mask: Tensor | None = None, h_dropout: Tensor | None = None, record: bool = False,
) -> DirectionResult:
    """The `auto` engine: run the engine `select_engine` picks for this call."""
    name = select_engine(mode, x, weights, mask, h_dropout, record)
    return ENGINES[name](mode, x, state, weights, mask, h_dropout, record)


run_auto.run_stack = _whole_stack  # the layers offer auto each whole stack first (RecurrentLayer._run)


def resolve_engine(name: str, layer=None) -> Engine:
    """Map an engine name to its `run_direction`; "auto" picks the fastest correct one per call."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"engine must be one of {ENGINE_NAMES}, got {name!r}")
    if name == "auto":
        return run_auto
    return ENGINES[name]


__all__ = ["ENGINES", "ENGINE_NAMES", "DirectionResult", "DirectionWeights", "Engine", "prefers_whole_stack",
           "resolve_engine", "run_auto", "select_engine"]
