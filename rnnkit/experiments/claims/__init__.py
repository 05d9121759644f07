"""One module per claim, in the order of the report. Each module defines:

    ID, TITLE, STATEMENT, METHOD      what is claimed (in our words) and how it is tested
    THRESHOLD                         the pass/fail limits, fixed before any run
    NOTES (optional)                  set-up decisions a reader should know about
    run(quick, seed) -> ClaimResult   the experiment: measurements, a figure, extra tables
    checks(measurements)              -> (controls, tests): `Check`s against THRESHOLD
    verdict(measurements)             -> "supported" | "not_supported" | "inconclusive" (pure)
"""

from rnnkit.experiments.claims import (
    any_length,
    architectures,
    batch_memory,
    deep_rnn,
    future_context,
    gates,
    long_range,
    memory_probe,
    sequential_cost,
    tbptt,
    time_scales,
    vanishing_exploding,
)

CLAIMS = (
    long_range, vanishing_exploding, gates, time_scales, memory_probe, any_length, sequential_cost,
    future_context, batch_memory, tbptt, deep_rnn, architectures,
)

__all__ = ["CLAIMS"]
