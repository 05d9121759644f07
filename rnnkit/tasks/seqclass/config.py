"""The seqclass task's options (flags `--name`, or the `[seqclass]` table of a TOML file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnkit.tasks.base import TaskConfig
from rnnkit.tasks.seqclass.csv_format import FILLS
from rnnkit.tasks.seqclass.data import UEA_NAMES
from rnnkit.training.config import option
from rnnkit.training.errors import ConfigError

BASELINES = ("dtw", "euclidean")


@dataclass
class SeqClassConfig(TaskConfig):
    hidden: int = option(64, "hidden units per recurrent layer (per direction)", low=1)
    dropout: float = option(0.2, "dropout on the pooled features before the output layer (and between stacked "
                            "layers)", low=0.0, high=0.9)
    data: str = option("japanese_vowels", f"an embedded UEA set ({', '.join(UEA_NAMES)}) with its official "
                       "train/test split, or a long CSV: series_id,time,<channels>,label[,split]",
                       metavar="NAME|PATH")
    fill: str = option("none", "CSV repair: interpolate missing channel values in time within their series "
                       "(default: reject them)", choices=FILLS)
    test_fraction: float = option(0.3, "CSV without a split column: stratified share of series held out for "
                                  "the test metrics", low=0.0, high=0.5, low_open=True)
    valid_fraction: float = option(0.1, "stratified share of the training series held out to pick the best "
                                   "epoch", low=0.0, high=0.5, low_open=True)
    bidirectional: bool = option(True, "read each series in both directions")
    pooling: str = option("max", "series features from the per-step outputs: the last states, or the mean or "
                          "max over the real steps (never the padding); max measured best (README)",
                          choices=("last", "mean", "max"))
    noise: float = option(0.0, "training only: Gaussian jitter (in standard deviations) added to the inputs",
                          low=0.0, high=1.0)
    baselines: str = option(",".join(BASELINES), "1-nearest-neighbour baselines measured in the same run: dtw "
                            "(multivariate DTW) and/or euclidean (on series resampled to one length)",
                            metavar="LIST")

    def validate(self) -> None:
        if self.data not in UEA_NAMES:
            self.data = str(Path(self.data).expanduser().resolve())   # the saved config works from anywhere
        elif self.fill != "none":
            raise ConfigError("--fill repairs a CSV file; pass --data FILE.csv as well")
        unknown = [b for b in self.baseline_names if b not in BASELINES]
        if unknown:
            raise ConfigError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(BASELINES)}")

    @property
    def baseline_names(self) -> tuple[str, ...]:
        return tuple(b.strip() for b in self.baselines.split(",") if b.strip())
