"""Options from flags or a TOML file: dataclass configs become argparse flags, TOML tables and one config.

Precedence, lowest first: the dataclass defaults, the task's training defaults, `--quick`, the TOML file,
flags. A TOML file holds optional top-level `task`, `out` and `quick`, a `[train]` table (TrainConfig
fields) and a table named after the task (e.g. `[charlm]`) for the task's own options:

    task = "charlm"
    [train]
    epochs = 3
    k1 = 64
    [charlm]
    cell = "gru"
    data = "corpus.txt"
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Union

from rnnkit.training.config import Config, TrainConfig
from rnnkit.training.errors import ConfigError

TOP_LEVEL_TOML = ("task", "out", "quick", "train")
# Settings a resumed run may change: they do not alter what is computed, only how long or how it is shown.
RESUMABLE = {"epochs", "max_steps", "patience", "eval_every", "checkpoint_every", "progress", "tensorboard",
             "plots", "diagnostics_every", "threads", "device", "on_nonfinite"}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_flags(group: argparse._ArgumentGroup, cls: type[Config], defaults: dict[str, Any] | None = None,
                     dest_prefix: str = "") -> None:
    """One flag per field; absent flags stay absent from the namespace (default=SUPPRESS)."""
    hints = typing.get_type_hints(cls)
    defaults = defaults or {}
    for f in dataclasses.fields(cls):
        kind = _base_type(hints[f.name])
        meta = f.metadata
        shown = defaults.get(f.name, f.default)
        help_text = meta.get("help", "") + (f" (default: {shown})" if shown is not None else "")
        kw: dict[str, Any] = {"dest": dest_prefix + f.name, "default": argparse.SUPPRESS, "help": help_text}
        if kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = kind
            kw["metavar"] = meta.get("metavar") or ({int: "N", float: "X", str: "S"}[kind]
                                                     if not meta.get("choices") else None)
            if meta.get("choices"):
                kw["choices"] = meta["choices"]
        group.add_argument(flag(f.name), **kw)


def _base_type(hint: Any) -> type:
    if typing.get_origin(hint) in (Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def given(args: argparse.Namespace, cls: type[Config], dest_prefix: str = "") -> dict[str, Any]:
    """The fields of `cls` that were given as flags."""
    return {f.name: getattr(args, dest_prefix + f.name) for f in dataclasses.fields(cls)
            if hasattr(args, dest_prefix + f.name)}


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    for key, kind, what in (("task", str, "a task name"), ("out", str, "a folder path"),
                            ("quick", bool, "true or false")):
        if key in data and not isinstance(data[key], kind):
            raise ConfigError(f"{path}: {key} must be {what}, got {data[key]!r}")
    # keys may be written like the flags (max-steps) or like the fields (max_steps)
    return {k: {o.replace("-", "_"): v for o, v in t.items()} if isinstance(t, dict) else t for k, t in data.items()}


def check_toml(data: dict[str, Any], path: Path, task_name: str) -> None:
    allowed = (*TOP_LEVEL_TOML, task_name)
    for key, value in data.items():
        if key not in allowed:
            raise ConfigError(f"{path}: unknown key {key!r}; expected {', '.join(allowed)} (the task's options "
                              f"go in a [{task_name}] table)")
        if key in ("train", task_name) and not isinstance(value, dict):
            raise ConfigError(f"{path}: {key} must be a table ([{key}]), got {value!r}")


def assemble(task, args: argparse.Namespace, toml: dict[str, Any], toml_path: Path | None,
             quick: bool) -> tuple[Config, TrainConfig, dict[str, dict[str, Any]]]:
    """Build (task config, train config) by precedence; also return the explicitly set values."""
    where = str(toml_path) if toml_path else ""
    explicit_train = {**toml.get("train", {}), **given(args, TrainConfig)}
    explicit_task = {**toml.get(task.name, {}), **given(args, task.config_class, "task_")}
    train_values = dict(task.train_defaults())
    task_values: dict[str, Any] = {}
    if quick:
        q = task.quick()
        train_values.update(q.get("train", {}))
        task_values.update(q.get("task", {}))
        if explicit_task.get("data") is None:   # settings of the embedded data only (e.g. a smaller corpus)
            task_values.update(q.get("default_data", {}))
    _known(TrainConfig, toml.get("train", {}), where)
    _known(task.config_class, toml.get(task.name, {}), where)
    train_values.update(explicit_train)
    task_values.update(explicit_task)
    return (task.config_class.from_dict(task_values, where), TrainConfig.from_dict(train_values, where),
            {"train": explicit_train, "task": explicit_task})


def _known(cls: type[Config], values: dict[str, Any], where: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(f"{where}: unknown {cls.section} option {key!r}; known: {', '.join(sorted(known))}")


def resume_configs(task, saved: dict[str, Any], explicit: dict[str, dict[str, Any]],
                   out: Path) -> tuple[Config, TrainConfig]:
    """The saved run's configs, with the explicitly given values that a resume may change."""
    train_values, task_values = dict(saved["train"]), dict(saved["task_config"])
    for section, values, current in (("train", explicit["train"], train_values),
                                     ("task", explicit["task"], task_values)):
        for key, value in values.items():
            if current.get(key) == value:
                continue
            if section == "train" and key in RESUMABLE:
                current[key] = value
                continue
            raise ConfigError(f"cannot change {flag(key)} when resuming {out}: the run was started with "
                              f"{key}={current.get(key)!r}; drop the option, or start a new run with another --out")
    return task.config_class.from_dict(task_values), TrainConfig.from_dict(train_values)
