"""The rnnkit-only options: forget_bias, orthogonal recurrent init, layer norm, recurrent dropout, engine."""

from __future__ import annotations

import pytest
import torch

import rnnkit

T, B, I, H, P = 5, 3, 4, 6, 2
DT = torch.float64


def suffixes(layer) -> list[str]:
    return [f"_l{k}{'_reverse' if d else ''}" for k in range(layer.num_layers) for d in range(layer.num_directions)]


# ---- forget_bias -------------------------------------------------------------------------------
@pytest.mark.parametrize("proj_size", [0, P])
@pytest.mark.parametrize("value", [1.0, -0.5])
def test_forget_bias_sets_the_summed_forget_bias_in_every_layer_and_direction(value, proj_size):
    layer = rnnkit.LSTM(I, H, num_layers=3, bidirectional=True, proj_size=proj_size, forget_bias=value)
    for s in suffixes(layer):
        total = getattr(layer, f"bias_ih{s}")[H:2 * H] + getattr(layer, f"bias_hh{s}")[H:2 * H]
        torch.testing.assert_close(total, torch.full((H,), value), msg=s)


def test_forget_bias_survives_reset_parameters():
    layer = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, forget_bias=2.0)
    layer.reset_parameters()
    for s in suffixes(layer):
        total = getattr(layer, f"bias_ih{s}")[H:2 * H] + getattr(layer, f"bias_hh{s}")[H:2 * H]
        torch.testing.assert_close(total, torch.full((H,), 2.0), msg=s)


def test_forget_bias_carries_over_to_torch_nn():
    torch_lstm = rnnkit.LSTM(I, H, num_layers=2, forget_bias=1.0).to_torch()
    total = torch_lstm.bias_ih_l1[H:2 * H] + torch_lstm.bias_hh_l1[H:2 * H]
    torch.testing.assert_close(total, torch.ones(H))


def test_forget_bias_keeps_the_forget_gate_mostly_open():
    layer = rnnkit.LSTM(I, H, forget_bias=5.0)
    _, _, record = layer(torch.randn(T, B, I), return_record=True)
    assert record.get("f").mean() > 0.9


# ---- orthogonal init ---------------------------------------------------------------------------
@pytest.mark.parametrize("make, gates", [
    (lambda: rnnkit.RNN(I, H, num_layers=2, bidirectional=True, recurrent_init="orthogonal", dtype=DT), 1),
    (lambda: rnnkit.GRU(I, H, num_layers=2, bidirectional=True, recurrent_init="orthogonal", dtype=DT), 3),
    (lambda: rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, recurrent_init="orthogonal", dtype=DT), 4),
    (lambda: rnnkit.LSTM(I, H, num_layers=2, proj_size=P, recurrent_init="orthogonal", dtype=DT), 4),
], ids=["rnn", "gru", "lstm", "lstm_proj"])
def test_orthogonal_init_makes_every_gate_block_orthogonal(make, gates):
    layer = make()
    cols = layer.proj_size or H
    for s in suffixes(layer):
        for block in getattr(layer, f"weight_hh{s}").chunk(gates, dim=0):
            assert block.shape == (H, cols)
            torch.testing.assert_close(block.T @ block, torch.eye(cols, dtype=DT), msg=s)


def test_orthogonal_init_leaves_input_weights_uniform():
    layer = rnnkit.GRU(I, H, recurrent_init="orthogonal")
    assert bool((layer.weight_ih_l0.abs() <= 1 / H ** 0.5).all())


# ---- layer norm --------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, gates, has_c", [(rnnkit.LSTM, 4, True), (rnnkit.GRU, 3, False)])
def test_layer_norm_adds_documented_parameters_per_layer_and_direction(cls, gates, has_c):
    layer = cls(I, H, num_layers=2, bidirectional=True, layer_norm=True)
    expected = {}
    for s in suffixes(layer):
        for base in ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias"):
            expected[f"{base}{s}"] = (gates * H,)
        if has_c:
            expected |= {f"ln_c_weight{s}": (H,), f"ln_c_bias{s}": (H,)}
    got = {n: tuple(p.shape) for n, p in layer.named_parameters() if n.startswith("ln_")}
    assert got == expected
    for n, p in layer.named_parameters():
        if n.startswith("ln_"):
            assert torch.equal(p, torch.ones_like(p) if "_weight" in n else torch.zeros_like(p)), n


@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU])
def test_layer_norm_changes_the_function(cls):
    plain = cls(I, H, num_layers=2)
    normed = cls(I, H, num_layers=2, layer_norm=True)
    normed.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(T, B, I)
    assert not torch.allclose(plain(x)[0], normed(x)[0], atol=1e-3)


@pytest.mark.parametrize("cls, cell_cls", [(rnnkit.LSTM, rnnkit.LSTMCell), (rnnkit.GRU, rnnkit.GRUCell)])
def test_layer_norm_layer_equals_chained_layer_norm_cells(cls, cell_cls):
    layer = cls(I, H, layer_norm=True, dtype=DT)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    cell = cell_cls(I, H, layer_norm=True, dtype=DT)
    cell.load_state_dict({n.removesuffix("_l0"): p for n, p in layer.state_dict().items()})
    x = torch.randn(T, B, I, dtype=DT)
    out, _ = layer(x)
    state = None
    for t in range(T):
        state = cell(x[t], state)
        h = state[0] if isinstance(state, tuple) else state
        torch.testing.assert_close(out[t], h, rtol=0, atol=1e-12)


# ---- recurrent dropout -------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU])
def test_recurrent_dropout_is_active_in_training_mode(cls):
    layer = cls(I, H, recurrent_dropout=0.5)
    x = torch.randn(T, B, I)
    assert not torch.equal(layer(x)[0], layer(x)[0])


@pytest.mark.parametrize("cls", [rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU])
def test_recurrent_dropout_is_inactive_in_eval_mode(cls):
    layer = cls(I, H, num_layers=2, bidirectional=True, recurrent_dropout=0.5).eval()
    plain = cls(I, H, num_layers=2, bidirectional=True).eval()
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(T, B, I)
    assert torch.equal(layer(x)[0], layer(x)[0])
    assert torch.equal(layer(x)[0], plain(x)[0])


def test_recurrent_dropout_is_reproducible_under_a_fixed_seed():
    layer = rnnkit.LSTM(I, H, recurrent_dropout=0.3)
    x = torch.randn(T, B, I)
    torch.manual_seed(7)
    first = layer(x)[0]
    torch.manual_seed(7)
    assert torch.equal(first, layer(x)[0])


def test_recurrent_dropout_leaves_the_first_step_alone():
    """The mask multiplies h_{t-1}; from a zero initial state the first step cannot change."""
    layer = rnnkit.GRU(I, H, recurrent_dropout=0.5)
    x = torch.randn(T, B, I)
    assert torch.equal(layer(x)[0][0], layer.eval()(x)[0][0])


# ---- engine ------------------------------------------------------------------------------------
def test_reference_engine_gives_the_auto_engines_numbers():
    auto = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, dtype=DT)
    ref = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, engine="reference", dtype=DT)
    ref.load_state_dict(auto.state_dict())
    x = torch.randn(T, B, I, dtype=DT)
    torch.testing.assert_close(auto(x, lengths=[5, 1, 3]), ref(x, lengths=[5, 1, 3]), rtol=0, atol=1e-10)


def test_repr_lists_non_default_options():
    text = repr(rnnkit.LSTM(I, H, num_layers=2, forget_bias=1.0, layer_norm=True))
    assert "num_layers=2" in text and "forget_bias=1.0" in text and "layer_norm=True" in text
    assert "dropout" not in text
