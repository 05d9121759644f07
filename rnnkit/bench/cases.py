"""What `rnnkit bench` measures: the grid of layers and shapes, and the contenders for each.

A case is one layer configuration at one shape (B, T, I, H). Its contenders are the `torch.nn`
module and the same weights in `rnnkit` layers with each engine, so every contender computes the same
function on the same input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

import rnnkit

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
TORCH_CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
RNNKIT_CLASSES = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}
CELLS = tuple(GATES)
ENGINES = ("reference", "fused", "auto")
NN = "torch.nn"

# (B, T, I, H): the four shapes of the performance baseline (perf-baseline.md, issue 6).
SHAPES = ((32, 100, 128, 256), (64, 200, 256, 512), (8, 50, 32, 64), (1, 1000, 64, 128))
QUICK_SHAPE = (4, 12, 8, 16)


@dataclass(frozen=True)
class Case:
    """One layer configuration at one shape."""

    cell: str                   # "lstm", "gru" or "rnn" (Elman, tanh)
    B: int                      # batch
    T: int                      # time steps
    I: int                      # input features
    H: int                      # hidden features
    layers: int = 1
    bidirectional: bool = False

    @property
    def shape(self) -> str:
        return f"({self.B},{self.T},{self.I},{self.H})"

    @property
    def label(self) -> str:
        extra = (f" L{self.layers}" if self.layers > 1 else "") + (" bi" if self.bidirectional else "")
        return f"{self.cell} {self.shape}{extra}"

    def gemm_flops(self, backward: bool) -> float:
        """FLOPs of the GEMMs no implementation can avoid (as in perf-baseline.md).

        Forward: per layer and direction 2*T*B*gH*(I_layer + H); the backward does twice that.
        """
        g, D = GATES[self.cell], 2 if self.bidirectional else 1
        total = 0.0
        for layer in range(self.layers):
            fan_in = self.I if layer == 0 else D * self.H
            total += D * 2.0 * self.T * self.B * g * self.H * (fan_in + self.H)
        return total * (3 if backward else 1)


def grid(cells: tuple[str, ...] = CELLS, quick: bool = False,
         shapes: tuple[tuple[int, int, int, int], ...] | None = None) -> list[Case]:
    """The benchmark grid: each shape with one layer, then 2 and 3 layers and bidirectional at the first
    shape, and a 2-layer bidirectional stack at the third (or at the quick shape with --quick)."""
    if quick:
        B, T, I, H = QUICK_SHAPE
        return [c for cell in cells for c in (Case(cell, B, T, I, H), Case(cell, B, T, I, H, 2, True))]
    shapes = shapes or SHAPES
    cases = []
    for cell in cells:
        cases += [Case(cell, *s) for s in shapes]
        first, small = shapes[0], shapes[min(2, len(shapes) - 1)]
        cases += [Case(cell, *first, layers=2), Case(cell, *first, layers=3), Case(cell, *first, bidirectional=True),
                  Case(cell, *small, layers=2, bidirectional=True)]
    return cases


@dataclass
class Contenders:
    """The modules of one case, keyed by contender name, with the shared input."""

    modules: dict[str, nn.Module]
    x: Tensor                               # (T, B, I), requires grad

    def forward_fn(self, name: str) -> Callable[[], None]:
        module, x = self.modules[name], self.x

        def run() -> None:
            with torch.inference_mode():
                module(x)

        return run

    def train_fn(self, name: str) -> Callable[[], None]:
        module, x = self.modules[name], self.x

        def run() -> None:
            module(x)[0].sum().backward()

        return run


def build(case: Case, engines: tuple[str, ...], device: torch.device, dtype: torch.dtype = torch.float32,
          seed: int = 0) -> Contenders:
    """`torch.nn` module plus one rnnkit layer per engine, all with the same weights."""
    torch.manual_seed(seed)
    ref = TORCH_CLASSES[case.cell](case.I, case.H, num_layers=case.layers, bidirectional=case.bidirectional)
    ref = ref.to(device=device, dtype=dtype)
    modules: dict[str, nn.Module] = {NN: ref}
    for engine in engines:
        modules[engine] = RNNKIT_CLASSES[case.cell].from_torch(ref, engine=engine)
    x = torch.randn(case.T, case.B, case.I, device=device, dtype=dtype, requires_grad=True)
    return Contenders(modules, x)


def auto_choice(contenders: Contenders, train: bool) -> str:
    """The engine "auto" runs for this case: "vendor stack" for the whole stack in one vendor call, else
    the engine of the first (layer, direction)."""
    from rnnkit.engines import prefers_whole_stack, select_engine

    layer = contenders.modules.get("auto")
    if layer is None:
        return ""
    with torch.set_grad_enabled(train):
        if prefers_whole_stack(layer, contenders.x) and not layer.layer_norm:
            return "vendor stack"
        return select_engine(layer.mode, contenders.x, layer.direction_weights(0, 0))
