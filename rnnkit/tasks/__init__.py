"""Applications, one small self-contained module each, found by name: `rnnkit train --task NAME`.

A task follows the `Task` protocol of `rnnkit.tasks.base`. Built-in tasks are listed in `BUILTIN` as
"module:Class" and imported only when asked for. Your own task is found, in this order, when
- registered from Python: `register("mine", "mypkg.tasks:Mine")` (or a zero-argument factory);
- named by its import path on the command line: `rnnkit train --task mypkg.tasks:Mine` (a module in the
  current folder works too); the run remembers the path, so `evaluate`/`predict` find it again;
- published by an installed package under the entry-point group "rnnkit.tasks" (`mine = "mypkg.tasks:Mine"`).
The library (layers, training) never imports tasks.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

from rnnkit.tasks.base import Task, TaskConfig, TaskData
from rnnkit.training.errors import ConfigError

BUILTIN: dict[str, str] = {
    "charlm": "rnnkit.tasks.charlm:CharLM",
    "forecast": "rnnkit.tasks.forecast.task:Forecast",
    "seqclass": "rnnkit.tasks.seqclass.task:SeqClass",
    "sentiment": "rnnkit.tasks.sentiment.task:Sentiment",
    "translate": "rnnkit.tasks.translate.task:Translate",
    "caption": "rnnkit.tasks.caption.task:Caption",
    "video": "rnnkit.tasks.video.task:Video",
    "asr": "rnnkit.tasks.asr.task:ASR",
}
_registry: dict[str, str | Callable[[], Task]] = dict(BUILTIN)


def register(name: str, factory: str | Callable[[], Task]) -> None:
    """Make a task available by name: a "module:Class" path or a zero-argument factory."""
    _registry[name] = factory


def task_names() -> list[str]:
    return sorted({*_registry, *_entry_points()})


def get_task(name: str) -> Task:
    """A new instance of the named task (see the module docstring for where names are looked up); an unknown
    name is a ConfigError listing the known ones."""
    factory = _registry.get(name) or _entry_points().get(name) or (name if ":" in name else None)
    if factory is None:
        raise ConfigError(f"unknown task {name!r}; available tasks: {', '.join(task_names())} (or your own "
                          "as --task module:Class)")
    if isinstance(factory, str):
        factory = _load(factory)
    return factory()


def _load(path: str) -> Callable[[], Task]:
    """The class (or factory) a "module:attribute" path names; the current folder is searched too."""
    module, _, attr = path.partition(":")
    try:
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module.split(".")[0] or os.getcwd() in sys.path:
                raise
            sys.path.insert(0, os.getcwd())   # `rnnkit` (a console script) does not search the current folder
            found = importlib.import_module(module)
        return getattr(found, attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"task {path!r}: cannot load it ({e})") from None


def _entry_points() -> dict[str, str]:
    """Tasks that installed packages publish under the "rnnkit.tasks" entry-point group."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="rnnkit.tasks")}


__all__ = ["BUILTIN", "Task", "TaskConfig", "TaskData", "get_task", "register", "task_names"]
