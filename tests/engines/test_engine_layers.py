"""Every engine through the layers: `rnnkit.LSTM/GRU/RNN(..., engine=e)` equals `engine="reference"`.

Stacks, both directions, lengths (a zero-length row included), proj_size, layer norm, recurrent and
inter-layer dropout (same seed, so the same masks), given initial states and batch_first.
"""

from __future__ import annotations

import copy

import pytest
import torch

import rnnkit

I, H, P, T, B = 3, 5, 2, 6, 4
LENGTHS = [6, 3, 0, 1]

LAYERS = {
    "lstm_2layer_bi_lengths": (lambda: rnnkit.LSTM(I, H, num_layers=2, bidirectional=True), True, False),
    "lstm_proj_layernorm_dropouts": (lambda: rnnkit.LSTM(I, H, num_layers=2, proj_size=P, layer_norm=True,
                                                         recurrent_dropout=0.3, dropout=0.2, forget_bias=1.0),
                                     True, True),
    "lstm_bi_proj_batch_first": (lambda: rnnkit.LSTM(I, H, bidirectional=True, proj_size=P, batch_first=True),
                                 True, False),
    "gru_2layer_bi_layernorm": (lambda: rnnkit.GRU(I, H, num_layers=2, bidirectional=True, layer_norm=True),
                                True, False),
    "gru_recurrent_dropout_no_bias": (lambda: rnnkit.GRU(I, H, bias=False, recurrent_dropout=0.4), False, True),
    "rnn_tanh_3layer_bi": (lambda: rnnkit.RNN(I, H, num_layers=3, bidirectional=True), True, False),
    "rnn_relu_dropout": (lambda: rnnkit.RNN(I, H, nonlinearity="relu", recurrent_dropout=0.3), True, True),
}
ENGINES = ("fused", "fused_checkpoint", "auto")


def _run(layer, x, hx, lengths, seed=0):
    torch.manual_seed(seed)
    out, state = layer(x, hx, lengths=lengths)
    states = list(state) if isinstance(state, tuple) else [state]
    return [out, *states]


def _case(name, dtype, lengths):
    make, _, train = LAYERS[name]
    torch.manual_seed(0)
    ref = make().to(dtype)
    ref.train(train)
    x = torch.randn(B, T, I, dtype=dtype) if ref.batch_first else torch.randn(T, B, I, dtype=dtype)
    x.requires_grad_()
    D = 2 if ref.bidirectional else 1
    h0 = torch.randn(ref.num_layers * D, B, ref.output_size, dtype=dtype, requires_grad=True)
    hx = h0
    if ref.mode == "lstm":
        hx = (h0, torch.randn(ref.num_layers * D, B, H, dtype=dtype, requires_grad=True))
    return ref, x, hx, lengths


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_outputs_float32(name, engine):
    ref, x, hx, lengths = _case(name, torch.float32, LENGTHS if LAYERS[name][1] else None)
    other = copy.deepcopy(ref)
    other.engine = engine
    for a, e in zip(_run(other, x, hx, lengths), _run(ref, x, hx, lengths), strict=True):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_gradients_float64(name, engine):
    ref, x, hx, lengths = _case(name, torch.float64, LENGTHS if LAYERS[name][1] else None)
    other = copy.deepcopy(ref)
    other.engine = engine
    hx_leaves = list(hx) if isinstance(hx, tuple) else [hx]
    results = []
    for layer in (ref, other):
        outs = _run(layer, x, hx, lengths)
        weights = [torch.ones_like(o) * (k + 1) for k, o in enumerate(outs)]
        leaves = [x, *hx_leaves, *layer.parameters()]
        results.append(torch.autograd.grad(outs, leaves, weights, allow_unused=True))
    names = ["x"] + [f"hx{k}" for k in range(len(hx_leaves))] + [n for n, _ in ref.named_parameters()]
    for n, e, a in zip(names, *results, strict=True):
        assert (e is None) == (a is None) or (e is None and not a.any()) or (a is None and not e.any()), n
        if e is not None and a is not None:
            torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-10, msg=lambda m, n=n: f"{n}: {m}")


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_gradcheck_fused(name):
    ref, x, hx, lengths = _case(name, torch.float64, LENGTHS if LAYERS[name][1] else None)
    layer = copy.deepcopy(ref)
    layer.engine = "fused"
    hx_leaves = list(hx) if isinstance(hx, tuple) else [hx]
    params = dict(layer.named_parameters())

    def f(x, *rest):
        hs, ps = rest[:len(hx_leaves)], rest[len(hx_leaves):]
        h = tuple(hs) if layer.mode == "lstm" else hs[0]
        return tuple(_run_functional(layer, dict(zip(params, ps, strict=True)), x, h, lengths))

    assert torch.autograd.gradcheck(f, (x, *hx_leaves, *params.values()), fast_mode=True)


def _run_functional(layer, params, x, hx, lengths):
    torch.manual_seed(0)
    out, state = torch.func.functional_call(layer, params, (x, hx), {"lengths": lengths})
    return [out, *(state if isinstance(state, tuple) else (state,))]


def test_packed_sequence_through_fused():
    from torch.nn.utils.rnn import pack_padded_sequence

    torch.manual_seed(0)
    ref = rnnkit.LSTM(I, H, bidirectional=True, engine="reference")
    fused = copy.deepcopy(ref)
    fused.engine = "fused"
    x = torch.randn(T, B, I)
    packed = pack_padded_sequence(x, torch.tensor([6, 3, 2, 1]), enforce_sorted=False)
    (po_r, (h_r, c_r)), (po_f, (h_f, c_f)) = ref(packed), fused(packed)
    torch.testing.assert_close(po_f.data, po_r.data, rtol=0, atol=1e-5)
    torch.testing.assert_close(h_f, h_r, rtol=0, atol=1e-5)
    torch.testing.assert_close(c_f, c_r, rtol=0, atol=1e-5)


@pytest.mark.parametrize("engine", ["auto", "fused"])
def test_torch_compile_runs_the_fused_engine_eagerly_with_the_same_numbers(engine):
    torch.manual_seed(0)
    layer, x = rnnkit.GRU(3, 4, num_layers=2, engine=engine), torch.randn(6, 2, 3)
    compiled = torch.compile(layer, backend="eager")
    out, h = compiled(x)
    out.square().sum().backward()
    got = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    out_eager, h_eager = layer(x)
    out_eager.square().sum().backward()
    torch.testing.assert_close(out, out_eager)
    torch.testing.assert_close(h, h_eager)
    for a, b in zip(got, (p.grad for p in layer.parameters()), strict=True):
        torch.testing.assert_close(a, b)
