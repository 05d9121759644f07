"""The per-channel scaler the seqclass and asr tasks fit on their training sequences."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.scaling import ChannelScaler


def test_the_statistics_cover_every_step_of_every_training_sequence():
    s = ChannelScaler.fit([np.array([[0.0, 5.0], [2.0, 5.0]]), np.array([[4.0, 5.0]])])
    assert s.mean.tolist() == [2.0, 5.0] and s.std[0] == pytest.approx(np.std([0, 2, 4]))


def test_a_constant_channel_is_divided_by_one_not_by_zero():
    s = ChannelScaler.fit([np.full((3, 1), 7.0)])
    assert s.std.tolist() == [1.0] and s.transform(np.array([[8.0]])).tolist() == [[1.0]]


def test_transform_inverse_and_the_saved_state_round_trip():
    s = ChannelScaler.fit([np.array([[0.0, 1.0], [3.0, -1.0]])])
    x = np.array([[1.0, 7.0], [2.0, 0.5]])
    assert s.transform(x).dtype == np.float32
    assert np.allclose(s.inverse(s.transform(x)), x)
    again = ChannelScaler.from_state_dict(s.state_dict())
    both = again.transform_all([x, x[:1]])
    assert [a.tolist() for a in both] == [s.transform(x).tolist(), s.transform(x[:1]).tolist()]


def test_fitting_on_nothing_is_refused():
    with pytest.raises(ValueError, match="zero sequences"):
        ChannelScaler.fit([])
