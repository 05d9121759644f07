"""The gated recurrent unit (Cho et al., 2014), in PyTorch's formulation.

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))     candidate state
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}                         hidden-state update

Gate order in the stacked weights is r, z, n, as in `torch.nn.GRU`. Note where the reset gate acts:
on W_hn h + b_hn *after* the matrix product (PyTorch and cuDNN), not on h before it (the original paper).
The two give different functions; we follow PyTorch so that weights interchange.

Layer-norm variant (`layer_norm=True`): W_ih x and W_hh h are each layer-normalised over all 3H units
before their biases are added (Ba, Kiros & Hinton 2016 applied to the GRU's two projections).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from rnnkit.cells.base import CellBase
from rnnkit.cells.functional import LayerNormParams, projections


class GRUStep(NamedTuple):
    """Everything one GRU step computes: the new state and the three gate activations."""

    h: Tensor
    r: Tensor
    z: Tensor
    n: Tensor


def gru_step(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
    b_hh: Tensor | None = None, ln: LayerNormParams | None = None,
) -> GRUStep:
    """One GRU step. x: (B, I), h: (B, H) -> GRUStep with h: (B, H)."""
    x_proj, h_proj = projections(x, h, w_ih, w_hh, b_ih, b_hh, ln)
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
    h_r, h_z, h_n = h_proj.chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)                 # reset gate
    z = torch.sigmoid(x_z + h_z)                 # update gate
    n = torch.tanh(x_n + r * h_n)                # candidate state
    h = (1 - z) * n + z * h                      # hidden-state update
    return GRUStep(h, r, z, n)


class GRUCell(CellBase):
    """GRU cell; a drop-in for `torch.nn.GRUCell` (same parameter names, shapes and gate order).

    Args:
        input_size, hidden_size, bias: as in `torch.nn.GRUCell`.
        recurrent_init: "uniform" (PyTorch's default) or "orthogonal".
        layer_norm: use the layer-normalised GRU described in the module docstring.
    """

    num_chunks = 3

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, *, recurrent_init: str = "uniform",
        layer_norm: bool = False, device=None, dtype=None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, recurrent_init=recurrent_init,
                         layer_norm=layer_norm, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(input, hx, n_states=1)
        h = gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                     ln=self.layer_norm_params()).h
        return h.squeeze(0) if unbatched else h
