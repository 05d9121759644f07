"""The boundary checks: each failure names what was expected and what was received."""

from __future__ import annotations

import pytest
import torch

from rnnkit import validation as V


def test_check_tensor_returns_a_tensor_and_names_any_other_type():
    t = torch.zeros(1)
    assert V.check_tensor("x", t) is t
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor, got ndarray"):
        V.check_tensor("x", t.numpy())


def test_check_floating_names_the_expected_and_received_dtypes():
    V.check_floating("x", torch.zeros(1), torch.float32)
    with pytest.raises(TypeError, match=r"floating-point tensor of dtype torch.float32, got dtype torch.int32"):
        V.check_floating("x", torch.zeros(1, dtype=torch.int32), torch.float32)
    with pytest.raises(TypeError, match=r"x has dtype torch.float16 but the module's parameters are torch.float64; "
                                        r"convert one of them \(e.g. input.to\(torch.float64\)"):
        V.check_floating("x", torch.zeros(1, dtype=torch.float16), torch.float64)


def test_check_device_names_both_devices():
    V.check_device("x", torch.zeros(1), torch.device("cpu"))
    with pytest.raises(ValueError, match=r"x is on cpu but the module's parameters are on meta"):
        V.check_device("x", torch.zeros(1), torch.device("meta"))


def test_check_rank_lists_the_allowed_ranks_and_the_shape_received():
    V.check_rank("x", torch.zeros(2, 3), (2, 3), "(T, B, I)")
    with pytest.raises(ValueError, match=r"x must be 2-D or 3-D \(T, B, I\), got a 4-D tensor of shape \(1, 1, 1, 1\)"):
        V.check_rank("x", torch.zeros(1, 1, 1, 1), (2, 3), "(T, B, I)")


def test_check_shape_shows_expected_and_received_shapes():
    V.check_shape("h", torch.zeros(2, 3), (2, 3), "(L, H)")
    with pytest.raises(ValueError, match=r"h must have shape \(2, 4\) \(L, H\), got \(2, 3\)"):
        V.check_shape("h", torch.zeros(2, 3), (2, 4), "(L, H)")


def test_check_finite_counts_bad_values_and_points_at_the_first():
    V.check_finite("x", torch.zeros(3))
    x = torch.zeros(2, 3)
    x[1, 2], x[1, 0] = float("inf"), float("nan")
    with pytest.raises(ValueError, match=r"x contains 2 non-finite value\(s\), the first at index \(1, 0\)"):
        V.check_finite("x", x)
