"""The Elman cell: the plain recurrent unit, a new hidden state from the input and the old one.

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh      (pre-activation)
    h_t = tanh(a_t)   (or relu(a_t))                 (new hidden state)

Weights are shared across time; the same two matrices serve every step of any sequence length.
Parameter names and shapes are those of `torch.nn.RNNCell`.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from rnnkit.cells.base import CellBase
from rnnkit.cells.functional import ACTIVATIONS, projections


class ElmanStep(NamedTuple):
    """Everything one Elman step computes: the new state and its pre-activation."""

    h: Tensor
    a: Tensor


def elman_step(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
    b_hh: Tensor | None = None, nonlinearity: str = "tanh",
) -> ElmanStep:
    """One step of the Elman cell. x: (B, I), h: (B, H) -> ElmanStep with h: (B, H)."""
    x_proj, h_proj = projections(x, h, w_ih, w_hh, b_ih, b_hh, None)
    a = x_proj + h_proj                        # pre-activation
    h = ACTIVATIONS[nonlinearity](a)           # new hidden state
    return ElmanStep(h, a)


class ElmanCell(CellBase):
    """Elman (vanilla tanh/relu) RNN cell; a drop-in for `torch.nn.RNNCell`.

    Args:
        input_size, hidden_size, bias: as in `torch.nn.RNNCell`.
        nonlinearity: "tanh" (default) or "relu".
        recurrent_init: "uniform" (PyTorch's default) or "orthogonal" (W_hh orthogonal).
    """

    num_chunks = 1

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
        recurrent_init: str = "uniform", device=None, dtype=None,
    ) -> None:
        if nonlinearity not in ACTIVATIONS:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, recurrent_init=recurrent_init,
                         device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(input, hx, n_states=1)
        h = elman_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                       self.nonlinearity).h
        return h.squeeze(0) if unbatched else h

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
