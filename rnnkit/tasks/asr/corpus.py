"""The default data: spoken number phrases synthesised by espeak-ng, with whole speakers held out.

A speaker is an espeak-ng voice variant (its pitch range, formants, roughness: `espeak`). The variants
are split once and for all: 65 speak the training phrases, 4 others the validation phrases and 8 more
the test phrases, so the test error is measured on voices the model never heard. Every utterance gets
its own accent (pronunciation), speaking rate, pitch, word gap, loudness, silence around it and white
noise at a random signal-to-noise ratio, all drawn from generators seeded by (seed, split, speaker):

    numbers   "three hundred and forty two": 0-999 in words (num2words, British "and")
    digits    "four oh seven one": three to six digits, one word each ("zero" spoken "oh" half the time)

Synthesis takes a few minutes for the default corpus, so its log-mel features are cached in one .npz
per configuration under `cache_dir()` (override with --cache or $RNNKIT_CACHE); the file name holds a
hash of everything that shapes the audio (phrases, voices, ranges, features, espeak-ng version).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.tasks.asr.audio import resample_to
from rnnkit.tasks.asr.espeak import espeak_version, synthesize
from rnnkit.tasks.asr.features import FeatureSpec, log_mel, one_blas_thread
from rnnkit.tasks.asr.utterances import Utterances
from rnnkit.training.errors import ConfigError, DataError

FORMAT = 1                            # bump when the recipe or the rendering changes
SPLITS = ("train", "valid", "test")
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd")
TEST_VARIANTS = ("m3", "f3", "klatt4", "steph2", "david", "iven3", "Annie", "pedro")
VALID_VARIANTS = ("m6", "f4", "klatt2", "john")
TRAIN_VARIANTS = (
    "m1", "m2", "m4", "m5", "m7", "m8", "Andy", "Denis", "Diogo", "Gene", "Gene2", "Henrique", "Hugo", "Jacky",
    "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen", "adam", "Alex", "antonio", "benjamin", "boris",
    "caleb", "ed", "edward", "edward2", "grandpa", "gustave", "iven", "iven2", "iven4", "marcelo", "max",
    "michel", "miguel", "norbert", "pablo", "paul", "quincy", "rob", "robert", "sandro", "shelby", "travis",
    "victor", "zac", "f1", "f2", "f5", "Alicia", "Andrea", "anika", "aunty", "belinda", "grandma", "linda",
    "steph", "steph3", "klatt", "klatt3", "klatt5", "klatt6",
)
VARIANTS = {"train": TRAIN_VARIANTS, "valid": VALID_VARIANTS, "test": TEST_VARIANTS}
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CREDIT = ("asr corpus: synthesised on this machine by eSpeak NG {version} (GPL-3.0+, "
          "https://github.com/espeak-ng/espeak-ng); number words by num2words (LGPL-2.1)")


@dataclass(frozen=True)
class CorpusSpec:
    """Everything that shapes the synthetic audio (and so the cache key)."""

    kind: str = "numbers"                             # numbers | digits
    per_voice: int = 60                               # phrases per training speaker
    eval_per_voice: int = 100                         # phrases per validation and test speaker
    speed: tuple[int, int] = (150, 220)               # words per minute
    pitch: tuple[int, int] = (20, 80)                 # espeak-ng pitch, 0-99
    snr: tuple[float, float] = (10.0, 40.0)           # dB of the added white noise
    seed: int = 0
    features: FeatureSpec = field(default_factory=FeatureSpec)

    def __post_init__(self) -> None:
        if self.kind not in ("numbers", "digits"):
            raise ConfigError(f"corpus must be numbers or digits, got {self.kind!r}")
        for name in ("speed", "pitch", "snr"):
            low, high = getattr(self, name)
            if low > high:
                raise ConfigError(f"{name} range must be low <= high, got {low} > {high}")
        if not 80 <= self.speed[0] <= self.speed[1] <= 450 or not 0 <= self.pitch[0] <= self.pitch[1] <= 99:
            raise ConfigError(f"speed must lie in 80-450 words/min and pitch in 0-99, got {self.speed}, {self.pitch}")

    def key(self) -> str:
        ident = {"format": FORMAT, "espeak": espeak_version(), **asdict(self)}
        return hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]

    def size(self, split: str) -> int:
        return len(VARIANTS[split]) * (self.per_voice if split == "train" else self.eval_per_voice)


@dataclass(frozen=True)
class Recipe:
    """How to render one utterance, drawn from the seeded generators."""

    text: str
    variant: str                      # the speaker
    accent: str
    speed: int
    pitch: int
    gap: int                          # pause between words, 10 ms units
    snr: float                        # dB
    peak_db: float                    # loudness: peak level in dBFS
    lead_ms: int                      # silence (noise only) before and after the speech
    tail_ms: int
    noise_seed: int
    index: int

    @property
    def voice(self) -> str:
        return f"{self.accent}+{self.variant}"

    @property
    def name(self) -> str:
        return f"{self.variant}-{self.index:04d}"


def phrase(kind: str, rng: np.random.Generator) -> str:
    if kind == "numbers":
        from num2words import num2words

        return num2words(int(rng.integers(0, 1000))).replace("-", " ").replace(",", "")
    words = [DIGITS[int(d)] for d in rng.integers(0, 10, size=int(rng.integers(3, 7)))]
    return " ".join("oh" if w == "zero" and rng.random() < 0.5 else w for w in words)


def recipes(spec: CorpusSpec, split: str) -> list[Recipe]:
    """The split's utterances, in order: speaker by speaker."""
    count = spec.per_voice if split == "train" else spec.eval_per_voice
    out = []
    for v, variant in enumerate(VARIANTS[split]):
        rng = np.random.default_rng([spec.seed, SPLITS.index(split), v])
        for i in range(count):
            out.append(Recipe(phrase(spec.kind, rng), variant, ACCENTS[int(rng.integers(len(ACCENTS)))],
                              int(rng.integers(spec.speed[0], spec.speed[1] + 1)),
                              int(rng.integers(spec.pitch[0], spec.pitch[1] + 1)), int(rng.integers(0, 4)),
                              float(rng.uniform(*spec.snr)), float(rng.uniform(-20.0, -1.0)),
                              int(rng.integers(50, 301)), int(rng.integers(50, 301)), int(rng.integers(2**31)), i))
    return out


