"""Helpers for the engine tests: one (layer, direction) problem for every option combination."""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnkit.cells.functional import LayerNormParams
from rnnkit.engines import native
from rnnkit.engines.spec import DirectionWeights

T, B, I, H, P = 5, 3, 3, 4, 2
LENGTHS = [5, 2, 0]  # a full row, a short one and an empty one
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


@dataclass(frozen=True)
class Combo:
    """One option combination of one cell."""

    mode: str
    proj: bool = False
    layer_norm: bool = False
    mask: bool = False
    h_dropout: bool = False
    state: bool = False  # initial state given (and differentiated) rather than zeros

    @property
    def id(self) -> str:
        flags = [n for n in ("proj", "layer_norm", "mask", "h_dropout", "state") if getattr(self, n)]
        return "-".join([self.mode, *flags]) if flags else self.mode


def all_combos() -> list[Combo]:
    """cell x proj x layer_norm x mask x h_dropout x state, where the cell has the option."""
    combos = []
    for mode in GATES:
        projs = (False, True) if mode == "lstm" else (False,)
        lns = (False, True) if mode in ("lstm", "gru") else (False,)
        for proj, ln, mask, drop, state in itertools.product(projs, lns, (False, True), (False, True), (False, True)):
            combos.append(Combo(mode, proj, ln, mask, drop, state))
    return combos


@dataclass
class Problem:
    """Inputs of one `run_direction` call; `leaves` are the tensors gradients are taken for."""

    mode: str
    x: Tensor
    state: tuple[Tensor, ...]
    weights: DirectionWeights
    mask: Tensor | None
    h_dropout: Tensor | None
    leaves: list[Tensor]


def problem(c: Combo, dtype: torch.dtype = torch.float64, seed: int = 0, steps: int = T) -> Problem:
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=0.35, shift=0.0):
        return (torch.randn(*shape, generator=g, dtype=dtype) * scale + shift).requires_grad_()

    G = GATES[c.mode] * H
    out_size = P if c.proj else H
    w_ih, w_hh, b_ih, b_hh = rand(G, I), rand(G, out_size), rand(G), rand(G)
    w_hr = rand(P, H) if c.proj else None
    ln = None
    if c.layer_norm:
        pair = lambda n: (rand(n, scale=0.2, shift=1.0), rand(n, scale=0.2))  # noqa: E731
        ln = LayerNormParams(pair(G), pair(G), pair(H) if c.mode == "lstm" else None)
    weights = DirectionWeights(w_ih, w_hh, b_ih, b_hh, w_hr, ln)
    x = rand(steps, B, I, scale=1.0)
    sizes = (out_size, H) if c.mode == "lstm" else (out_size,)
    state = tuple(rand(B, n) if c.state else torch.zeros(B, n, dtype=dtype) for n in sizes)
    mask = None
    if c.mask:
        lengths = torch.tensor([min(n, steps) for n in LENGTHS])
        mask = torch.arange(steps).unsqueeze(1) < lengths.unsqueeze(0)
    h_dropout = None
    if c.h_dropout:
        keep = torch.bernoulli(torch.full((B, out_size), 0.6, dtype=dtype), generator=g)
        h_dropout = keep / 0.6
    params = [w_ih, w_hh, b_ih, b_hh] + ([w_hr] if w_hr is not None else [])
    if ln is not None:
        params += [t for pair in ln if pair is not None for t in pair]
    leaves = [x, *(s for s in state if s.requires_grad), *params]
    return Problem(c.mode, x, state, weights, mask, h_dropout, leaves)


@contextlib.contextmanager
def python_loops():
    """Make the fused engine run its torch-op loops instead of the compiled ones."""
    original = native.usable
    native.usable = lambda x: False
    try:
        yield
    finally:
        native.usable = original


def loops_context(loops: str):
    if loops == "python":
        return python_loops()
    if native.loops() is None:
        import pytest

        pytest.skip("the compiled loops are not available on this machine")
    return contextlib.nullcontext()


def outputs(engine, p: Problem, **kw) -> list[Tensor]:
    r = engine(p.mode, p.x, p.state, p.weights, p.mask, p.h_dropout, **kw)
    return [r.output, *r.state]


def grads(outs: list[Tensor], p: Problem, seed: int = 1) -> list[Tensor]:
    """Gradients of sum(out_k * w_k) (fixed random w_k) w.r.t. every leaf."""
    g = torch.Generator().manual_seed(seed)
    weights = [torch.randn(o.shape, generator=g, dtype=o.dtype) for o in outs]
    return list(torch.autograd.grad(outs, p.leaves, weights, allow_unused=True))
