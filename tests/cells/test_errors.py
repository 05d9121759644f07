"""Bad input to a cell fails at the boundary with a message naming what was expected and received."""

from __future__ import annotations

import pytest
import torch

import rnnkit

I, H, B = 4, 6, 3
CELLS = [rnnkit.ElmanCell, rnnkit.LSTMCell, rnnkit.GRUCell]


def state(cls, *shape, dtype=torch.float32):
    s = torch.zeros(*shape, dtype=dtype)
    return (s, s) if cls is rnnkit.LSTMCell else s


@pytest.mark.parametrize("cls", CELLS)
def test_cell_rejects_3d_input_naming_the_expected_layout(cls):
    with pytest.raises(ValueError, match=r"input must be 1-D or 2-D \(batch, input_size\).*got a 3-D tensor"):
        cls(I, H)(torch.randn(2, B, I))


@pytest.mark.parametrize("cls", CELLS)
def test_cell_rejects_wrong_feature_size(cls):
    with pytest.raises(ValueError, match=r"must have 4 features .*got shape \(3, 5\)"):
        cls(I, H)(torch.randn(B, 5))


@pytest.mark.parametrize("cls", CELLS)
def test_cell_rejects_float64_input_to_float32_cell(cls):
    with pytest.raises(TypeError, match=r"input has dtype torch.float64 but the module's parameters are torch.float32"):
        cls(I, H)(torch.randn(B, I, dtype=torch.float64))


@pytest.mark.parametrize("cls", CELLS)
def test_cell_rejects_integer_input(cls):
    with pytest.raises(TypeError, match=r"floating-point tensor of dtype torch.float32, got dtype torch.int64"):
        cls(I, H)(torch.ones(B, I, dtype=torch.long))


@pytest.mark.parametrize("cls", CELLS)
def test_cell_rejects_non_tensor_input(cls):
    with pytest.raises(TypeError, match=r"input must be a torch.Tensor, got list"):
        cls(I, H)([[0.0] * I])


@pytest.mark.parametrize("cls", CELLS)
def test_cell_rejects_state_with_wrong_batch(cls):
    with pytest.raises(ValueError, match=r"must have shape \(3, 6\) \(batch, hidden_size\), got \(2, 6\)"):
        cls(I, H)(torch.randn(B, I), state(cls, 2, H))


@pytest.mark.parametrize("cls", CELLS)
def test_unbatched_cell_rejects_batched_state(cls):
    with pytest.raises(ValueError, match=r"must have shape \(6,\) \(hidden_size,\), got \(1, 6\)"):
        cls(I, H)(torch.randn(I), state(cls, 1, H))


@pytest.mark.parametrize("cls", CELLS)
def test_cell_rejects_state_of_another_dtype(cls):
    with pytest.raises(TypeError, match=r"dtype torch.float64 but the module's parameters are torch.float32"):
        cls(I, H)(torch.randn(B, I), state(cls, B, H, dtype=torch.float64))


def test_lstm_cell_rejects_a_single_tensor_state():
    with pytest.raises(TypeError, match=r"hx must be a tuple of 2 tensors \(h, c\), got Tensor"):
        rnnkit.LSTMCell(I, H)(torch.randn(B, I), torch.zeros(2, B, H))


def test_lstm_cell_rejects_a_state_tuple_of_wrong_length():
    with pytest.raises(TypeError, match=r"got a tuple of length 3"):
        rnnkit.LSTMCell(I, H)(torch.randn(B, I), (torch.zeros(B, H),) * 3)


def test_lstm_cell_names_which_state_is_wrong():
    with pytest.raises(ValueError, match=r"hx\[1\] must have shape \(3, 6\)"):
        rnnkit.LSTMCell(I, H)(torch.randn(B, I), (torch.zeros(B, H), torch.zeros(B, 5)))


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("size", [0, -1, 2.0, True])
def test_cell_rejects_a_bad_hidden_size(cls, size):
    with pytest.raises(ValueError, match=r"hidden_size must be a positive int, got"):
        cls(I, size)


def test_elman_cell_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        rnnkit.ElmanCell(I, H, nonlinearity="sigmoid")


def test_lstm_cell_rejects_forget_bias_without_biases():
    with pytest.raises(ValueError, match=r"forget_bias needs bias=True"):
        rnnkit.LSTMCell(I, H, bias=False, forget_bias=1.0)
