"""Run claim modules and collect everything the report and the JSON need, one `Outcome` per claim.

A claim whose experiment raises is not hidden: it gets the verdict `inconclusive` and its error text.
"""

from __future__ import annotations

import io
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rnnkit.experiments.claims import CLAIMS
from rnnkit.experiments.common import seeded
from rnnkit.experiments.result import INCONCLUSIVE, VERDICTS, ClaimResult, Table


@dataclass
class Outcome:
    """One claim's complete record: its text, thresholds, checks, numbers, figure and verdict."""

    number: int
    id: str
    title: str
    statement: str
    method: str
    threshold: dict[str, Any]
    verdict: str
    checks: list[dict[str, Any]]
    measurements: dict[str, Any]
    seconds: float
    quick: bool
    seed: int
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figure_png: bytes | None = None
    error: str | None = None


def claim_ids() -> list[str]:
    return [c.ID for c in CLAIMS]


def select(only: Sequence[str] | None) -> list[tuple[int, ModuleType]]:
    """(number, module) pairs for the claims named in `only` (ids or 1-based numbers), or all of them."""
    numbered = list(enumerate(CLAIMS, start=1))
    if not only:
        return numbered
    chosen = []
    for name in only:
        match = [(n, c) for n, c in numbered if name in (c.ID, str(n))]
        if not match:
            raise ValueError(f"unknown claim {name!r}; expected one of {', '.join(claim_ids())} (or 1-{len(CLAIMS)})")
        if match[0] not in chosen:
            chosen.append(match[0])
    return sorted(chosen, key=lambda nc: nc[0])


def figure_png(fig, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def run_claim(number: int, module: ModuleType, quick: bool, seed: int) -> Outcome:
    start = time.perf_counter()
    error, result = None, None
    try:
        with seeded(seed):
            result = module.run(quick, seed)
        if not isinstance(result, ClaimResult):
            raise TypeError(f"{module.__name__}.run must return a ClaimResult, got {type(result).__name__}")
        controls, tests = module.checks(result.measurements)
        verdict = module.verdict(result.measurements)
        if verdict not in VERDICTS:
            raise ValueError(f"{module.__name__}.verdict returned {verdict!r}, expected one of {VERDICTS}")
        checks = [c.as_dict("control") for c in controls] + [t.as_dict("test") for t in tests]
    except Exception:
        error = traceback.format_exc(limit=6)
        verdict, checks = INCONCLUSIVE, []
    seconds = time.perf_counter() - start
    png = None
    if result is not None and result.figure is not None:
        png = figure_png(result.figure)
    plt.close("all")
    return Outcome(
        number=number, id=module.ID, title=module.TITLE, statement=module.STATEMENT, method=module.METHOD,
        threshold=dict(module.THRESHOLD), verdict=verdict, checks=checks,
        measurements=result.measurements if result is not None else {}, seconds=seconds, quick=quick, seed=seed,
        notes=list(result.notes) if result is not None else [], tables=list(result.tables) if result else [],
        figure_png=png, error=error,
    )


def run_claims(only: Sequence[str] | None, quick: bool, seed: int = 0,
               progress: Callable[[str], None] | None = None, into: list[Outcome] | None = None) -> list[Outcome]:
    """Run the chosen claims in order; each outcome is appended to `into` (a new list by default) as soon as
    it is known, so a caller interrupted half-way still holds the finished ones."""
    chosen = select(only)
    outcomes = [] if into is None else into
    for k, (number, module) in enumerate(chosen, start=1):
        if progress:
            progress(f"[{k:2d}/{len(chosen)}] {number:2d}. {module.ID} ...")
        outcome = run_claim(number, module, quick, seed)
        outcomes.append(outcome)
        if progress:
            extra = "  (error: see report)" if outcome.error else ""
            progress(f"        {outcome.verdict} in {outcome.seconds:.1f} s{extra}")
    return outcomes
