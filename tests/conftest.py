"""Shared fixtures: a fixed seed per test and the tolerances the equivalence tests promise."""

from __future__ import annotations

import pytest
import torch

# Largest absolute difference allowed between rnnkit and torch.nn given the same weights.
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}

# Tests use tiny tensors, where intra-op threads only add overhead; on a busy machine OpenMP's
# spin-waiting made small ops (layer_norm on a 2x9 tensor) up to 100x slower with 2 threads than with 1.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state, so failures reproduce."""
    torch.manual_seed(0)


@pytest.fixture
def assert_same():
    """`assert_same(actual, expected, dtype)`: tensors (or nested tuples of them) agree to TOLERANCE[dtype]."""

    def check(actual, expected, dtype=torch.float32):
        if isinstance(expected, (tuple, list)):
            assert isinstance(actual, (tuple, list)), f"expected a tuple, got {type(actual).__name__}"
            assert len(actual) == len(expected)
            for a, e in zip(actual, expected, strict=True):
                check(a, e, dtype)
            return
        torch.testing.assert_close(actual, expected, rtol=0, atol=TOLERANCE[dtype])

    return check
