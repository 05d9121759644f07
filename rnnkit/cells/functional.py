"""Small tensor helpers shared by the cell equations."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class LayerNormParams(NamedTuple):
    """Gains and shifts of a layer-normalised cell (Ba, Kiros & Hinton, 2016).

    `ih` and `hh` normalise the input and recurrent projections separately; `c` (LSTM only)
    normalises the cell state before its tanh. Each entry is a `(weight, bias)` pair.
    """

    ih: tuple[Tensor, Tensor]
    hh: tuple[Tensor, Tensor]
    c: tuple[Tensor, Tensor] | None = None


LN_EPS = 1e-5


def layer_norm(v: Tensor, params: tuple[Tensor, Tensor]) -> Tensor:
    """Normalise the last dimension of `v` to zero mean, unit variance, then scale and shift."""
    weight, bias = params
    return F.layer_norm(v, weight.shape, weight, bias, LN_EPS)


def projections(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
    ln: LayerNormParams | None,
) -> tuple[Tensor, Tensor]:
    """The two affine maps every cell starts from: `W_ih x + b_ih` and `W_hh h + b_hh`.

    With layer norm the biases are added after the normalisation, so they keep their meaning
    (and the forget-gate bias keeps working).
    """
    if ln is None:
        return F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh)
    x_proj = layer_norm(F.linear(x, w_ih), ln.ih)
    h_proj = layer_norm(F.linear(h, w_hh), ln.hh)
    if b_ih is not None:
        x_proj = x_proj + b_ih
    if b_hh is not None:
        h_proj = h_proj + b_hh
    return x_proj, h_proj


ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}
