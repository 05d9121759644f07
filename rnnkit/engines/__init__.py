"""Engines run one direction of one recurrent layer. `reference` is the readable ground truth."""

from __future__ import annotations

from collections.abc import Callable

from rnnkit.engines import reference
from rnnkit.engines.spec import DirectionResult, DirectionWeights, Engine

ENGINES: dict[str, Callable] = {"reference": reference.run_direction}
ENGINE_NAMES = ("auto", *ENGINES)


def resolve_engine(name: str, layer=None) -> Engine:
    """Map an engine name to its `run_direction`; "auto" picks the fastest correct one available."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"engine must be one of {ENGINE_NAMES}, got {name!r}")
    if name == "auto":
        return ENGINES["reference"]
    return ENGINES[name]


__all__ = ["ENGINES", "DirectionResult", "DirectionWeights", "Engine", "resolve_engine"]
