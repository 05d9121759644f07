"""Applications, one small self-contained module each, found by name: `rnnkit train --task NAME`.

A task follows the `Task` protocol of `rnnkit.tasks.base`. Built-in tasks are listed in `BUILTIN` as
"module:Class" and imported only when asked for; `register` adds others (e.g. from a user's code).
The library (layers, training) never imports tasks.
"""

from __future__ import annotations

import importlib
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
    return sorted(_registry)


def get_task(name: str) -> Task:
    """A new instance of the named task; an unknown name is a ConfigError listing the known ones."""
    if name not in _registry:
        raise ConfigError(f"unknown task {name!r}; available tasks: {', '.join(task_names())}")
    factory = _registry[name]
    if isinstance(factory, str):
        module, _, cls = factory.partition(":")
        factory = getattr(importlib.import_module(module), cls)
    return factory()


__all__ = ["BUILTIN", "Task", "TaskConfig", "TaskData", "get_task", "register", "task_names"]
