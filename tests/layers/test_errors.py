"""Bad input to a layer fails at the boundary with a message saying what was expected and received.

No mistake below may surface as an error from inside a matrix multiply.
"""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit

T, B, I, H = 5, 3, 4, 6
LAYERS = [rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU]


def zero_state(cls, *shape, dtype=torch.float32):
    s = torch.zeros(*shape, dtype=dtype)
    return (s, s) if cls is rnnkit.LSTM else s


# ---- input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(I,), (2, T, B, I)])
@pytest.mark.parametrize("cls", LAYERS)
def test_input_of_wrong_rank_is_rejected(cls, shape):
    with pytest.raises(ValueError, match=rf"input must be 2-D or 3-D \(seq, batch, input_size\).*got a "
                                         rf"{len(shape)}-D tensor of shape"):
        cls(I, H)(torch.randn(shape))


def test_rank_message_names_the_batch_first_layout():
    with pytest.raises(ValueError, match=r"\(batch, seq, input_size\)"):
        rnnkit.GRU(I, H, batch_first=True)(torch.randn(I))


@pytest.mark.parametrize("cls", LAYERS)
def test_input_with_wrong_feature_size_is_rejected(cls):
    with pytest.raises(ValueError, match=r"input must have input_size=4 features .*got shape \(5, 3, 7\)"):
        cls(I, H)(torch.randn(T, B, 7))


