"""The translate task's options (flags `--name`, or the `[translate]` table of a TOML file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rnnkit.tasks.base import TaskConfig
from rnnkit.training.config import option
from rnnkit.training.errors import ConfigError

ATTENTION = ("general", "additive", "dot", "none")


@dataclass
class TranslateConfig(TaskConfig):
    default_data_only: ClassVar[tuple[str, ...]] = ("source_lang", "target_lang")

    hidden: int = option(128, "hidden units per recurrent layer (encoder, per direction, and decoder)", low=1)
    data: str | None = option(None, "CSV/TSV file with source,target columns (default: number words generated "
                              "by num2words)", metavar="PATH")
    source_lang: str = option("en", "default data: num2words language of the source", metavar="LANG")
    target_lang: str = option("fr", "default data: num2words language of the target", metavar="LANG")
    numbers: int = option(4000, "default data: how many distinct numbers to draw (train + valid + test)", low=10)
    max_number: int = option(999_999, "default data: draw the numbers from [0, max_number]", low=9)
    embed: int = option(64, "word embedding size (source and target)", low=1)
    bidirectional: bool = option(True, "bidirectional encoder")
    attention: str = option("general", "attention score, or none (the encoder's final state alone carries the "
                            "source)", choices=ATTENTION)
    sampling: float = option(0.25, "scheduled sampling: the chance of feeding the decoder its own previous "
                             "prediction rises linearly from 0 to this over training (0: teacher forcing only)",
                             low=0.0, high=1.0)
    beam: int = option(5, "beam width for the beam-search metrics and for predict (1: greedy)", low=1)
    length_norm: float = option(0.0, "beam search: rank hypotheses by score / length**alpha (0: raw "
                                "log-probability)", low=0.0)
    tokens: str = option("word", "token unit of source and target: word (words and punctuation marks) or char "
                         "(characters: for languages that write a number as one compound word, e.g. de, nl, sv)",
                         choices=("word", "char"))
    min_count: int = option(1, "keep words seen at least this often in training; rarer ones become <unk>", low=1)
    valid_fraction: float = option(0.1, "share of the distinct sources held out to pick the best epoch", low=0.0,
                                   high=0.5, low_open=True)
    test_fraction: float = option(0.1, "share of the distinct sources held out for the test metrics", low=0.0,
                                  high=0.5, low_open=True)
    baseline: bool = option(True, "also train the same model without attention, in the same run, as the "
                            "baseline (doubles the training time)")
    heatmaps: int = option(4, "attention heat maps drawn for this many test examples", low=0)

    def validate(self) -> None:
        if self.data is not None:
            self.data = str(Path(self.data).expanduser().resolve())   # the saved config works from any folder
            if (self.source_lang, self.target_lang) != ("en", "fr"):
                raise ConfigError("--source-lang and --target-lang choose the languages of the default data; "
                                  "with --data the file's columns are the languages")
        if self.valid_fraction + self.test_fraction >= 0.5:
            raise ConfigError("valid_fraction + test_fraction must be < 0.5 so that most pairs are for training")
        if self.attention == "dot" and self.bidirectional:
            raise ConfigError("attention dot needs encoder outputs as wide as the decoder state, but a "
                              "bidirectional encoder's are twice as wide; use general or additive, or "
                              "--no-bidirectional")
        if self.cell == "elman" and self.hidden > 512:
            raise ConfigError(f"hidden={self.hidden} is very wide for an Elman cell; use <= 512")
