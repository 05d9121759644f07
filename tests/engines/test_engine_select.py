"""The vendor engine (torch._VF: oneDNN / cuDNN) and the `auto` engine's choices."""

from __future__ import annotations

import copy

import pytest
import torch

import rnnkit
from engines.cases import Combo, outputs, problem
from rnnkit.engines import ENGINE_NAMES, reference, resolve_engine, select_engine, vendor


@pytest.mark.parametrize("mode,proj", [("lstm", False), ("lstm", True), ("gru", False), ("rnn_tanh", False),
                                       ("rnn_relu", False)])
@pytest.mark.parametrize("mask", [False, True])
def test_vendor_matches_reference(mode, proj, mask):
    p = problem(Combo(mode, proj=proj, state=True), torch.float64)
    if mask:  # lengths without a zero-length row, which packed sequences cannot hold
        p.mask = torch.arange(p.x.shape[0]).unsqueeze(1) < torch.tensor([5, 2, 4]).unsqueeze(0)
    expected = outputs(reference.run_direction, p)
    actual = outputs(vendor.run_direction, p)
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-10)
    g = torch.autograd.grad(expected, p.leaves, [torch.ones_like(o) for o in expected])
    g_v = torch.autograd.grad(actual, p.leaves, [torch.ones_like(o) for o in actual])
    for a, e in zip(g_v, g, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("combo,why", [(Combo("lstm", layer_norm=True), "layer_norm"),
                                       (Combo("gru", h_dropout=True), "recurrent dropout"),
                                       (Combo("rnn_tanh", mask=True), "a zero-length row")])
def test_vendor_refuses_what_it_cannot_compute(combo, why):
    p = problem(combo, torch.float32)
    assert vendor.unsupported(p.weights, p.mask, p.h_dropout, False) == why
    with pytest.raises(ValueError, match=why):
        vendor.run_direction(p.mode, p.x, p.state, p.weights, p.mask, p.h_dropout)


def test_auto_never_picks_an_engine_that_cannot_compute_the_configuration():
    from engines.cases import all_combos

    for combo in all_combos():
        p = problem(combo, torch.float32)
        for grad in (False, True):
            with torch.set_grad_enabled(grad):
                name = select_engine(p.mode, p.x, p.weights, p.mask, p.h_dropout)
            if name == "vendor":
                assert vendor.unsupported(p.weights, p.mask, p.h_dropout, False) is None, combo
        assert select_engine(p.mode, p.x, p.weights, p.mask, p.h_dropout, record=True) == "reference"


def test_auto_on_cpu_picks_fused_for_options_the_vendor_lacks():
    for combo in (Combo("lstm", layer_norm=True), Combo("gru", h_dropout=True), Combo("rnn_tanh", mask=True)):
        p = problem(combo, torch.float32)
        assert select_engine(p.mode, p.x, p.weights, p.mask, p.h_dropout) == "fused"


def test_auto_layer_matches_reference_layer():
    torch.manual_seed(0)
    ref = rnnkit.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2, engine="reference")
    auto = copy.deepcopy(ref)
    auto.engine = "auto"
    x = torch.randn(6, 4, 3)
    for lengths in (None, [6, 2, 5, 1], [6, 0, 3, 3]):
        out_r, (h_r, c_r) = ref(x, lengths=lengths)
        out_a, (h_a, c_a) = auto(x, lengths=lengths)
        for a, e in ((out_a, out_r), (h_a, h_r), (c_a, c_r)):
            torch.testing.assert_close(a, e, rtol=0, atol=1e-5)


def test_resolve_engine_names():
    assert set(ENGINE_NAMES) == {"auto", "reference", "fused", "fused_checkpoint", "vendor"}
    assert resolve_engine("reference") is reference.run_direction
    with pytest.raises(ValueError, match="engine must be one of"):
        resolve_engine("cudnn")
    with pytest.raises(ValueError, match="engine must be one of"):
        rnnkit.GRU(2, 3, engine="fast")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
