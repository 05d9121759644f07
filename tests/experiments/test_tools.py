"""The experiments' instruments, checked against simple references (cheap, no training)."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnkit.experiments.claims.architectures import tag_text
from rnnkit.experiments.claims.sequential_cost import linear_recurrence_loop, linear_recurrence_scan
from rnnkit.experiments.claims.tbptt import chunks
from rnnkit.experiments.common import CELLS, chrono_init_, generator, make_layer
from rnnkit.experiments.gradients import state_gradients, unroll
from rnnkit.experiments.measure import linear_fit, saved_tensor_bytes
from rnnkit.experiments.tasks import recall_batch


@pytest.mark.parametrize(("cell", "cut"), [(c, None) for c in CELLS] + [("lstm", "h"), ("lstm", "c")])
def test_unroll_matches_the_layer(cell, cut):
    """The step-by-step unroll used for gradient measurements computes the layer's own forward values
    (cutting a gradient path changes no forward value)."""
    layer = make_layer(cell, 3, 5).double()
    x = torch.randn(2, 7, 3, dtype=torch.float64, generator=generator(0))
    out, _ = layer(x)
    hs, _ = unroll(layer, x, cut)
    torch.testing.assert_close(torch.stack(hs, 1), out)


def test_state_gradients_match_autograd_through_the_layer():
    layer = make_layer("gru", 3, 4).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64, generator=generator(1))
    r = torch.randn(4, dtype=torch.float64, generator=generator(2))
    got = state_gradients(layer, x, r)
    xg = x.clone().requires_grad_(True)
    (layer(xg)[0][:, -1] @ r).sum().backward()
    expected = [float(g.norm(dim=-1).mean()) for g in reversed(xg.grad.unbind(1))]
    assert got["x"] == pytest.approx(expected, rel=1e-12)
    assert len(got["h"]) == 6 and "c" not in got


def test_cutting_the_c_path_blocks_the_additive_route():
    layer = make_layer("lstm", 3, 4).double()
    x = torch.randn(2, 10, 3, dtype=torch.float64, generator=generator(3))
    r = torch.randn(4, dtype=torch.float64, generator=generator(4))
    full, c_only = state_gradients(layer, x, r), state_gradients(layer, x, r, cut="h")
    assert c_only["x"][0] == pytest.approx(full["x"][0])       # the last step's input: no recurrence involved
    assert c_only["x"][5] != pytest.approx(full["x"][5])
    assert c_only["h"][5] == 0.0                                # h_{T-5} no longer reaches the loss
    with pytest.raises(ValueError, match="cut must be"):
        unroll(layer, x, cut="w")


@pytest.mark.parametrize(("T", "k"), [(45, 20), (40, 20), (11, 20), (100, None), (1, 1), (7, 3)])
def test_tbptt_chunks_tile_the_sequence(T, k):
    pieces = chunks(T, k)
    assert pieces[0].start == 0 and pieces[-1].stop == T
    assert all(a.stop == b.start for a, b in itertools.pairwise(pieces))
    assert all(0 < p.stop - p.start <= (k or T) for p in pieces)
    assert pieces[-1].stop - pieces[-1].start == min(k or T, T)    # the scored last chunk is a full window


@pytest.mark.parametrize("T", [1, 2, 5, 64, 100])
def test_parallel_scan_equals_the_loop(T):
    a = torch.rand(3, T, 4, dtype=torch.float64, generator=generator(5))
    b = torch.randn(3, T, 4, dtype=torch.float64, generator=generator(6))
    torch.testing.assert_close(linear_recurrence_scan(a, b), linear_recurrence_loop(a, b))


def test_tag_text_marks_strings_and_comments():
    src = 'x = "a#b"  # note\ny = f"{x}!"\n'
    tags = tag_text(src)
    as_text = "".join("cSC"[t] for t in tags)
    assert as_text[src.index('"a#b"'):src.index('"a#b"') + 5] == "SSSSS"
    assert as_text[src.index("# note"):src.index("# note") + 6] == "CCCCCC"
    assert as_text[src.index("y = ")] == "c"
    assert as_text[src.index("!")] == "S"


def test_recall_batch():
    x, y = recall_batch(generator(7), batch=5, lag=9, symbols=4)
    assert x.shape == (5, 10, 5) and y.shape == (5,)
    assert torch.equal(x[:, 0, :4].argmax(-1), y)
    assert x[:, 0, 4].eq(1).all() and x[:, 1:, 4].eq(0).all()
    assert x[:, 1:, :4].sum(-1).eq(1).all()                     # distractors are symbols too
    blank, _ = recall_batch(generator(7), batch=5, lag=9, blank=True)
    assert blank[:, 1:].eq(0).all()


def test_chrono_init_spreads_forget_biases():
    lstm = make_layer("lstm", 2, 16)
    chrono_init_(lstm, 100, generator(8))
    b_f = (lstm.bias_ih_l0 + lstm.bias_hh_l0)[16:32]
    b_i = (lstm.bias_ih_l0 + lstm.bias_hh_l0)[:16]
    assert b_f.min() >= 0 and b_f.max() <= torch.log(torch.tensor(99.0)) + 1e-6
    torch.testing.assert_close(b_i, -b_f)
    with pytest.raises(ValueError, match="needs gates"):
        chrono_init_(make_layer("elman", 2, 4), 10, generator(9))


def test_linear_fit_and_saved_bytes():
    a, b, r2 = linear_fit([1, 2, 3, 4], [3, 5, 7, 9])
    assert (a, b, r2) == pytest.approx((2.0, 1.0, 1.0))
    w = torch.randn(64, 64, requires_grad=True)
    x = torch.randn(8, 64)
    one = saved_tensor_bytes(lambda: torch.tanh(x @ w).sum())
    two = saved_tensor_bytes(lambda: torch.tanh(torch.cat([x, x]) @ w).sum())
    assert one > 0 and two > one
