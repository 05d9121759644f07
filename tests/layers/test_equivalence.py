"""rnnkit.RNN/LSTM/GRU compute what torch.nn.RNN/LSTM/GRU compute, given the same weights.

The grid covers every configuration: cell x layers x direction x batch layout x projection x
(full rows | lengths | PackedSequence sorted | PackedSequence unsorted), in float32 and float64.
With lengths, torch runs the rows packed; its padded output (zeros past each row) is compared with ours.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnkit

T, B, I, H, P = 5, 3, 4, 6, 2
LENGTHS = [2, 5, 4]              # unsorted, one full row
SORTED_LENGTHS = [5, 4, 2]
MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
INPUTS = ("full", "lengths", "packed_sorted", "packed_unsorted")

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")


def torch_layer(mode: str, proj_size: int = 0, **kw) -> nn.RNNBase:
    if mode == "lstm":
        return nn.LSTM(I, H, proj_size=proj_size, **kw)
    if mode == "gru":
        return nn.GRU(I, H, **kw)
    return nn.RNN(I, H, nonlinearity=mode.removeprefix("rnn_"), **kw)


def twins(mode: str, proj_size: int = 0, **kw) -> tuple[nn.Module, nn.RNNBase]:
    reference = torch_layer(mode, proj_size, **kw)
    ours = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU}.get(mode, rnnkit.RNN)
    extra = {"proj_size": proj_size} if mode == "lstm" else {}
    if mode.startswith("rnn_"):
        extra = {"nonlinearity": mode.removeprefix("rnn_")}
    layer = ours(I, H, **extra, **kw)
    layer.load_state_dict(reference.state_dict())
    return layer, reference


def random_state(mode: str, num_layers: int, directions: int, proj_size: int, dtype, batch: tuple = (B,)):
    h = torch.randn(num_layers * directions, *batch, proj_size or H, dtype=dtype)
    if mode == "lstm":
        return h, torch.randn(num_layers * directions, *batch, H, dtype=dtype)
    return h


def run_both(layer, reference, x, kind: str, batch_first: bool, hx=None):
    """(ours, torch's) (padded output, final state) for one of the INPUTS kinds."""
    if kind == "full":
        return layer(x, hx), reference(x, hx)
    if kind == "lengths":
        packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=batch_first, enforce_sorted=False)
        out, state = reference(packed, hx)
        out = pad_packed_sequence(out, batch_first=batch_first, total_length=T)[0]
        return layer(x, hx, lengths=LENGTHS), (out, state)
    lengths = SORTED_LENGTHS if kind == "packed_sorted" else LENGTHS
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                  enforce_sorted=kind == "packed_sorted")
    (ours_out, ours_state), (ref_out, ref_state) = layer(packed, hx), reference(packed, hx)
    assert isinstance(ours_out, PackedSequence)
    assert torch.equal(ours_out.batch_sizes, ref_out.batch_sizes)
    for a, b in ((ours_out.sorted_indices, ref_out.sorted_indices),
                 (ours_out.unsorted_indices, ref_out.unsorted_indices)):
        assert (a is None and b is None) or torch.equal(a, b)
    return (ours_out.data, ours_state), (ref_out.data, ref_state)


GRID = [(mode, layers, bi, bf, proj, kind)
        for mode, layers, bi, bf, proj, kind in itertools.product(MODES, (1, 2, 3), (False, True), (False, True),
                                                                  (0, P), INPUTS)
        if mode == "lstm" or proj == 0]


def grid_id(case) -> str:
    mode, layers, bi, bf, proj, kind = case
    return f"{mode}-L{layers}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tf'}-P{proj}-{kind}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", GRID, ids=grid_id)
def test_layer_matches_torch_nn(case, dtype, assert_same):
    mode, layers, bi, bf, proj, kind = case
    layer, reference = twins(mode, proj, num_layers=layers, bidirectional=bi, batch_first=bf, dtype=dtype)
    x = torch.randn((B, T, I) if bf else (T, B, I), dtype=dtype)
    ours, expected = run_both(layer, reference, x, kind, bf)
    assert_same(ours, expected, dtype)


HX_GRID = [(mode, bi, bf, proj, kind)
           for mode, bi, bf, proj, kind in itertools.product(MODES, (False, True), (False, True), (0, P), INPUTS)
           if mode == "lstm" or proj == 0]


