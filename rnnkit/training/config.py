"""Typed dataclass configs, validated in `__post_init__`, and `TrainConfig`, the trainer's settings.

Every field is declared with `option(default, help, ...)`: the help text and limits serve the validation
messages, the CLI flags (`--field-name`) and the TOML keys alike, so the three never disagree.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from rnnkit.training.errors import ConfigError


def option(default: Any, help: str, *, choices: tuple | None = None, low: float | None = None,
           high: float | None = None, low_open: bool = False, metavar: str | None = None) -> Any:
    """A config field with its help text, allowed values, (inclusive, or open with low_open) bounds and the
    name its CLI flag shows for the value."""
    meta = {"help": help, "choices": choices, "low": low, "high": high, "low_open": low_open, "metavar": metavar}
    return field(default=default, metadata=meta)


@dataclass
class Config:
    """Base for configs: checks every field's type, choices and range, then calls `validate()`."""

    section: ClassVar[str] = "config"   # name used in messages and as the TOML table

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            value = _coerce(f.name, value, hints[f.name])
            setattr(self, f.name, value)
            _check_range(f, value)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; subclasses raise ConfigError with an 'expected X, got Y' message."""

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = ""):
        """Build from a mapping (e.g. a TOML table), refusing unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            place = f"{where}: " if where else ""
            raise ConfigError(f"{place}unknown {cls.section} option {unknown[0]!r}; "
                              f"known options: {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Check `value` against a simple annotation (int, float, bool, str, X | None); ints pass as floats."""
    allowed = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"{name} must be set (got None)")
    for t in allowed:
        if t is bool and isinstance(value, bool):
            return value
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if t is str and isinstance(value, str):
            return value
    names = " or ".join(getattr(t, "__name__", str(t)).replace("NoneType", "None") for t in allowed)
    raise ConfigError(f"{name} must be {names}, got {value!r}")


def _check_range(f: dataclasses.Field, value: Any) -> None:
    meta = f.metadata
    if value is None or not meta:
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{f.name} must be one of {', '.join(map(str, meta['choices']))}; got {value!r}")
    low, high = meta.get("low"), meta.get("high")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{f.name} must be a finite number, got {value!r}")
    if low is not None and (value <= low if meta.get("low_open") else value < low):
        raise ConfigError(f"{f.name} must be {'>' if meta.get('low_open') else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{f.name} must be <= {high}, got {value!r}")


@dataclass
class TrainConfig(Config):
    """Everything the generic trainer needs; tasks supply their own defaults on top of these."""

    section: ClassVar[str] = "train"

    epochs: int = option(1, "passes over the training data", low=1)
    max_steps: int | None = option(None, "stop after this many parameter updates in total (default: no limit)",
                                   low=1)
    batch_size: int = option(32, "rows per batch (for streams: parallel contiguous rows)", low=1)
    bptt: str = option("tbptt", "full: back-propagate through each whole training sequence, no state carried; "
                       "tbptt: truncated BPTT(k1, k2) over contiguous streams with the state carried",
                       choices=("full", "tbptt"))
    k1: int = option(50, "TBPTT: one update every k1 time steps (the losses of those k1 steps are its "
                     "objective)", low=1)
    k2: int | None = option(None, "TBPTT: each update back-propagates through the last k2 steps "
                            "(k2 >= k1; default k2 = k1, plain chunking)", low=1)
    optimizer: str = option("adam", "optimizer", choices=("adam", "adamw", "sgd"))
    lr: float = option(2e-3, "peak learning rate", low=0.0, low_open=True)
    weight_decay: float = option(0.0, "weight decay (decoupled for adamw, L2 for adam/sgd)", low=0.0)
    momentum: float = option(0.9, "SGD momentum", low=0.0, high=1.0)
    schedule: str = option("constant", "learning-rate schedule after warmup",
                           choices=("constant", "cosine", "linear"))
    warmup_steps: int = option(0, "linear warmup from 0 over this many updates", low=0)
    final_lr_ratio: float = option(0.1, "cosine/linear: final learning rate as a fraction of lr", low=0.0,
                                   high=1.0)
    clip: str = option("norm", "gradient clipping (on by default: recurrent gradients can explode)",
                       choices=("norm", "value", "none"))
    clip_value: float = option(1.0, "max global gradient norm (clip=norm) or max |gradient| (clip=value)",
                               low=0.0, low_open=True)
    eval_every: int = option(0, "updates between evaluations on held-out data (0: at the end of each epoch)",
                             low=0)
    patience: int | None = option(None, "early stopping: evaluations without improvement before stopping "
                                  "(default: never stop early)", low=1)
    checkpoint_every: int = option(200, "updates between `last` checkpoints (also saved at each epoch end)",
                                   low=1)
    seed: int = option(0, "seed for Python, NumPy and torch", low=0)
    deterministic: bool = option(False, "use deterministic algorithms only (slower on GPU)")
    precision: str = option("fp32", "fp32, bf16 autocast (CPU or CUDA) or fp16 autocast with loss scaling "
                            "(CUDA only)", choices=("fp32", "bf16", "fp16"))
    device: str = option("auto", "cpu, cuda, cuda:N, or auto (CUDA when available)", metavar="DEVICE")
    on_nonfinite: str = option("stop", "on a NaN/inf loss or gradient: stop (keep the last good checkpoint) "
                               "or skip that update", choices=("stop", "skip"))
    diagnostics_every: int = option(0, "updates between diagnostic probes: per-step ||dL/dh_t|| and gate "
                                    "saturation (0: off)", low=0)
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)", low=1)
    progress: bool = option(True, "show a progress bar with loss, throughput and ETA (rnnkit train; in Python, "
                            "via callbacks=default_callbacks(config, run_dir))")
    tensorboard: bool = option(True, "also log to TensorBoard (logs/tb; in Python, via default_callbacks)")
    plots: bool = option(True, "draw matplotlib plots of the logs at the end (plots/; in Python, via "
                         "default_callbacks)")

    def validate(self) -> None:
        if self.k2 is not None and self.k2 < self.k1:
            raise ConfigError(f"k2 must be >= k1: each update back-propagates through at least the k1 steps "
                              f"whose losses it optimises; got k1={self.k1}, k2={self.k2}")
        if self.device != "auto" and not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")

    @property
    def window(self) -> int:
        """k2, defaulting to k1."""
        return self.k2 if self.k2 is not None else self.k1
