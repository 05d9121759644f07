"""`return_record=True`: every step's states and gate activations, per layer and direction."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from rnnkit import Record

T, B, I, H, P = 5, 3, 4, 6, 2
LENGTHS = [5, 2, 0]

NAMES = {
    "rnn": (lambda **kw: rnnkit.RNN(I, H, **kw), ["a", "h"]),
    "lstm": (lambda **kw: rnnkit.LSTM(I, H, **kw), ["c", "f", "g", "h", "i", "o"]),
    "gru": (lambda **kw: rnnkit.GRU(I, H, **kw), ["h", "n", "r", "z"]),
}


def feature_sizes(mode: str, name: str, proj: int) -> int:
    return proj if (mode == "lstm" and name == "h" and proj) else H


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_record_names_the_quantities_of_each_cell(kind):
    make, names = NAMES[kind]
    _, _, record = make()(torch.randn(T, B, I), return_record=True)
    assert isinstance(record, Record)
    assert record.names == names


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", sorted(NAMES))
def test_record_has_one_entry_per_layer_and_direction_laid_out_like_the_output(kind, batch_first):
    make, names = NAMES[kind]
    layer = make(num_layers=3, bidirectional=True, batch_first=batch_first)
    x = torch.randn((B, T, I) if batch_first else (T, B, I))
    _, _, record = layer(x, return_record=True)
    assert len(record.steps) == 3 and all(len(directions) == 2 for directions in record.steps)
    for layer_k in range(3):
        for d in range(2):
            for name in names:
                assert record.get(name, layer_k, d).shape == ((B, T, H) if batch_first else (T, B, H))


def test_projected_lstm_records_projected_h_and_full_size_gates():
    layer = rnnkit.LSTM(I, H, proj_size=P, num_layers=2)
    _, _, record = layer(torch.randn(T, B, I), return_record=True)
    assert record.get("h", 1).shape == (T, B, P)
    assert all(record.get(name, 1).shape == (T, B, H) for name in "cifgo")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", sorted(NAMES))
def test_recorded_h_of_the_last_layer_is_the_output(kind, batch_first):
    make, _ = NAMES[kind]
    layer = make(num_layers=2, bidirectional=True, batch_first=batch_first)
    x = torch.randn((B, T, I) if batch_first else (T, B, I))
    out, _, record = layer(x, lengths=LENGTHS, return_record=True)
    assert torch.equal(torch.cat([record.get("h", 1, 0), record.get("h", 1, 1)], dim=-1), out)


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_recording_does_not_change_the_output_or_state(kind):
    # Recording runs the reference engine, so compare against that engine (other engines agree to rounding).
    make, _ = NAMES[kind]
    layer = make(num_layers=2, bidirectional=True, engine="reference")
    x = torch.randn(T, B, I)
    out, state = layer(x, lengths=LENGTHS)
    out_r, state_r, _ = layer(x, lengths=LENGTHS, return_record=True)
    assert torch.equal(out, out_r)
    flat = state if isinstance(state, tuple) else (state,)
    flat_r = state_r if isinstance(state_r, tuple) else (state_r,)
    assert all(torch.equal(a, b) for a, b in zip(flat, flat_r, strict=True))


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_recordings_are_zero_at_padded_steps(kind):
    make, names = NAMES[kind]
    _, _, record = make(bidirectional=True)(torch.randn(T, B, I), lengths=LENGTHS, return_record=True)
    for d in range(2):
        for name in names:
            v = record.get(name, 0, d)
            assert not v[2:, 1].any() and not v[:, 2].any(), (name, d)
            assert v[:2, 1].abs().sum() > 0


def test_reverse_direction_is_recorded_in_original_time_order():
    layer = rnnkit.LSTM(I, H, bidirectional=True, dtype=torch.float64)
    x = torch.randn(T, B, I, dtype=torch.float64)
    _, _, record = layer(x, lengths=LENGTHS, return_record=True)
    # Row 1 has length 2: its reverse direction first sees x[1] (from zero state), then x[0].
    _, _, alone = layer(x[:2, 1:2], return_record=True)
    for name in "hcifgo":
        torch.testing.assert_close(record.get(name, 0, 1)[:2, 1], alone.get(name, 0, 1)[:, 0], rtol=0, atol=1e-12)
    _, (h_last, c_last) = layer(x[1:2, 1:2])                 # one step on x[1] alone
    torch.testing.assert_close(record.get("h", 0, 1)[1, 1], h_last[1, 0], rtol=0, atol=1e-12)
    torch.testing.assert_close(record.get("c", 0, 1)[1, 1], c_last[1, 0], rtol=0, atol=1e-12)


def test_recorded_lstm_gates_satisfy_the_cell_update():
    layer = rnnkit.LSTM(I, H, dtype=torch.float64)
    _, _, r = layer(torch.randn(T, B, I, dtype=torch.float64), return_record=True)
    c_prev = torch.cat([torch.zeros(1, B, H, dtype=torch.float64), r.get("c")[:-1]])
    torch.testing.assert_close(r.get("c"), r.get("f") * c_prev + r.get("i") * r.get("g"))
    torch.testing.assert_close(r.get("h"), r.get("o") * torch.tanh(r.get("c")))


def test_recorded_final_step_matches_the_final_state():
    layer = rnnkit.LSTM(I, H, num_layers=2)
    _, (h, c), record = layer(torch.randn(T, B, I), lengths=LENGTHS, return_record=True)
    for b, n in enumerate(LENGTHS[:2]):
        assert torch.equal(record.get("h", 1)[n - 1, b], h[1, b])
        assert torch.equal(record.get("c", 0)[n - 1, b], c[0, b])


def test_unbatched_record_has_no_batch_dimension():
    layer = rnnkit.GRU(I, H, bidirectional=True, batch_first=True)
    out, _, record = layer(torch.randn(T, I), return_record=True)
    assert record.get("h", 0, 1).shape == (T, H)
    assert torch.equal(torch.cat([record.get("h", 0, 0), record.get("h", 0, 1)], -1), out)


def test_packed_input_is_recorded_padded_in_the_callers_row_order():
    layer = rnnkit.GRU(I, H, engine="reference")
    x = torch.randn(T, B, I)
    packed = pack_padded_sequence(x, [2, 5, 3], enforce_sorted=False)
    _, _, record = layer(packed, return_record=True)
    out, _ = layer(x, lengths=[2, 5, 3])
    assert torch.equal(record.get("h"), out)


def test_empty_sequence_records_every_name_with_zero_steps():
    _, _, record = rnnkit.LSTM(I, H, proj_size=P, num_layers=2)(torch.randn(0, B, I), return_record=True)
    assert record.names == ["c", "f", "g", "h", "i", "o"]
    assert record.get("h", 1).shape == (0, B, P) and record.get("g", 1).shape == (0, B, H)


def test_asking_for_an_unknown_name_lists_the_known_ones():
    _, _, record = rnnkit.GRU(I, H)(torch.randn(T, B, I), return_record=True)
    with pytest.raises(KeyError, match=r"no recording named 'c'; this layer records \['h', 'n', 'r', 'z'\]"):
        record.get("c")


def test_forward_without_return_record_returns_a_pair():
    assert len(rnnkit.GRU(I, H)(torch.randn(T, B, I))) == 2


def test_record_repr_shows_names_and_shapes_not_numbers():
    _, _, record = rnnkit.GRU(I, H, num_layers=2, bidirectional=True)(torch.randn(T, B, I), return_record=True)
    text = repr(record)
    assert text.startswith("Record(layers=2, directions=2") and f"h({T}, {B}, {H})" in text and len(text) < 200
