"""Log-mel spectrograms (librosa), their standardisation on the training part, and SpecAugment masking.

    frames   = 1 + samples // hop                  (centred windows: frame t is centred on sample t*hop)
    log-mel  = log(mel_filterbank @ |STFT|^2 + 1e-6)  -> (frames, n_mels), Hann windows, zero-padded ends

`rnnkit.tasks.scaling.ChannelScaler` standardises every mel bin with the mean and standard deviation of
the training frames only: the statistics of held-out speakers never reach the model. `spec_augment` (Park et al., 2019)
zeroes random bands of mel bins and random spans of frames of a standardised spectrogram (zero is the
training mean), so the model cannot rely on any one band or moment.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np

from rnnkit.training.errors import ConfigError

LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class FeatureSpec:
    """How audio becomes features; stored with the model so that `predict` computes the same ones."""

    sample_rate: int = 16000          # Hz; the synthetic corpus is resampled to it
    n_mels: int = 40                  # mel bands
    win_ms: float = 25.0              # analysis window
    hop_ms: float = 10.0              # frame step

    def __post_init__(self) -> None:
        if self.sample_rate < 4000 or self.n_mels < 1 or self.hop_ms <= 0 or self.win_ms < self.hop_ms:
            raise ConfigError(f"features need sample_rate >= 4000, n_mels >= 1 and win_ms >= hop_ms > 0, got "
                              f"{self.sample_rate}, {self.n_mels}, {self.win_ms}, {self.hop_ms}")
        if self.n_mels > self.n_fft // 2 + 1:
            raise ConfigError(f"n_mels {self.n_mels} exceeds the {self.n_fft // 2 + 1} frequency bins of a "
                              f"{self.win_ms} ms window; lower --n-mels or widen --win-ms")

    @property
    def n_fft(self) -> int:
        return round(self.sample_rate * self.win_ms / 1000)

    @property
    def hop(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    def frames(self, samples: int) -> int:
        return 1 + samples // self.hop

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def log_mel(wave: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Mono samples (N,) -> log-mel spectrogram (1 + N // hop, n_mels) float32."""
    import librosa

    stft = librosa.stft(np.asarray(wave, dtype=np.float32), n_fft=spec.n_fft, hop_length=spec.hop,
                        win_length=spec.n_fft, center=True)               # (1 + n_fft // 2, T)
    mel = mel_filters(spec.sample_rate, spec.n_fft, spec.n_mels) @ (np.abs(stft) ** 2)
    return np.log(mel + LOG_FLOOR).T.astype(np.float32)                   # (T, n_mels)


def one_blas_thread() -> AbstractContextManager:
    """Run many small `log_mel` calls with one BLAS thread: on a busy machine, BLAS threads made the
    (40 x 201) @ (201 x T) filterbank product 100x slower. Wrap whole loops: entering costs milliseconds."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@cache
def mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's Slaney-style mel filterbank (n_mels, 1 + n_fft // 2) from 20 Hz to the Nyquist frequency."""
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=20.0, fmax=sample_rate / 2)


@dataclass(frozen=True)
class SpecAugment:
    """Masks for one training spectrogram: `freq_masks` bands of up to `freq_width` bins and `time_masks`
    spans of up to `time_width` frames (never more than a fifth of the utterance each)."""

    freq_masks: int = 2
    freq_width: int = 6
    time_masks: int = 2
    time_width: int = 10

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = x.copy()                                                      # (T, F)
        T, F = x.shape
        for _ in range(self.freq_masks):
            w = int(rng.integers(0, min(self.freq_width, F) + 1))
            f0 = int(rng.integers(0, F - w + 1))
            x[:, f0:f0 + w] = 0.0
        for _ in range(self.time_masks):
            w = int(rng.integers(0, min(self.time_width, T // 5) + 1))
            t0 = int(rng.integers(0, T - w + 1))
            x[t0:t0 + w] = 0.0
        return x
