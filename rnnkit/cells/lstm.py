"""The LSTM cell (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000).

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)    input gate: how much new content to write
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)    forget gate: how much old memory to keep
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)       candidate cell state
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)    output gate: how much memory to expose
    c_t = f_t * c_{t-1} + i_t * g_t                         cell-state update (additive)
    h_t = o_t * tanh(c_t)                                   hidden-state update
    h_t = W_hr h_t                                          projection (only with proj_size > 0)

Gate order in the stacked weights is i, f, g, o, as in `torch.nn.LSTM`.

Layer-norm variant (`layer_norm=True`, Ba, Kiros & Hinton 2016, as in PyTorch's fastrnns benchmark):
W_ih x and W_hh h are each layer-normalised over all 4H gate units before the biases are added, and
c_t is layer-normalised before its tanh in the hidden-state update (c_t itself is carried unnormalised).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.base import CellBase
from rnnkit.cells.functional import LayerNormParams, layer_norm, projections
from rnnkit.cells.init import forget_bias_


class LSTMStep(NamedTuple):
    """Everything one LSTM step computes: new states and the four activated gates."""

    h: Tensor
    c: Tensor
    i: Tensor
    f: Tensor
    g: Tensor
    o: Tensor


def lstm_step(
    x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
    b_hh: Tensor | None = None, w_hr: Tensor | None = None, ln: LayerNormParams | None = None,
) -> LSTMStep:
    """One LSTM step. x: (B, I), h: (B, P or H), c: (B, H) -> LSTMStep with h: (B, P or H), c: (B, H)."""
    x_proj, h_proj = projections(x, h, w_ih, w_hh, b_ih, b_hh, ln)
    i, f, g, o = (x_proj + h_proj).chunk(4, dim=-1)
    i = torch.sigmoid(i)                                       # input gate
    f = torch.sigmoid(f)                                       # forget gate
    g = torch.tanh(g)                                          # candidate cell state
    o = torch.sigmoid(o)                                       # output gate
    c = f * c + i * g                                          # cell-state update
    h = o * torch.tanh(c if ln is None else layer_norm(c, ln.c))  # hidden-state update
    if w_hr is not None:
        h = F.linear(h, w_hr)                                  # projection to proj_size
    return LSTMStep(h, c, i, f, g, o)


class LSTMCell(CellBase):
    """LSTM cell; a drop-in for `torch.nn.LSTMCell` (same parameter names, shapes and gate order).

    Args:
        input_size, hidden_size, bias: as in `torch.nn.LSTMCell`.
        forget_bias: initial value of the forget gate's total bias b_ih[f] + b_hh[f] (see
            `rnnkit.cells.init.forget_bias_`); 1.0 is the usual choice for long memories. The default
            `None` keeps PyTorch's uniform init. Requires bias=True.
        recurrent_init: "uniform" (PyTorch's default) or "orthogonal".
        layer_norm: use the layer-normalised LSTM described in the module docstring.
    """

    num_chunks = 4
    ln_state = True

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, *, forget_bias: float | None = None,
        recurrent_init: str = "uniform", layer_norm: bool = False, device=None, dtype=None,
    ) -> None:
        if forget_bias is not None and not bias:
            raise ValueError("forget_bias needs bias=True: without biases there is nothing to set")
        self.forget_bias = forget_bias
        super().__init__(input_size, hidden_size, bias, recurrent_init=recurrent_init,
                         layer_norm=layer_norm, device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.forget_bias is not None:
            forget_bias_(self.bias_ih, self.bias_hh, self.hidden_size, self.forget_bias)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, (h, c), unbatched = self._prepare(input, hx, n_states=2)
        step = lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                         ln=self.layer_norm_params())
        if unbatched:
            return step.h.squeeze(0), step.c.squeeze(0)
        return step.h, step.c

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", forget_bias={self.forget_bias}" if self.forget_bias is not None else "")