@pytest.mark.parametrize("case", HX_GRID, ids=lambda c: "-".join(map(str, c)))
def test_layer_with_explicit_initial_state_matches_torch_nn(case, assert_same):
    mode, bi, bf, proj, kind = case
    dtype = torch.float64
    layer, reference = twins(mode, proj, num_layers=2, bidirectional=bi, batch_first=bf, dtype=dtype)
    x = torch.randn((B, T, I) if bf else (T, B, I), dtype=dtype)
    hx = random_state(mode, 2, 2 if bi else 1, proj, dtype)
    ours, expected = run_both(layer, reference, x, kind, bf, hx)
    assert_same(ours, expected, dtype)


@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("case", [("rnn_tanh", 0), ("rnn_relu", 0), ("gru", 0), ("lstm", 0), ("lstm", P)],
                         ids=lambda c: f"{c[0]}-P{c[1]}")
def test_unbatched_input_matches_torch_nn(case, batch_first, with_hx, assert_same):
    mode, proj = case
    dtype = torch.float64
    layer, reference = twins(mode, proj, num_layers=2, bidirectional=True, batch_first=batch_first, dtype=dtype)
    x = torch.randn(T, I, dtype=dtype)
    hx = random_state(mode, 2, 2, proj, dtype, batch=()) if with_hx else None
    out, state = layer(x, hx)
    assert out.shape == (T, 2 * (proj or H))
    assert_same((out, state), reference(x, hx), dtype)


@pytest.mark.parametrize("mode", MODES)
def test_final_state_shapes_follow_torch_conventions(mode):
    proj = P if mode == "lstm" else 0
    layer, reference = twins(mode, proj, num_layers=3, bidirectional=True)
    x = torch.randn(T, B, I)
    (out, state), (ref_out, ref_state) = layer(x), reference(x)
    assert out.shape == ref_out.shape == (T, B, 2 * (proj or H))
    if mode == "lstm":
        assert [s.shape for s in state] == [s.shape for s in ref_state] == [(6, B, P), (6, B, H)]
        assert isinstance(state, tuple)
    else:
        assert state.shape == ref_state.shape == (6, B, H)


@pytest.mark.parametrize("mode", MODES)
def test_dropout_between_layers_is_off_in_eval_mode(mode, assert_same):
    layer, reference = twins(mode, num_layers=3, dropout=0.5)
    layer.eval()
    reference.eval()
    x = torch.randn(T, B, I)
    assert_same(layer(x), reference(x))


def test_dropout_between_layers_is_active_in_training_mode():
    layer = rnnkit.GRU(I, H, num_layers=2, dropout=0.5)
    x = torch.randn(T, B, I)
    assert not torch.equal(layer(x)[0], layer(x)[0])
    layer.eval()
    assert torch.equal(layer(x)[0], layer(x)[0])


def test_positional_constructor_arguments_mean_what_they_mean_in_torch():
    args = (I, H, 2, False, True, 0.25, True)   # num_layers, bias, batch_first, dropout, bidirectional
    for ours, theirs in ((rnnkit.LSTM(*args, 1), nn.LSTM(*args, 1)), (rnnkit.GRU(*args), nn.GRU(*args))):
        for attr in ("num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
    ours, theirs = rnnkit.RNN(I, H, 2, "relu", False, True), nn.RNN(I, H, 2, "relu", False, True)
    assert (ours.nonlinearity, ours.bias, ours.batch_first) == (theirs.nonlinearity, theirs.bias, theirs.batch_first)


@pytest.mark.parametrize("mode", MODES)
def test_all_weights_lists_parameters_per_layer_and_direction_like_torch(mode):
    layer, reference = twins(mode, num_layers=2, bidirectional=True)
    assert [[tuple(p.shape) for p in ws] for ws in layer.all_weights] == [
        [tuple(p.shape) for p in ws] for ws in reference.all_weights]


@pytest.mark.parametrize("mode", MODES)
def test_flat_weights_are_the_parameters_in_torch_nn_order(mode):
    layer, reference = twins(mode, num_layers=2, bidirectional=True)
    assert layer._flat_weights_names == reference._flat_weights_names
    assert all(a is getattr(layer, n) for a, n in zip(layer._flat_weights, layer._flat_weights_names, strict=True))
    assert [a.shape for a in layer._flat_weights] == [b.shape for b in reference._flat_weights]


@pytest.mark.parametrize("mode", MODES)
def test_layer_without_biases_matches_torch_nn(mode, assert_same):
    layer, reference = twins(mode, num_layers=2, bias=False, bidirectional=True, dtype=torch.float64)
    x = torch.randn(T, B, I, dtype=torch.float64)
    ours, expected = run_both(layer, reference, x, "lengths", False)
    assert_same(ours, expected, torch.float64)
