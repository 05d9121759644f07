"""The contract between sequence layers and engines: what one direction of one layer receives and returns.

A layer splits its work into (layer, direction) pieces and hands each to an engine as
`run_direction(mode, x, state, weights, mask, h_dropout, record)`. Engines see only time-major,
forward-in-time data: the layer has already reversed each row (length-aware) for backward
directions, so padding is always at the end of a row.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from torch import Tensor

from rnnkit.cells.functional import LayerNormParams

MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")


class DirectionWeights(NamedTuple):
    """The parameters of one direction of one layer, named as in `torch.nn.LSTM`."""

    w_ih: Tensor                    # (gH, I)
    w_hh: Tensor                    # (gH, P or H)
    b_ih: Tensor | None             # (gH,)
    b_hh: Tensor | None             # (gH,)
    w_hr: Tensor | None = None      # (P, H), LSTM with proj_size > 0
    ln: LayerNormParams | None = None


class DirectionResult(NamedTuple):
    """Outputs of every step, the final state, and (if asked) per-step recordings."""

    output: Tensor                          # (T, B, P or H); zeros at padded steps
    state: tuple[Tensor, ...]               # (h_T,) or (h_T, c_T), each (B, ·), taken at each row's last real step
    record: dict[str, Tensor] | None        # name -> (T, B, ·): "h", "c", and the gates


class Engine(Protocol):
    def __call__(
        self, mode: str, x: Tensor, state: tuple[Tensor, ...], weights: DirectionWeights,
        mask: Tensor | None = None, h_dropout: Tensor | None = None, record: bool = False,
    ) -> DirectionResult:
        """x: (T, B, I); state: (h0,) or (h0, c0); mask: (T, B) bool, True at real steps (a prefix of
        each row), or None when every row is full; h_dropout: (B, P|H) mask multiplied into h_{t-1}
        before W_hh (one mask per sequence, already scaled by 1/(1-p)), or None."""
        ...