class TestCuda:
    @pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
    def test_fused_matches_reference_on_cuda(self, mode):
        for combo in (Combo(mode, mask=True, h_dropout=True, state=True),
                      Combo(mode, layer_norm=mode != "rnn_tanh", proj=mode == "lstm", state=True)):
            p = problem(combo, torch.float64)
            cuda = copy.copy(p)
            move = lambda t: None if t is None else t.detach().cuda().requires_grad_(t.requires_grad)  # noqa: E731
            from rnnkit.engines import fused
            from rnnkit.engines.spec import DirectionWeights

            w = p.weights
            ln = None if w.ln is None else type(w.ln)(*[None if q is None else tuple(move(t) for t in q) for q in w.ln])
            cuda.weights = DirectionWeights(*(move(t) for t in w[:5]), ln)
            cuda.x, cuda.state = move(p.x), tuple(move(s) for s in p.state)
            cuda.mask = None if p.mask is None else p.mask.cuda()
            cuda.h_dropout = None if p.h_dropout is None else p.h_dropout.cuda()
            expected = outputs(reference.run_direction, p)
            actual = outputs(fused.run_direction, cuda)
            for a, e in zip(actual, expected, strict=True):
                torch.testing.assert_close(a.cpu(), e, rtol=1e-9, atol=1e-10)

    def test_auto_picks_cudnn_for_plain_configurations(self):
        p = problem(Combo("lstm"), torch.float32)
        assert select_engine("lstm", p.x.cuda(), p.weights) == "vendor"


@pytest.mark.parametrize("lengths", [None, "some"])
@pytest.mark.parametrize("make", [lambda: rnnkit.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2),
                                  lambda: rnnkit.GRU(3, 5, num_layers=3), lambda: rnnkit.RNN(3, 5, bidirectional=True)],
                         ids=["lstm_2layer_bi_proj", "gru_3layer", "rnn_bi"])
def test_whole_stack_vendor_call_matches_reference(make, lengths):
    """`vendor.run_stack` (what auto uses for big LSTM stacks on CPU and every stack on GPU)."""
    torch.manual_seed(0)
    layer = make().double()
    B = 17
    x = torch.randn(6, B, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.randint(1, 7, (B,)) if lengths else None
    ref_out, ref_state = layer(x, lengths=lens)
    states = layer._check_inputs(x, None, lens).states
    masked = x if lens is None else x.masked_fill(~(torch.arange(6).unsqueeze(1) < lens).unsqueeze(-1), 0)
    out, state = vendor.run_stack(layer, masked, states, lens)
    ref_flat = ref_state if isinstance(ref_state, tuple) else (ref_state,)
    for a, e in zip((out, *state), (ref_out, *ref_flat), strict=True):
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-10)
    g_ref = torch.autograd.grad(ref_out.sum(), [x, *layer.parameters()])
    g = torch.autograd.grad(out.sum(), [x, *layer.parameters()])
    for a, e in zip(g, g_ref, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-10)


def test_whole_stack_declines_what_it_cannot_compute_exactly():
    x = torch.randn(4, 16, 3)
    for layer, lengths in ((rnnkit.LSTM(3, 5, layer_norm=True), None),
                           (rnnkit.LSTM(3, 5, num_layers=2, dropout=0.5).train(), None),
                           (rnnkit.GRU(3, 5, recurrent_dropout=0.2).train(), None),
                           (rnnkit.LSTM(3, 5), torch.tensor([4] * 15 + [0]))):
        states = layer._check_inputs(x, None, lengths).states
        assert vendor.run_stack(layer, x, states, lengths) is None


def test_auto_takes_the_whole_stack_for_a_big_lstm_stack_on_cpu(monkeypatch):
    calls = []
    monkeypatch.setattr(vendor, "run_stack", lambda *a: calls.append(a) or None)
    x = torch.randn(5, 16, 3, requires_grad=True)
    rnnkit.LSTM(3, 4, num_layers=2)(x)
    rnnkit.LSTM(3, 4, bidirectional=True)(x)
    assert len(calls) == 2
    rnnkit.GRU(3, 4, num_layers=2)(x)          # GRU: the fused engine is faster
    rnnkit.LSTM(3, 4)(x)                        # one layer, one direction, training: fused
    rnnkit.LSTM(3, 4, num_layers=2)(x[:, :8])   # small batch: fused
    assert len(calls) == 2
    with torch.no_grad():
        rnnkit.LSTM(3, 4)(x)                    # inference at batch >= 16: oneDNN's forward
    assert len(calls) == 3
