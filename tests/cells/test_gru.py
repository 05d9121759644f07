"""The GRU cell: its equations, PyTorch's reset-gate placement and the layer-norm variant."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import rnnkit
from rnnkit.cells import GRUStep, gru_step

I, H, B = 4, 6, 3


def weights(cell: rnnkit.GRUCell):
    return cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh


def test_gru_step_returns_state_and_gates():
    s = gru_step(torch.randn(B, I), torch.randn(B, H), *weights(rnnkit.GRUCell(I, H)))
    assert isinstance(s, GRUStep)
    assert s._fields == ("h", "r", "z", "n")
    assert all(t.shape == (B, H) for t in s)


def test_gru_step_interpolates_between_candidate_and_old_state():
    h0 = torch.randn(B, H, dtype=torch.float64)
    s = gru_step(torch.randn(B, I, dtype=torch.float64), h0, *weights(rnnkit.GRUCell(I, H, dtype=torch.float64)))
    torch.testing.assert_close(s.h, (1 - s.z) * s.n + s.z * h0)


def test_gru_reset_gate_acts_after_the_recurrent_matrix_product():
    cell = rnnkit.GRUCell(I, H, dtype=torch.float64)
    x, h0 = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    s = gru_step(x, h0, *weights(cell))
    w_in, b_in = cell.weight_ih[2 * H:], cell.bias_ih[2 * H:]
    w_hn, b_hn = cell.weight_hh[2 * H:], cell.bias_hh[2 * H:]
    torch.testing.assert_close(s.n, torch.tanh(F.linear(x, w_in, b_in) + s.r * F.linear(h0, w_hn, b_hn)))
    paper = torch.tanh(F.linear(x, w_in, b_in) + F.linear(s.r * h0, w_hn, b_hn))
    assert not torch.allclose(s.n, paper)


def test_unbatched_gru_cell_returns_unbatched_state():
    assert rnnkit.GRUCell(I, H)(torch.randn(I)).shape == (H,)


def test_layer_norm_gru_cell_has_documented_parameters_and_no_cell_state_norm():
    cell = rnnkit.GRUCell(I, H, layer_norm=True)
    ln = {n: tuple(p.shape) for n, p in cell.named_parameters() if n.startswith("ln_")}
    assert ln == {"ln_ih_weight": (3 * H,), "ln_ih_bias": (3 * H,), "ln_hh_weight": (3 * H,),
                  "ln_hh_bias": (3 * H,)}


def test_layer_norm_changes_the_gru_cell_function():
    plain = rnnkit.GRUCell(I, H)
    normed = rnnkit.GRUCell(I, H, layer_norm=True)
    normed.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(B, I)
    assert not torch.allclose(plain(x), normed(x))


def test_layer_norm_gru_normalises_each_projection_before_its_bias():
    cell = rnnkit.GRUCell(I, H, layer_norm=True, dtype=torch.float64)
    x, h0 = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    s = gru_step(x, h0, *weights(cell), ln=cell.layer_norm_params())
    x_proj = F.layer_norm(F.linear(x, cell.weight_ih), (3 * H,), eps=1e-5) + cell.bias_ih
    h_proj = F.layer_norm(F.linear(h0, cell.weight_hh), (3 * H,), eps=1e-5) + cell.bias_hh
    r = torch.sigmoid(x_proj[:, :H] + h_proj[:, :H])
    torch.testing.assert_close(s.r, r)
