"""One-to-one: the feed-forward reference."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnkit.architectures import OneToOne


def test_one_to_one_maps_vectors_to_outputs():
    m = OneToOne(input_size=6, output_size=3, hidden_sizes=(8, 5))
    assert m(torch.randn(4, 6)).shape == (4, 3)


def test_one_to_one_acts_on_every_step_of_a_sequence_independently():
    m = OneToOne(input_size=6, output_size=3)
    x = torch.randn(2, 5, 6)
    y = m(x)
    assert y.shape == (2, 5, 3)
    assert torch.allclose(y[:, 2], m(x[:, 2]))


def test_one_to_one_without_hidden_layers_is_linear():
    m = OneToOne(input_size=6, output_size=3, hidden_sizes=())
    assert [type(layer) for layer in m.net] == [nn.Linear]


def test_one_to_one_rejects_wrong_feature_size():
    with pytest.raises(ValueError, match="input_size=6"):
        OneToOne(input_size=6, output_size=3)(torch.randn(4, 5))
