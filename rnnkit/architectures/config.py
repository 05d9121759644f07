"""The configuration shared by every recurrent architecture, and the checks its fields go through.

Each model has one keyword-only dataclass config; the recurrent ones extend `RecurrentConfig`. Every
field is validated in `__post_init__`, so a bad value fails where it was written, with a `ValueError`
that says what was expected and what was received.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

C = TypeVar("C")

CELLS = ("lstm", "gru", "elman")

# Options a config may forward to the recurrent layer (everything else the architecture decides itself).
LAYER_OPTIONS = frozenset({"bias", "nonlinearity", "proj_size", "forget_bias", "recurrent_init", "layer_norm",
                           "recurrent_dropout", "engine", "check_finite"})


def check_int(name: str, value: object, low: int = 1) -> None:
    """Require an int >= low (bools are rejected: `True` is not a size)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def check_optional_int(name: str, value: object, low: int = 1) -> None:
    """Require None or an int >= low."""
    if value is not None:
        check_int(name, value, low)


def check_probability(name: str, value: object, high_inclusive: bool = True) -> None:
    """Require a number in [0, 1] (or [0, 1) when `high_inclusive` is False)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (0 <= value <= 1) or (not high_inclusive and value == 1):
        interval = "[0, 1]" if high_inclusive else "[0, 1)"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")


def check_choice(name: str, value: object, choices: tuple) -> None:
    """Require one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def check_bool(name: str, value: object) -> None:
    """Require a bool (not merely something truthy)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_token(name: str, value: object, vocab_size: int) -> None:
    """Require a token id in [0, vocab_size)."""
    check_int(name, value, 0)
    if value >= vocab_size:
        raise ValueError(f"{name} must be a token id below the vocabulary size {vocab_size}, got {value}")


def check_exactly_one(names: tuple[str, str], values: tuple[object, object]) -> None:
    """Require exactly one of two alternative fields (e.g. vocab_size for tokens, input_size for vectors)."""
    if (values[0] is None) == (values[1] is None):
        raise ValueError(f"set exactly one of {names[0]} (token input) and {names[1]} (feature input), "
                         f"got {names[0]}={values[0]!r}, {names[1]}={values[1]!r}")


def resolve_config(cls: type[C], config: C | None, fields: dict[str, Any]) -> C:
    """A model's config: `config` with `fields` overridden, or `cls(**fields)` when no config is given."""
    if config is None:
        return cls(**fields)
    if not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    return replace(config, **fields) if fields else config


@dataclass(kw_only=True)
class RecurrentConfig:
    """The recurrent core every architecture builds: which cell, how wide, how deep."""

    cell: str = "lstm"             # "lstm" | "gru" | "elman" (see `factory.make_rnn`)
    hidden_size: int = 64          # features of the recurrent state, per direction
    num_layers: int = 1            # stacked recurrent layers
    dropout: float = 0.0           # between stacked layers and on the features fed to the output head
    layer_options: dict[str, Any] = field(default_factory=dict)  # extra layer options, e.g. {"forget_bias": 1.0}

    def __post_init__(self) -> None:
        check_choice("cell", self.cell, CELLS)
        check_int("hidden_size", self.hidden_size)
        check_int("num_layers", self.num_layers)
        check_probability("dropout", self.dropout, high_inclusive=False)
        if not isinstance(self.layer_options, dict):
            raise ValueError(f"layer_options must be a dict, got {type(self.layer_options).__name__}")
        unknown = sorted(set(self.layer_options) - LAYER_OPTIONS)
        if unknown:
            raise ValueError(f"layer_options accepts {sorted(LAYER_OPTIONS)}, got unknown key(s) {unknown} "
                             "(sizes, direction and batch_first are set by the architecture)")
        if "nonlinearity" in self.layer_options and self.cell != "elman":
            raise ValueError(f"layer_options['nonlinearity'] applies to cell='elman' only, got cell={self.cell!r}")