def render(recipe: Recipe, sample_rate: int) -> np.ndarray:
    """The recipe's waveform at `sample_rate`: speech trimmed of espeak's own silence, surrounded by the
    recipe's silences, scaled to its peak level, plus white noise at its SNR (relative to the speech)."""
    wave, rate = synthesize(recipe.text, recipe.voice, recipe.speed, recipe.pitch, recipe.gap)
    voiced = np.flatnonzero(np.abs(wave) > 1e-3)
    if len(voiced) == 0:
        raise DataError(f"espeak-ng produced silence for voice {recipe.voice!r} on {recipe.text!r}")
    wave = wave[max(voiced[0] - rate // 50, 0): voiced[-1] + rate // 20]
    if rate != sample_rate:
        wave = resample_to(wave, rate, sample_rate)
    speech_power = float(np.mean(wave.astype(np.float64) ** 2))
    wave = np.concatenate([np.zeros(recipe.lead_ms * sample_rate // 1000, np.float32), wave,
                           np.zeros(recipe.tail_ms * sample_rate // 1000, np.float32)])
    rng = np.random.default_rng(recipe.noise_seed)
    noise = rng.standard_normal(len(wave)) * np.sqrt(speech_power / 10 ** (recipe.snr / 10))
    wave = wave + noise
    return (wave * (10 ** (recipe.peak_db / 20) / np.abs(wave).max())).astype(np.float32)


def cache_dir(override: str | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    root = os.environ.get("RNNKIT_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnnkit"
    return Path(root) / "asr"


def synthetic_corpus(spec: CorpusSpec, cache: str | None = None, progress: bool = True) -> dict[str, Utterances]:
    """The three splits as log-mel features, from the cache or synthesised now (and cached)."""
    path = cache_dir(cache) / f"{spec.kind}-{spec.key()}.npz"
    if path.exists():
        try:
            return _load(path)
        except (OSError, ValueError, KeyError) as e:
            print(f"asr: ignoring an unreadable corpus cache {path} ({e}); synthesising again", file=sys.stderr)
    todo = {split: recipes(spec, split) for split in SPLITS}
    total = sum(map(len, todo.values()))
    print(f"asr: synthesising {total:,} utterances with espeak-ng {espeak_version()} (once; cached in {path})",
          flush=True)
    corpus = {}
    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool, _bar(total, progress) as bar, one_blas_thread():
        for split, items in todo.items():
            feats = []
            for f in pool.map(lambda r: log_mel(render(r, spec.features.sample_rate), spec.features), items):
                feats.append(f)
                bar.update(1)
            corpus[split] = Utterances(feats, [r.text for r in items], [r.variant for r in items],
                                       [r.name for r in items])
    _save(path, corpus, spec)
    return _load(path)            # the cached (float16) features, so this run and later ones see the same numbers


def _bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, unit="utt", desc="espeak-ng", leave=False, file=sys.stderr)


def _save(path: Path, corpus: dict[str, Utterances], spec: CorpusSpec) -> None:
    arrays: dict[str, np.ndarray] = {"spec": np.array(json.dumps(asdict(spec)))}
    for split, u in corpus.items():
        arrays[f"{split}_features"] = np.concatenate(u.features).astype(np.float16)
        arrays[f"{split}_frames"] = u.frames
        arrays[f"{split}_texts"] = np.array(u.texts)
        arrays[f"{split}_speakers"] = np.array(u.speakers)
        arrays[f"{split}_names"] = np.array(u.names)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)                 # atomic: a concurrent reader sees the old file or the whole new one


def _load(path: Path) -> dict[str, Utterances]:
    with np.load(path, allow_pickle=False) as z:
        out = {}
        for split in SPLITS:
            cuts = np.cumsum(z[f"{split}_frames"])[:-1]
            feats = [f.astype(np.float32) for f in np.split(z[f"{split}_features"], cuts)]
            out[split] = Utterances(feats, z[f"{split}_texts"].tolist(), z[f"{split}_speakers"].tolist(),
                                    z[f"{split}_names"].tolist())
    return out
