"""The `rnnkit` command line: train, evaluate, predict, generate, info, bench (also `python -m rnnkit`)."""
