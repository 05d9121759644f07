"""`make bench`: the full benchmark grid, results in benchmarks/results/ (see `rnnkit bench --help`)."""

import sys
from pathlib import Path

from rnnkit.bench import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not any(a == "--out" or a.startswith("--out=") for a in args):
        args += ["--out", str(Path(__file__).with_name("results"))]
    sys.exit(main(args))
