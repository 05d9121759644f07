"""Reading and writing audio files, with one clear line for every way a file can be unusable.

Files are read with `soundfile` (libsndfile): WAV in any PCM or float encoding, also FLAC and OGG.
Several channels are averaged to mono. A sample rate other than the model's is an error unless
`resample` is set, in which case the signal is resampled with soxr (high quality, as librosa.resample).
Empty, silent (peak below -80 dBFS), non-finite and too-short signals are refused: they carry no speech,
and a silent file usually means a recording or conversion went wrong.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rnnkit.training.errors import DataError

SILENCE_PEAK = 1e-4                 # -80 dBFS: below this a file holds no audible signal
RESAMPLE_HINT = "pass --resample to convert it"


def read_audio(path: str | Path, sample_rate: int, *, resample: bool = False, min_samples: int = 1,
               where: str | None = None, hint: str = RESAMPLE_HINT) -> np.ndarray:
    """Mono float32 samples at `sample_rate`; DataError naming the file (or `where`) if unusable."""
    import soundfile

    place = where or str(path)
    if Path(path).is_dir():
        raise DataError(f"{place}: is a folder; expected a WAV file")
    if not Path(path).is_file():
        raise DataError(f"{place}: audio file not found")
    try:
        wave, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as e:
        raise DataError(f"{place}: not a WAV file (libsndfile: {' '.join(str(e).split())})") from None
    if wave.shape[0] == 0:
        raise DataError(f"{place}: empty audio (no samples)")
    wave = wave.mean(axis=1) if wave.shape[1] > 1 else wave[:, 0]
    if not np.isfinite(wave).all():
        raise DataError(f"{place}: non-finite sample (NaN or inf) at {int(np.argmin(np.isfinite(wave)))}")
    if rate != sample_rate:
        if not resample:
            raise DataError(f"{place}: sample rate {rate} Hz, expected {sample_rate} Hz ({hint})")
        wave = resample_to(wave, rate, sample_rate)
    peak = float(np.abs(wave).max())
    if peak < SILENCE_PEAK:
        level = "-inf" if peak == 0 else f"{20 * math.log10(peak):.0f}"
        raise DataError(f"{place}: silent audio (peak level {level} dBFS)")
    if len(wave) < min_samples:
        raise DataError(f"{place}: too short ({len(wave) / sample_rate * 1000:.1f} ms; at least "
                        f"{min_samples / sample_rate * 1000:.0f} ms needed)")
    return np.ascontiguousarray(wave, dtype=np.float32)


def resample_to(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """High-quality resampling with soxr (what librosa.resample runs by default, without importing librosa)."""
    import soxr

    return soxr.resample(wave, rate, target, quality="HQ").astype(np.float32)


def write_wav(path: str | Path, wave: np.ndarray, sample_rate: int) -> Path:
    """16-bit PCM WAV (clipped to [-1, 1])."""
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16")
    return path
