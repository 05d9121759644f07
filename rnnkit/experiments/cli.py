"""`rnnkit verify [--quick] [--only NAME] --out DIR`: run the claim experiments and write the report.

`main(argv)` accepts the arguments with or without a leading "verify"; `add_arguments(parser)` and
`execute(args)` let a larger CLI mount the same command as a sub-command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = "Writes DIR/verify.html (self-contained) and DIR/verify.json. Exit status 1 if an experiment crashed."


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--quick", action="store_true",
                        help="small sizes for CI (a few minutes on 2 cores); same code path as the full run, but "
                             "with smaller budgets some claims can come out not_supported that the full run supports")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this claim (its id or number); repeat for several")
    parser.add_argument("--out", type=Path, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument("--list", action="store_true", help="list the claims and exit")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnkit verify", description=__doc__.splitlines()[0], epilog=EPILOG)
    return add_arguments(parser)


def execute(args: argparse.Namespace) -> int:
    from rnnkit.experiments.claims import CLAIMS

    if args.list:
        for n, c in enumerate(CLAIMS, start=1):
            print(f"{n:2d}  {c.ID:22s} {c.TITLE}")
        return 0
    if args.out is None:
        print("rnnkit verify: error: --out DIR is required", file=sys.stderr)
        return 2
    from rnnkit.experiments.report import write_report
    from rnnkit.experiments.runner import run_claims, select

    try:
        select(args.only)
    except ValueError as e:
        print(f"rnnkit verify: error: {e}", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"rnnkit verify: error: --out {args.out} is a file; give a folder for the report", file=sys.stderr)
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)    # a folder that cannot be made fails now, not after the runs
    except OSError as e:
        print(f"rnnkit verify: error: --out {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    outcomes: list = []
    try:
        run_claims(args.only, args.quick, args.seed, progress=lambda s: print(s, flush=True), into=outcomes)
    except KeyboardInterrupt:                           # keep the claims that finished
        if outcomes:
            json_path, html_path = write_report(outcomes, args.out)
            print(f"rnnkit verify: interrupted; the {len(outcomes)} finished claim(s) are in {html_path}",
                  file=sys.stderr)
        raise
    json_path, html_path = write_report(outcomes, args.out)
    total = sum(o.seconds for o in outcomes)
    print(f"wrote {html_path} and {json_path} ({total:.0f} s)")
    for o in outcomes:
        print(f"  {o.number:2d}. {o.id:22s} {o.verdict}")
    return 1 if any(o.error for o in outcomes) else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["verify"]:
        argv = argv[1:]
    return execute(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
