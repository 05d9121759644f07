"""`rnnkit bench`: rnnkit's engines against `torch.nn`, side by side in one process.

For each case of the grid (cell x shape x layers/directions) it builds the `torch.nn` module and rnnkit
layers with the same weights for each engine, then times forward (under `torch.inference_mode`) and
forward+backward in interleaved rounds, rotating the order every round, after a warm-up. It reports
medians, the median per-round ratio to `torch.nn`, tokens/s, GEMM GFLOP/s and their fraction of the
measured square-GEMM peak, and the peak memory of one forward+backward; it writes JSON and a markdown
table. `--quick` runs tiny shapes in seconds (a CI smoke test). Timings are never asserted anywhere.

    rnnkit bench --cells lstm --engines fused,auto --out bench-results
    python -m rnnkit.bench --quick
"""

from rnnkit.bench.runner import main

__all__ = ["main"]
