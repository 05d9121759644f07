"""Autograd through every cell variant agrees with finite differences (float64 gradcheck).

Gradients are checked with respect to the input, the state(s) and every parameter at once.
"""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

import rnnkit

I, H, B = 3, 4, 2
DT = torch.float64

VARIANTS = {
    "elman_tanh": lambda: rnnkit.ElmanCell(I, H, dtype=DT),
    "elman_relu": lambda: rnnkit.ElmanCell(I, H, nonlinearity="relu", dtype=DT),
    "elman_no_bias": lambda: rnnkit.ElmanCell(I, H, bias=False, dtype=DT),
    "lstm": lambda: rnnkit.LSTMCell(I, H, dtype=DT),
    "lstm_no_bias": lambda: rnnkit.LSTMCell(I, H, bias=False, dtype=DT),
    "lstm_forget_bias_orthogonal": lambda: rnnkit.LSTMCell(I, H, forget_bias=1.0, recurrent_init="orthogonal",
                                                           dtype=DT),
    "lstm_layer_norm": lambda: rnnkit.LSTMCell(I, H, layer_norm=True, dtype=DT),
    "gru": lambda: rnnkit.GRUCell(I, H, dtype=DT),
    "gru_no_bias": lambda: rnnkit.GRUCell(I, H, bias=False, dtype=DT),
    "gru_layer_norm": lambda: rnnkit.GRUCell(I, H, layer_norm=True, dtype=DT),
}


def perturb_layer_norm(cell: torch.nn.Module) -> None:
    """Move LN gains off 1 and shifts off 0 so their gradients are exercised in general position."""
    with torch.no_grad():
        for name, p in cell.named_parameters():
            if name.startswith("ln_"):
                p.add_(0.3 * torch.randn_like(p))


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cell_gradients_match_finite_differences(variant, batched):
    cell = VARIANTS[variant]()
    perturb_layer_norm(cell)
    batch = (B,) if batched else ()
    n_states = 2 if isinstance(cell, rnnkit.LSTMCell) else 1
    x = torch.randn(*batch, I, dtype=DT, requires_grad=True)
    states = [torch.randn(*batch, H, dtype=DT, requires_grad=True) for _ in range(n_states)]
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]

    def f(x, *rest):
        hx = tuple(rest[:n_states]) if n_states == 2 else rest[0]
        return functional_call(cell, dict(zip(names, rest[n_states:], strict=True)), (x, hx))

    assert torch.autograd.gradcheck(f, (x, *states, *params))