@pytest.mark.parametrize("cls", LAYERS)
def test_float64_input_to_float32_layer_is_rejected(cls):
    with pytest.raises(TypeError, match=r"input has dtype torch.float64 but the module's parameters are "
                                        r"torch.float32; convert one of them"):
        cls(I, H)(torch.randn(T, B, I, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_non_floating_input_is_rejected(dtype):
    with pytest.raises(TypeError, match=f"floating-point tensor of dtype torch.float32, got dtype {dtype}"):
        rnnkit.LSTM(I, H)(torch.ones(T, B, I, dtype=dtype))


def test_non_tensor_input_is_rejected():
    with pytest.raises(TypeError, match=r"input must be a torch.Tensor, got list"):
        rnnkit.GRU(I, H)([[0.0] * I] * T)


@pytest.mark.parametrize("cls", LAYERS)
def test_nan_input_is_rejected_when_check_finite_is_on(cls):
    x = torch.randn(T, B, I)
    x[2, 1, 3] = float("nan")
    with pytest.raises(ValueError, match=r"input contains 1 non-finite value\(s\), the first at index \(2, 1, 3\)"):
        cls(I, H, check_finite=True)(x)


def test_infinite_state_is_rejected_when_check_finite_is_on():
    h0 = torch.zeros(1, B, H)
    h0[0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"h_0 contains 1 non-finite value"):
        rnnkit.GRU(I, H, check_finite=True)(torch.randn(T, B, I), h0)


@pytest.mark.parametrize("cls", LAYERS)
def test_nan_input_passes_silently_when_check_finite_is_off(cls):
    x = torch.randn(T, B, I)
    x[0, 0, 0] = float("nan")
    out, _ = cls(I, H)(x)
    assert bool(out[:, 0].isnan().all())
    assert bool(out[:, 1:].isfinite().all())


# ---- lengths -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lengths", [[1, 6, 2], torch.tensor([6, 1, 1])])
def test_lengths_longer_than_the_sequence_are_rejected(lengths):
    with pytest.raises(ValueError, match=r"lengths must be <= the sequence length 5, got a length of 6"):
        rnnkit.LSTM(I, H)(torch.randn(T, B, I), lengths=lengths)


def test_lengths_are_checked_against_the_batch_first_time_axis():
    with pytest.raises(ValueError, match=r"lengths must be <= the sequence length 5, got a length of 6"):
        rnnkit.GRU(I, H, batch_first=True)(torch.randn(B, T, I), lengths=[6, 1, 1])


def test_negative_lengths_are_rejected():
    with pytest.raises(ValueError, match=r"lengths must be >= 0, got a length of -1"):
        rnnkit.GRU(I, H)(torch.randn(T, B, I), lengths=[1, -1, 2])


@pytest.mark.parametrize("lengths", [[1, 2], [1, 2, 3, 4], torch.ones(B, 1, dtype=torch.long)])
def test_lengths_of_wrong_shape_are_rejected(lengths):
    with pytest.raises(ValueError, match=r"lengths must have shape \(3,\) \(one length per batch row\), got"):
        rnnkit.GRU(I, H)(torch.randn(T, B, I), lengths=lengths)


@pytest.mark.parametrize("lengths", [[1.0, 2.0, 3.0], torch.tensor([1.0, 2.0, 3.0]), torch.ones(B, dtype=torch.bool)])
def test_non_integer_lengths_are_rejected(lengths):
    with pytest.raises(TypeError, match=r"lengths must hold integers, got dtype torch.(float32|bool)"):
        rnnkit.GRU(I, H)(torch.randn(T, B, I), lengths=lengths)


@pytest.mark.parametrize("lengths", ["abc", [1, None, 2]])
def test_lengths_that_are_not_a_sequence_of_ints_are_rejected(lengths):
    with pytest.raises(TypeError, match=r"lengths must be a 1-D tensor or sequence of ints, got"):
        rnnkit.GRU(I, H)(torch.randn(T, B, I), lengths=lengths)


def test_packed_sequence_together_with_lengths_is_rejected():
    packed = pack_padded_sequence(torch.randn(T, B, I), [5, 4, 2])
    with pytest.raises(ValueError, match=r"pass lengths or a PackedSequence, not both"):
        rnnkit.LSTM(I, H)(packed, lengths=[5, 4, 2])


# ---- initial state -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, B, H), (2, 2, H), (2, B, H + 1), (2, H)])
@pytest.mark.parametrize("cls", LAYERS)
def test_initial_state_of_wrong_shape_is_rejected(cls, shape):
    layer = cls(I, H, num_layers=2)
    expected = f"h_0 must have shape (2, 3, 6) (num_layers * num_directions, batch, hidden), got {tuple(shape)}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        layer(torch.randn(T, B, I), zero_state(cls, *shape))


def test_projected_lstm_state_expects_proj_size_features_in_h_only():
    layer = rnnkit.LSTM(I, H, proj_size=2)
    with pytest.raises(ValueError, match=r"h_0 must have shape \(1, 3, 2\)"):
        layer(torch.randn(T, B, I), (torch.zeros(1, B, H), torch.zeros(1, B, H)))
    with pytest.raises(ValueError, match=r"c_0 must have shape \(1, 3, 6\)"):
        layer(torch.randn(T, B, I), (torch.zeros(1, B, 2), torch.zeros(1, B, 2)))


def test_bidirectional_state_needs_two_entries_per_layer():
    with pytest.raises(ValueError, match=r"h_0 must have shape \(4, 3, 6\)"):
        rnnkit.GRU(I, H, num_layers=2, bidirectional=True)(torch.randn(T, B, I), torch.zeros(2, B, H))


def test_unbatched_input_expects_an_unbatched_state():
    with pytest.raises(ValueError, match=r"h_0 must have shape \(1, 6\) .*for unbatched input, got \(1, 1, 6\)"):
        rnnkit.GRU(I, H)(torch.randn(T, I), torch.zeros(1, 1, H))


def test_lstm_state_that_is_not_a_tuple_is_rejected():
    with pytest.raises(TypeError, match=r"hx for an LSTM must be a tuple \(h_0, c_0\), got Tensor"):
        rnnkit.LSTM(I, H)(torch.randn(T, B, I), torch.zeros(1, B, H))


def test_lstm_state_tuple_of_wrong_length_is_rejected():
    with pytest.raises(TypeError, match=r"got a tuple of length 3"):
        rnnkit.LSTM(I, H)(torch.randn(T, B, I), (torch.zeros(1, B, H),) * 3)


def test_gru_state_given_as_a_tuple_is_rejected():
    with pytest.raises(TypeError, match=r"h_0 must be a torch.Tensor, got tuple"):
        rnnkit.GRU(I, H)(torch.randn(T, B, I), (torch.zeros(1, B, H),))


def test_state_of_another_dtype_is_rejected():
    with pytest.raises(TypeError, match=r"c_0 has dtype torch.float64 but the module's parameters are torch.float32"):
        rnnkit.LSTM(I, H)(torch.randn(T, B, I), (torch.zeros(1, B, H), torch.zeros(1, B, H, dtype=torch.float64)))


# ---- constructor -------------------------------------------------------------------------------
def test_unknown_engine_is_rejected_at_construction():
    with pytest.raises(ValueError, match=r"engine must be one of \('auto', .*got 'cudnn'"):
        rnnkit.LSTM(I, H, engine="cudnn")


@pytest.mark.parametrize("proj_size", [H, H + 1])
def test_proj_size_not_below_hidden_size_is_rejected(proj_size):
    with pytest.raises(ValueError, match=f"proj_size must be smaller than hidden_size=6, got {proj_size}"):
        rnnkit.LSTM(I, H, proj_size=proj_size)


def test_negative_proj_size_is_rejected():
    with pytest.raises(ValueError, match=r"proj_size must be an int >= 0, got -1"):
        rnnkit.LSTM(I, H, proj_size=-1)


@pytest.mark.parametrize("cls", [rnnkit.GRU, rnnkit.RNN])
def test_proj_size_on_a_non_lstm_layer_is_rejected(cls):
    with pytest.raises(ValueError, match=r"proj_size is only supported by LSTM, got proj_size=2"):
        cls(I, H, proj_size=2)


@pytest.mark.parametrize("cls", [rnnkit.GRU, rnnkit.RNN])
def test_proj_size_zero_is_accepted_on_non_lstm_layers_like_torch(cls):
    assert cls(I, H, proj_size=0).proj_size == 0


@pytest.mark.parametrize("name", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize("value", [-0.1, 1.5, "0.5", True])
def test_dropout_out_of_range_is_rejected(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be a number in \[0, 1\], got"):
        rnnkit.LSTM(I, H, num_layers=2, **{name: value})


def test_recurrent_dropout_of_one_is_rejected():
    with pytest.raises(ValueError, match=r"recurrent_dropout=1 would drop every recurrent input"):
        rnnkit.GRU(I, H, recurrent_dropout=1.0)


def test_forget_bias_without_biases_is_rejected():
    with pytest.raises(ValueError, match=r"forget_bias needs bias=True"):
        rnnkit.LSTM(I, H, bias=False, forget_bias=1.0)


@pytest.mark.parametrize("cls", [rnnkit.GRU, rnnkit.RNN])
def test_forget_bias_on_a_non_lstm_layer_is_rejected(cls):
    with pytest.raises(ValueError, match=r"forget_bias only applies to LSTM"):
        cls(I, H, forget_bias=1.0)


@pytest.mark.parametrize("name, value", [("input_size", 0), ("hidden_size", -3), ("num_layers", 0),
                                         ("hidden_size", 6.0), ("num_layers", True)])
def test_non_positive_or_non_int_sizes_are_rejected(name, value):
    kw = {"input_size": I, "hidden_size": H, name: value}
    with pytest.raises(ValueError, match=f"{name} must be an int >= 1, got {value!r}"):
        rnnkit.GRU(**kw)


def test_unknown_nonlinearity_is_rejected():
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        rnnkit.RNN(I, H, nonlinearity="sigmoid")


def test_layer_norm_on_elman_rnn_is_rejected():
    with pytest.raises(ValueError, match=r"layer_norm is available for LSTM and GRU"):
        rnnkit.RNN(I, H, layer_norm=True)


def test_unknown_recurrent_init_is_rejected():
    with pytest.raises(ValueError, match=r"recurrent_init must be one of \('uniform', 'orthogonal'\), got 'eye'"):
        rnnkit.LSTM(I, H, recurrent_init="eye")


@pytest.mark.parametrize("cls", LAYERS)
def test_dropout_with_a_single_layer_warns_that_it_does_nothing(cls):
    with pytest.warns(UserWarning, match=r"dropout=0.5 acts between layers, so with num_layers=1 it does nothing"):
        cls(I, H, dropout=0.5)


def test_dropout_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rnnkit.LSTM(I, H, dropout=0.5)
    assert caught[0].filename == __file__


def test_dropout_with_several_layers_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnnkit.LSTM(I, H, num_layers=2, dropout=0.5)
