"""The LSTM cell: its equations, gate order, projection, forget-gate bias and layer-norm variant."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.cells import LSTMStep, lstm_step

I, H, B = 4, 6, 3


def weights(cell: rnnkit.LSTMCell):
    return cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh


def test_lstm_step_returns_states_and_all_four_gates():
    cell = rnnkit.LSTMCell(I, H)
    step = lstm_step(torch.randn(B, I), torch.randn(B, H), torch.randn(B, H), *weights(cell))
    assert isinstance(step, LSTMStep)
    assert step._fields == ("h", "c", "i", "f", "g", "o")
    assert all(t.shape == (B, H) for t in step)


def test_lstm_step_obeys_cell_and_hidden_update_equations():
    cell = rnnkit.LSTMCell(I, H, dtype=torch.float64)
    c0 = torch.randn(B, H, dtype=torch.float64)
    s = lstm_step(torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64), c0,
                  *weights(cell))
    torch.testing.assert_close(s.c, s.f * c0 + s.i * s.g)
    torch.testing.assert_close(s.h, s.o * torch.tanh(s.c))
    for gate in (s.i, s.f, s.o):
        assert bool(((gate > 0) & (gate < 1)).all())
    assert bool((s.g.abs() < 1).all())


def test_lstm_gate_order_is_i_f_g_o():
    cell = rnnkit.LSTMCell(I, H)
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
        cell.bias_ih[H:2 * H] = 50.0       # second block: the forget gate saturates open
        cell.bias_ih[3 * H:] = -50.0       # fourth block: the output gate saturates shut
    s = lstm_step(torch.randn(B, I), torch.zeros(B, H), torch.zeros(B, H), *weights(cell))
    torch.testing.assert_close(s.f, torch.ones(B, H))
    torch.testing.assert_close(s.o, torch.zeros(B, H))


def test_lstm_step_projection_matches_one_step_of_torch_lstm_with_proj_size():
    reference = nn.LSTM(I, H, proj_size=2, dtype=torch.float64)
    x, h0, c0 = (torch.randn(1, B, n, dtype=torch.float64) for n in (I, 2, H))
    _, (h1, c1) = reference(x, (h0, c0))
    s = lstm_step(x[0], h0[0], c0[0], reference.weight_ih_l0, reference.weight_hh_l0, reference.bias_ih_l0,
                  reference.bias_hh_l0, w_hr=reference.weight_hr_l0)
    assert s.h.shape == (B, 2)
    torch.testing.assert_close(s.h, h1[0], rtol=0, atol=1e-10)
    torch.testing.assert_close(s.c, c1[0], rtol=0, atol=1e-10)


def test_lstm_step_without_biases_uses_only_the_weights():
    cell = nn.LSTMCell(I, H, bias=False, dtype=torch.float64)
    x, h0, c0 = (torch.randn(B, n, dtype=torch.float64) for n in (I, H, H))
    s = lstm_step(x, h0, c0, cell.weight_ih, cell.weight_hh)
    torch.testing.assert_close(torch.stack([s.h, s.c]), torch.stack(cell(x, (h0, c0))))


def test_unbatched_lstm_cell_returns_unbatched_states():
    h, c = rnnkit.LSTMCell(I, H)(torch.randn(I))
    assert h.shape == c.shape == (H,)


@pytest.mark.parametrize("value", [1.0, -2.5, 0.0])
def test_forget_bias_sets_the_total_forget_gate_bias(value):
    cell = rnnkit.LSTMCell(I, H, forget_bias=value)
    total = cell.bias_ih[H:2 * H] + cell.bias_hh[H:2 * H]
    torch.testing.assert_close(total, torch.full((H,), value))


def test_forget_bias_survives_reset_parameters():
    cell = rnnkit.LSTMCell(I, H, forget_bias=1.0)
    cell.reset_parameters()
    torch.testing.assert_close(cell.bias_ih[H:2 * H] + cell.bias_hh[H:2 * H], torch.ones(H))


def test_forget_bias_leaves_the_other_gate_biases_alone():
    torch.manual_seed(1)
    plain = rnnkit.LSTMCell(I, H)
    torch.manual_seed(1)
    biased = rnnkit.LSTMCell(I, H, forget_bias=1.0)
    for name in ("bias_ih", "bias_hh"):
        keep = torch.ones(4 * H, dtype=torch.bool)
        keep[H:2 * H] = False
        assert torch.equal(getattr(plain, name)[keep], getattr(biased, name)[keep])


def test_layer_norm_lstm_cell_has_documented_parameters_at_unit_gain():
    cell = rnnkit.LSTMCell(I, H, layer_norm=True)
    ln = {n: p for n, p in cell.named_parameters() if n.startswith("ln_")}
    assert {n: tuple(p.shape) for n, p in ln.items()} == {
        "ln_ih_weight": (4 * H,), "ln_ih_bias": (4 * H,), "ln_hh_weight": (4 * H,), "ln_hh_bias": (4 * H,),
        "ln_c_weight": (H,), "ln_c_bias": (H,)}
    for name, p in ln.items():
        assert torch.equal(p, torch.ones_like(p) if name.endswith("weight") else torch.zeros_like(p))


def test_layer_norm_changes_the_lstm_cell_function():
    plain = rnnkit.LSTMCell(I, H)
    normed = rnnkit.LSTMCell(I, H, layer_norm=True)
    normed.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(B, I)
    assert not torch.allclose(plain(x)[0], normed(x)[0])


def test_layer_norm_lstm_carries_the_unnormalised_cell_state():
    cell = rnnkit.LSTMCell(I, H, layer_norm=True, dtype=torch.float64)
    c0 = torch.randn(B, H, dtype=torch.float64)
    s = lstm_step(torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64), c0,
                  *weights(cell), ln=cell.layer_norm_params())
    torch.testing.assert_close(s.c, s.f * c0 + s.i * s.g)
    normed_c = torch.nn.functional.layer_norm(s.c, (H,), eps=1e-5)
    torch.testing.assert_close(s.h, s.o * torch.tanh(normed_c))
