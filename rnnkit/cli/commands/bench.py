"""`rnnkit bench ...`: forwards every argument to `rnnkit.bench.main(argv)` when that module is present."""

from __future__ import annotations

import importlib

from rnnkit.training.errors import ConfigError


def add_parser(sub, task) -> None:
    # Only for the listing in `rnnkit --help`: main() hands `bench` and all its arguments over before parsing.
    sub.add_parser("bench", help="benchmarks (arguments go to rnnkit.bench; try rnnkit bench --help)",
                   add_help=False)


def run(argv: list[str]) -> int:
    try:
        bench = importlib.import_module("rnnkit.bench")
    except ImportError as e:
        raise ConfigError(f"rnnkit bench is not available in this installation (rnnkit.bench: {e})") from None
    if not hasattr(bench, "main"):
        raise ConfigError("rnnkit.bench has no main(argv) to run")
    code = bench.main(argv)
    return int(code or 0)
