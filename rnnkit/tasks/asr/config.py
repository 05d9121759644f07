"""The asr task's options (flags `--name`, or the `[asr]` table of a TOML file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnkit.tasks.asr.alphabet import DEFAULT_ALPHABET, Alphabet
from rnnkit.tasks.asr.corpus import CorpusSpec
from rnnkit.tasks.asr.features import FeatureSpec, SpecAugment
from rnnkit.tasks.base import TaskConfig
from rnnkit.training.config import option
from rnnkit.training.errors import ConfigError


@dataclass
class AsrConfig(TaskConfig):
    # -- model
    cell: str = option("gru", "recurrent cell (GRU learned CTC alignments several times faster than LSTM here)",
                       choices=("elman", "lstm", "gru"))
    hidden: int = option(128, "hidden units per recurrent layer and direction", low=1)
    layers: int = option(3, "stacked recurrent layers", low=1)
    dropout: float = option(0.2, "dropout between recurrent layers and before the output layer", low=0.0, high=0.9)
    bidirectional: bool = option(True, "read the utterance in both directions (each character's posterior "
                                 "may use what follows it)")
    subsample: int = option(3, "time subsampling: stack this many consecutive 10 ms frames into one step",
                            low=1, high=8)
    beam: int = option(16, "beam width of the CTC prefix beam search for the test metrics (wer_beam) and "
                       "predict; 1: greedy", low=1, high=256)
    # -- data
    data: str | None = option(None, "a folder of WAV files with transcripts.tsv (header file<TAB>text"
                              "[<TAB>speaker][<TAB>split]); default: number phrases synthesised by espeak-ng",
                              metavar="DIR")
    corpus: str = option("numbers", "synthetic corpus: numbers (0-999 in words) or digits (3-6 digits, one "
                         "word each)", choices=("numbers", "digits"))
    per_voice: int = option(60, "synthetic corpus: phrases per training voice (65 voices)", low=1)
    eval_per_voice: int = option(100, "synthetic corpus: phrases per validation voice (4) and test voice (8)",
                                 low=1)
    min_snr: float = option(10.0, "synthetic corpus: lowest signal-to-noise ratio of the added white noise (dB)")
    max_snr: float = option(40.0, "synthetic corpus: highest signal-to-noise ratio (dB)")
    data_seed: int = option(0, "synthetic corpus: seed of the phrases, voices' settings and noise", low=0)
    cache: str | None = option(None, "folder for the synthetic corpus's features (default: $RNNKIT_CACHE/asr or "
                               "~/.cache/rnnkit/asr)", metavar="DIR")
    resample: bool = option(False, "user data: resample audio whose rate is not --sample-rate (default: refuse it)")
    valid_fraction: float = option(0.1, "user data without a split column: share of speakers (or files) held "
                                   "out for validation", low=0.0, high=0.5, low_open=True)
    test_fraction: float = option(0.2, "user data without a split column: share of speakers (or files) held "
                                  "out for the test metrics", low=0.0, high=0.5, low_open=True)
    alphabet: str = option(DEFAULT_ALPHABET, "characters the model writes; transcripts are lower-cased and their "
                           "spaces collapsed, any other character is an error", metavar="CHARS")
    # -- features
    sample_rate: int = option(16000, "sample rate of the features (Hz)", low=4000)
    n_mels: int = option(40, "mel bands of the log-mel spectrogram", low=1)
    specaugment: bool = option(True, "SpecAugment on training batches: mask random mel bands and time spans")
    freq_masks: int = option(2, "SpecAugment: mel-band masks per utterance", low=0)
    freq_width: int = option(6, "SpecAugment: widest band mask (mel bands)", low=0)
    time_masks: int = option(2, "SpecAugment: time masks per utterance", low=0)
    time_width: int = option(10, "SpecAugment: longest time mask (10 ms frames; at most a fifth of the "
                             "utterance)", low=0)
    # -- baseline
    baseline_epochs: int = option(4, "epochs of the frame-wise MLP baseline (no recurrence)", low=1)
    baseline_context: int = option(4, "frame-wise baseline: steps of context on each side", low=0)
    baseline_hidden: int = option(256, "frame-wise baseline: hidden units", low=1)
    examples: int = option(8, "test utterances written to the run's examples/ as WAV (synthetic corpus)", low=0)

    def validate(self) -> None:
        if self.data is not None:
            self.data = str(Path(self.data).expanduser().resolve())   # the saved config works from anywhere
        if self.cache is not None:
            self.cache = str(Path(self.cache).expanduser().resolve())
        if self.min_snr > self.max_snr:
            raise ConfigError(f"min_snr must be <= max_snr, got {self.min_snr} > {self.max_snr}")
        Alphabet(self.alphabet)
        self.feature_spec()

    def feature_spec(self) -> FeatureSpec:
        return FeatureSpec(self.sample_rate, self.n_mels)

    def corpus_spec(self) -> CorpusSpec:
        return CorpusSpec(self.corpus, self.per_voice, self.eval_per_voice, snr=(self.min_snr, self.max_snr),
                          seed=self.data_seed, features=self.feature_spec())

    def augment(self) -> SpecAugment | None:
        if not self.specaugment:
            return None
        return SpecAugment(self.freq_masks, self.freq_width, self.time_masks, self.time_width)
