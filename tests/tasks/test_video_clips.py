"""Moving-digit clips: deterministic, unseen scans in test, and a label that only the frame order carries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.tasks.video.model import MeanFrameClassifier, VideoClassifier, VideoModelConfig
from rnnkit.tasks.video.moving_digits import MovingDigitsConfig, load_moving_digits, make_clip


def _config(**kw) -> MovingDigitsConfig:
    return MovingDigitsConfig(**{"train_size": 40, "valid_size": 10, "test_size": 20, **kw})


def _scan() -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().images[0] / 16.0).astype(np.float32)


def _centroids(clips: np.ndarray) -> np.ndarray:
    """(N, T, 2) ink centre (y, x) of every frame."""
    frames = clips[:, :, 0]                                    # (N, T, H, W)
    ink = frames.sum((2, 3))
    ys = (frames.sum(3) * np.arange(frames.shape[2])).sum(2) / ink
    xs = (frames.sum(2) * np.arange(frames.shape[3])).sum(2) / ink
    return np.stack([ys, xs], -1)


def test_clips_are_deterministic_in_the_seed():
    a, b = load_moving_digits(_config()), load_moving_digits(_config())
    assert np.array_equal(a.test.clips, b.test.clips) and np.array_equal(a.test.labels, b.test.labels)
    assert not np.array_equal(load_moving_digits(_config(seed=1)).test.clips, a.test.clips)


def test_test_clips_use_scans_never_seen_in_training():
    data = load_moving_digits(_config(train_size=300, test_size=100))
    scans = lambda s: {n.split("scan=")[1] for n in s.names}  # noqa: E731
    assert not scans(data.train) & scans(data.test)


def test_labels_are_balanced_and_clips_in_unit_range():
    data = load_moving_digits(_config())
    assert np.bincount(data.train.labels).tolist() == [20, 20]
    assert data.train.clips.shape == (40, 10, 1, 20, 20)
    assert data.train.clips.min() >= 0 and data.train.clips.max() <= 1


def test_counterclockwise_clip_is_the_clockwise_clip_played_backwards():
    cfg, scan = _config(), _scan()
    cw = make_clip(scan, 0, cfg, np.random.default_rng(7))
    ccw = make_clip(scan, 1, cfg, np.random.default_rng(7))
    assert np.array_equal(ccw, cw[::-1])
    assert not np.array_equal(cw[0], cw[-1])


def test_left_is_right_backwards_and_up_is_down_transposed_backwards():
    cfg, scan = _config(motion="direction"), _scan()
    clip = {name: make_clip(scan, k, cfg, np.random.default_rng(3)) for k, name in enumerate(cfg.classes)}
    assert np.array_equal(clip["left"], clip["right"][::-1])
    assert np.array_equal(clip["up"], clip["down"][::-1])
    c = _centroids(clip["right"][None, :, None])[0]
    assert np.all(np.diff(c[:, 1]) >= 0) and np.ptp(c[:, 0]) == 0      # moves right, stays level


def test_per_frame_statistics_are_identical_across_classes_on_average():
    data = load_moving_digits(_config(train_size=3000))
    clips, labels = data.train.clips, data.train.labels
    stats = np.concatenate([_centroids(clips), clips.sum((2, 3, 4))[..., None]], -1)   # (N, T, 3): y, x, ink
    per_clip = stats.mean(1)                                     # what a mean over frames sees
    a, b = per_clip[labels == 0], per_clip[labels == 1]
    se = np.sqrt(a.var(0) / len(a) + b.var(0) / len(b))
    assert np.all(np.abs(a.mean(0) - b.mean(0)) < 4 * se)
    mean_frame = [clips[labels == k].mean((0, 1)) for k in (0, 1)]
    assert np.abs(mean_frame[0] - mean_frame[1]).max() < 0.03


def test_direction_leaks_the_axis_to_an_order_blind_statistic_but_rotation_does_not():
    def spread_gap(motion: str) -> tuple[float, float]:
        data = load_moving_digits(_config(motion=motion, train_size=2000))
        c = _centroids(data.train.clips)
        gap = c[:, :, 1].std(1) - c[:, :, 0].std(1)           # order-blind: x spread minus y spread
        first, second = (0, 1) if motion == "rotation" else (1, 3)  # rotation: cw/ccw; direction: right/down
        g1, g2 = gap[data.train.labels == first], gap[data.train.labels == second]
        return abs(g1.mean() - g2.mean()), np.sqrt(g1.var() / len(g1) + g2.var() / len(g2))

    diff, se = spread_gap("rotation")
    assert diff < 4 * se
    diff, se = spread_gap("direction")
    assert diff > 20 * se


def test_the_mean_frame_baseline_cannot_tell_a_clip_from_its_reversal():
    torch.manual_seed(0)
    clips = torch.from_numpy(load_moving_digits(_config()).test.clips[:6])
    cfg = VideoModelConfig(hidden_size=8)
    blind, recurrent = MeanFrameClassifier((1, 20, 20), 2, cfg).eval(), VideoClassifier((1, 20, 20), 2, cfg).eval()
    with torch.no_grad():
        assert torch.allclose(blind(clips), blind(clips.flip(1)), atol=1e-6)
        assert not torch.allclose(recurrent(clips), recurrent(clips.flip(1)), atol=1e-4)


@pytest.mark.parametrize("model_class", [MeanFrameClassifier, VideoClassifier])
def test_padded_frames_do_not_change_a_clip_prediction(model_class):
    torch.manual_seed(0)
    clips = torch.from_numpy(load_moving_digits(_config()).test.clips[:2])
    model = model_class((1, 20, 20), 2, VideoModelConfig(hidden_size=8)).eval()
    padded = torch.cat([clips[:, :6], torch.rand(2, 4, 1, 20, 20)], 1)
    with torch.no_grad():
        assert torch.allclose(model(padded, torch.tensor([6, 6])), model(clips[:, :6]), atol=1e-5)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="motion"):
        MovingDigitsConfig(motion="zoom")
    with pytest.raises(ValueError, match="size"):
        MovingDigitsConfig(size=10)
