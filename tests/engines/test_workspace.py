"""The fused engines' buffer pool (`rnnkit.engines.workspace`): reused memory must never change a result.

The shapes here are large enough (>= 1 MiB buffers) for the pool to take part; every result is compared bit
for bit with the same computation on fresh buffers (the pool switched off).
"""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.engines import workspace

CELLS = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}


@pytest.fixture
def fresh(monkeypatch):
    """Run a function with the pool off (fresh buffers everywhere)."""
    def run(fn):
        monkeypatch.setattr(workspace, "ENABLED", False)
        try:
            return fn()
        finally:
            monkeypatch.setattr(workspace, "ENABLED", True)
    return run


def layer_and_inputs(cell: str, seed: int = 0, layers: int = 2, bidirectional: bool = True):
    torch.manual_seed(seed)
    layer = CELLS[cell](16, 128, num_layers=layers, bidirectional=bidirectional, engine="fused")
    xs = [torch.randn(40, 64, 16, requires_grad=True) for _ in range(3)]    # gates: 40*64*512*4 B = 5 MiB
    return layer, xs


def grads(layer, x, out):
    return torch.autograd.grad(out.square().sum(), [x, *layer.parameters()])


@pytest.mark.parametrize("cell", list(CELLS))
def test_several_graphs_in_flight_get_their_own_buffers(cell, fresh):
    """Three forwards before any backward (buffers of all three saved), outputs kept: nothing is shared."""
    layer, xs = layer_and_inputs(cell)
    assert workspace.ENABLED
    workspace.clear()
    outs = [layer(x)[0] for x in xs]
    got = [(o.detach().clone(), grads(layer, x, o)) for x, o in zip(xs, outs, strict=True)]
    expect = fresh(lambda: [(o.detach(), grads(layer, x, o)) for x in xs for o in [layer(x)[0]]])
    for (o, g), (o2, g2) in zip(got, expect, strict=True):
        assert torch.equal(o, o2)
        assert all(torch.equal(a, b) for a, b in zip(g, g2, strict=True))


@pytest.mark.parametrize("cell", list(CELLS))
def test_buffers_are_reused_across_steps_without_changing_results(cell, fresh):
    layer, xs = layer_and_inputs(cell, layers=1, bidirectional=False)
    workspace.clear()
    first = None
    results = []
    for x in xs:                                  # a training loop: each step's graph is freed before the next
        out = layer(x)[0]
        ptr = out.data_ptr()
        first = first or ptr
        results.append((out.detach().clone(), grads(layer, x, out)))
        del out
    assert ptr == first                           # the third step got the first step's output memory back
    expect = fresh(lambda: [(o.detach(), grads(layer, x, o)) for x in xs for o in [layer(x)[0]]])
    for (o, g), (o2, g2) in zip(results, expect, strict=True):
        assert torch.equal(o, o2) and all(torch.equal(a, b) for a, b in zip(g, g2, strict=True))


def test_an_output_the_caller_keeps_or_edits_is_never_handed_out_again():
    layer, xs = layer_and_inputs("lstm", layers=1, bidirectional=False)
    workspace.clear()
    with torch.no_grad():
        kept = layer(xs[0])[0]
        snapshot = kept.clone()
        for x in xs[1:]:
            layer(x)
    assert torch.equal(kept, snapshot)
    out = layer(xs[1])[0]
    out.add_(1.0)            # in place with autograd on: allowed (a view made in no_grad mode would refuse it)
    assert out._base is None


def test_retain_graph_backward_twice_gives_the_same_gradients():
    layer, xs = layer_and_inputs("lstm")
    out = layer(xs[0])[0]
    g1 = torch.autograd.grad(out.sum(), xs[0], retain_graph=True)[0]
    layer(xs[1])[0].sum().backward()              # another step in between may not take the retained buffers
    g2 = torch.autograd.grad(out.sum(), xs[0])[0]
    assert torch.equal(g1, g2)
