"""The shape every task has: build data, build a model, a stepper with its loss, metrics, baselines, predict.

A task is a small self-contained module (`rnnkit/tasks/<name>.py`) registered by name in
`rnnkit.tasks`. The CLI drives every task the same way:

    cfg   = task.config_class(...)                  # the task's typed options (--cell, --hidden, ...)
    data  = task.build_data(cfg, train_cfg)         # training batches, held-out splits, JSON meta
    model = task.build_model(cfg, data.meta)        # meta (e.g. a vocabulary) is all the model needs
    trainer = Trainer(model, train_cfg, data.train, task.stepper(cfg, train_cfg), evaluate=...)
    task.evaluate(model, data, "test"), task.baselines(data, "test")   -> metrics.json

`predict` (and `generate` for tasks with sequence outputs) need only the model and the meta saved with
the checkpoint, not the training data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from rnnkit.training.bptt import Stepper
from rnnkit.training.config import Config, TrainConfig, option


@dataclass
class TaskConfig(Config):
    """Options every task has; tasks subclass it and add their own."""

    section: ClassVar[str] = "task"
    default_data_only: ClassVar[tuple[str, ...]] = ()   # fields that describe the embedded data, not a --data file

    cell: str = option("lstm", "recurrent cell", choices=("elman", "lstm", "gru"))
    hidden: int = option(128, "hidden units per recurrent layer", low=1)
    layers: int = option(1, "stacked recurrent layers", low=1)
    dropout: float = option(0.0, "dropout between recurrent layers and before the output layer", low=0.0,
                            high=0.9)
    engine: str = option("auto", "rnnkit engine that runs the recurrent layers (see rnnkit.engines)",
                         metavar="NAME")


    def for_data(self, path: str) -> TaskConfig:
        """This config for another data file (tasks that read files have a `data` field): the fields that only
        describe the embedded data go back to their defaults (e.g. `evaluate --data` on a model trained on a
        subset of the default corpus)."""
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.name in self.default_data_only}
        return self.replace(data=path, **defaults)


@dataclass
class TaskData:
    """What `build_data` returns."""

    train: Any                                   # a BatchSource (e.g. a ContiguousStream)
    meta: dict[str, Any]                         # JSON the model needs besides its weights
    splits: dict[str, Any] = field(default_factory=dict)   # held-out data by name: "valid", "test"
    summary: str = ""                            # one line about the data, printed by the CLI


class Task(Protocol):
    """A registered application; see the module docstring for how it is driven."""

    name: ClassVar[str]
    description: ClassVar[str]
    primary: ClassVar[str]                       # the metric metrics.json leads with
    higher_is_better: ClassVar[bool]
    config_class: ClassVar[type[TaskConfig]]

    def train_defaults(self) -> dict[str, Any]:
        """The task's defaults for TrainConfig fields (flags and TOML still override them)."""
        ...

    def quick(self) -> dict[str, dict[str, Any]]:
        """`--quick` settings, {"train": {...}, "task": {...}, "default_data": {...}}: a run of about a minute
        for tests; "default_data" holds task settings that apply only to the embedded data (no --data)."""
        ...

    def build_data(self, cfg: TaskConfig, train: TrainConfig, meta: dict[str, Any] | None = None) -> TaskData:
        """Load and batch the data. With `meta` (a trained model's), encode the data to fit that model,
        or refuse it with a DataError (e.g. symbols outside its vocabulary)."""
        ...

    def build_model(self, cfg: TaskConfig, meta: dict[str, Any]) -> nn.Module: ...

    def stepper(self, cfg: TaskConfig, train: TrainConfig) -> Stepper:
        """FullBPTT or TBPTT (from `train.bptt`, `train.k1`, `train.window`, or the task's own choice: the CLI
        reports the stepper returned here)."""
        ...

    def evaluate(self, model: nn.Module, data: TaskData, split: str) -> dict[str, float]:
        """Held-out metrics of the model, including `primary`."""
        ...

    def baselines(self, data: TaskData, split: str) -> dict[str, dict[str, float]]:
        """The same metrics for simple baselines fitted on the training data in this run."""
        ...

    def predict(self, model: nn.Module, meta: dict[str, Any], inputs: list[str]) -> list[dict[str, Any]]:
        """One JSON-able result per input; an input the model cannot take raises DataError (the CLI prints its
        message as one line)."""
        ...


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
