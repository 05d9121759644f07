"""What one claim's experiment hands back, and how a verdict is reached from its numbers.

An experiment measures; it never decides. Each claim module lists `Check`s built from its measurements
and fixed thresholds, and `decide` turns them into a verdict:

- a failed *control* (the set-up itself did not work, e.g. a model that should learn a trivial case did not)
  makes the result `inconclusive`: the experiment cannot speak for or against the claim;
- otherwise every *test* must pass for `supported`; any failed test gives `not_supported`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not_supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)

_OPS = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Check:
    """One comparison of a measured value with a threshold, e.g. `Check("LSTM accuracy", 0.97, ">=", 0.9)`.

    A NaN value never passes; an infinite one passes only if the comparison holds for it.
    """

    name: str
    value: float
    op: str
    limit: float

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}, got {self.op!r}")

    @property
    def passed(self) -> bool:
        v = float(self.value)
        return not math.isnan(v) and bool(_OPS[self.op](v, float(self.limit)))

    def as_dict(self, kind: str) -> dict[str, Any]:
        return {"kind": kind, "name": self.name, "value": float(self.value), "op": self.op,
                "limit": float(self.limit), "passed": self.passed}


def decide(controls: list[Check], tests: list[Check]) -> str:
    """`inconclusive` if a control fails, else `supported` if every test passes, else `not_supported`."""
    if not tests:
        raise ValueError("a verdict needs at least one test")
    if not all(c.passed for c in controls):
        return INCONCLUSIVE
    return SUPPORTED if all(t.passed for t in tests) else NOT_SUPPORTED


@dataclass
class Table:
    """A small table for the report: a title, column names and rows of cells (numbers or text)."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class ClaimResult:
    """What `run(quick, seed)` returns: the numbers, a matplotlib figure and any extra tables.

    `measurements` maps a name to a number, or a list (of lists) of numbers, or a short string; every
    number a check or the figure uses is in it, so `verdict(measurements)` can be recomputed from the JSON.
    """

    measurements: dict[str, Any]
    figure: Any = None                       # a matplotlib Figure (rendered to PNG by the report)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
