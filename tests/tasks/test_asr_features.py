"""asr features: log-mel shapes, standardisation fitted on the training split only, frame stacking, SpecAugment."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from rnnkit.tasks import get_task
from rnnkit.tasks.asr.audio import read_audio
from rnnkit.tasks.asr.features import FeatureSpec, SpecAugment, log_mel, mel_filters
from rnnkit.tasks.asr.model import stack_frames
from rnnkit.tasks.scaling import ChannelScaler
from rnnkit.training.config import TrainConfig

SR = 16000


def tone(freq: float, seconds: float = 0.5, amp: float = 0.3, seed: int = 0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    noise = np.random.default_rng(seed).normal(0, 0.01, len(t))
    return (amp * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def test_log_mel_has_one_frame_per_hop_and_n_mels_bands():
    spec = FeatureSpec(SR, n_mels=40)
    for n in (400, 8000, 12345):
        feats = log_mel(tone(440, n / SR), spec)
        assert feats.shape == (1 + n // 160, 40) == (spec.frames(n), spec.n_mels)
        assert feats.dtype == np.float32 and np.isfinite(feats).all()


def test_a_tone_is_loudest_in_the_mel_band_around_its_frequency():
    spec = FeatureSpec(SR, n_mels=40)
    centre = (mel_filters(SR, spec.n_fft, 40) * np.fft.rfftfreq(spec.n_fft, 1 / SR)).sum(1) / \
        mel_filters(SR, spec.n_fft, 40).sum(1)                                      # each band's mean frequency
    for freq in (300.0, 1000.0, 3000.0):
        band = int(np.median(log_mel(tone(freq), spec).argmax(1)))
        assert abs(centre[band] - freq) / freq < 0.15


def _folder(root, split_amp: dict[str, float]):
    """A user-data folder: three tones per split, the split's loudness differing."""
    lines = ["file\ttext\tsplit"]
    for split, amp in split_amp.items():
        for k, f in enumerate((220.0, 440.0, 880.0)):
            name = f"{split}{k}.wav"
            soundfile.write(root / name, tone(f, 1.0, amp, seed=k), SR)
            lines.append(f"{name}\tab\t{split}")
    (root / "transcripts.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _build(folder):
    task = get_task("asr")
    cfg = task.config_class(data=str(folder), specaugment=False)
    return task.build_data(cfg, TrainConfig(bptt="full", batch_size=4, progress=False))


def test_the_scaler_is_fitted_on_the_training_split_alone(tmp_path):
    data = _build(_folder(tmp_path, {"train": 0.3, "valid": 0.05, "test": 0.01}))
    raw_train = [log_mel(read_audio(tmp_path / f"train{k}.wav", SR), data.spec) for k in range(3)]
    expected = ChannelScaler.fit(raw_train)
    np.testing.assert_allclose(data.meta["scaler"]["mean"], expected.mean, rtol=1e-6)
    np.testing.assert_allclose(data.meta["scaler"]["std"], expected.std, rtol=1e-6)
    frames = np.concatenate(data.train_set.features)
    np.testing.assert_allclose(frames.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(frames.std(0), 1, atol=1e-3)


def test_changing_the_test_audio_leaves_the_normalisation_unchanged(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    quiet = _build(_folder(tmp_path / "a", {"train": 0.3, "valid": 0.3, "test": 0.01}))
    loud = _build(_folder(tmp_path / "b", {"train": 0.3, "valid": 0.3, "test": 0.9}))
    assert quiet.meta["scaler"] == loud.meta["scaler"]
    assert np.concatenate(loud.splits["test"].features).mean() > np.concatenate(quiet.splits["test"].features).mean()


def test_stack_frames_groups_k_frames_and_rounds_lengths_up():
    x = torch.arange(2 * 7 * 3, dtype=torch.float32).reshape(2, 7, 3)
    y, lengths = stack_frames(x, torch.tensor([7, 4]), 3)
    assert y.shape == (2, 3, 9) and lengths.tolist() == [3, 2]
    assert torch.equal(y[0, 0], x[0, :3].reshape(-1)) and torch.equal(y[0, 2, 3:], torch.zeros(6))


@pytest.mark.parametrize("seed", range(5))
def test_spec_augment_zeroes_bands_and_spans_within_their_limits(seed):
    x = np.ones((100, 40), np.float32)
    y = SpecAugment(freq_masks=1, freq_width=6, time_masks=1, time_width=10)(x, np.random.default_rng(seed))
    full_cols = np.flatnonzero((y == 0).all(0))
    full_rows = np.flatnonzero((y == 0).all(1))
    assert len(full_cols) <= 6 and len(full_rows) <= 10
    assert ((y == 0) | (y == 1)).all() and (y == 0).sum() == len(full_cols) * 100 + len(full_rows) * 40 - \
        len(full_cols) * len(full_rows)
    assert x.min() == 1                                                           # the input is left unchanged
